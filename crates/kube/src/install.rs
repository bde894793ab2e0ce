//! The install manifests: the CRDs, Namespace `flux-system`, the controller's
//! ServiceAccount and RBAC, the webhook Service and the Deployment of the one
//! binary (`ferroflux controller`). `ferroflux install --export` prints them;
//! `deploy/install.yaml` is that output, committed.
//!
//! Order matters to `kubectl apply -f`: CRDs and the Namespace come before
//! anything that lives in them.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, EnvVarSource,
    HTTPGetAction, Namespace, ObjectFieldSelector, PodSecurityContext, PodSpec, PodTemplateSpec,
    Probe, ResourceRequirements, SeccompProfile, SecurityContext, Service, ServiceAccount,
    ServicePort, ServiceSpec, Volume, VolumeMount,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use crate::crd;

#[cfg(test)]
mod tests;

/// Name shared by the ServiceAccount, ClusterRole(Binding) and Deployment.
pub const NAME: &str = "ferroflux";
pub const METRICS_PORT: i32 = 8080;
pub const WEBHOOK_PORT: i32 = 9292;
pub const HEALTH_PORT: i32 = 9440;
/// glibc's malloc arenas for the controller: its default (8 per core)
/// lets the blocking threads of clones and archives each keep an arena;
/// two hold the 1,000-Kustomization bench at 100 MiB instead of 166 MiB.
pub const MALLOC_ARENA_MAX: &str = "2";
/// The artifact file server (source-controller's `--storage-addr`).
pub const STORAGE_PORT: i32 = 9090;
/// The Service artifact URLs name: source-controller's, so that tools
/// that download Flux artifacts in the cluster find them where they look.
pub const STORAGE_SERVICE: &str = "source-controller";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Crd(#[from] crd::Error),
    #[error("install manifests: cannot encode {kind} {name}: {source}")]
    Encode {
        kind: &'static str,
        name: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("install manifests: cannot render yaml: {source}")]
    Yaml {
        #[source]
        source: serde_yaml::Error,
    },
}

#[derive(Clone, Debug)]
pub struct InstallOptions {
    /// Where the controller runs (Flux's default, `flux-system`).
    pub namespace: String,
    /// The container image of the `ferroflux` binary.
    pub image: String,
}

impl Default for InstallOptions {
    fn default() -> Self {
        InstallOptions {
            namespace: "flux-system".to_string(),
            image: format!("ghcr.io/ferroflux/ferroflux:v{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// Every object of the install, in apply order, as JSON.
pub fn manifests(opts: &InstallOptions) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for c in crd::crds()? {
        let name = c.metadata.name.clone().unwrap_or_default();
        out.push(encode("CustomResourceDefinition", &name, &c)?);
    }
    out.push(encode("Namespace", &opts.namespace, &namespace(opts))?);
    out.push(encode("ServiceAccount", NAME, &service_account(opts))?);
    out.push(encode("ClusterRole", NAME, &cluster_role())?);
    out.push(encode(
        "ClusterRoleBinding",
        NAME,
        &cluster_role_binding(opts),
    )?);
    out.push(encode(
        "ClusterRoleBinding",
        &reconciler_binding_name(opts),
        &cluster_reconciler_binding(opts),
    )?);
    out.push(encode(
        "Service",
        "webhook-receiver",
        &webhook_service(opts),
    )?);
    out.push(encode("Service", STORAGE_SERVICE, &storage_service(opts))?);
    out.push(encode("Deployment", NAME, &deployment(opts))?);
    Ok(out)
}

/// A multi-document YAML stream, keys sorted at every level, so the output
/// does not depend on how `serde_json` orders maps in a given build.
pub fn render_yaml(objects: &[Value]) -> Result<String, Error> {
    let mut out = String::new();
    for obj in objects {
        out.push_str("---\n");
        let doc = serde_yaml::to_string(&sorted(obj)).map_err(|source| Error::Yaml { source })?;
        out.push_str(&doc);
    }
    Ok(out)
}

fn sorted(v: &Value) -> serde_yaml::Value {
    match v {
        Value::Null => serde_yaml::Value::Null,
        Value::Bool(b) => serde_yaml::Value::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                serde_yaml::Value::Number(i.into())
            } else if let Some(u) = n.as_u64() {
                serde_yaml::Value::Number(u.into())
            } else {
                serde_yaml::Value::Number(n.as_f64().unwrap_or_default().into())
            }
        }
        Value::String(s) => serde_yaml::Value::String(s.clone()),
        Value::Array(items) => serde_yaml::Value::Sequence(items.iter().map(sorted).collect()),
        Value::Object(map) => {
            let keys: BTreeMap<&String, &Value> = map.iter().collect();
            let mut out = serde_yaml::Mapping::new();
            for (k, v) in keys {
                out.insert(serde_yaml::Value::String(k.clone()), sorted(v));
            }
            serde_yaml::Value::Mapping(out)
        }
    }
}

fn encode<T: serde::Serialize + k8s_openapi::Resource>(
    kind: &'static str,
    name: &str,
    obj: &T,
) -> Result<Value, Error> {
    let mut v = serde_json::to_value(obj).map_err(|source| Error::Encode {
        kind,
        name: name.to_string(),
        source,
    })?;
    // k8s-openapi types do not serialize their type meta.
    if let Value::Object(map) = &mut v {
        map.insert(
            "apiVersion".into(),
            Value::String(T::API_VERSION.to_string()),
        );
        map.insert("kind".into(), Value::String(T::KIND.to_string()));
    }
    Ok(v)
}

fn labels(component: Option<&str>) -> BTreeMap<String, String> {
    let mut l = BTreeMap::from([
        (
            "app.kubernetes.io/part-of".to_string(),
            "ferroflux".to_string(),
        ),
        (
            "app.kubernetes.io/version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
    ]);
    if let Some(c) = component {
        l.insert("app.kubernetes.io/component".to_string(), c.to_string());
    }
    l
}

fn meta(name: &str, namespace: Option<&str>, component: Option<&str>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: namespace.map(str::to_string),
        labels: Some(labels(component)),
        ..Default::default()
    }
}

fn namespace(opts: &InstallOptions) -> Namespace {
    let mut m = meta(&opts.namespace, None, None);
    m.labels
        .get_or_insert_default()
        .insert("app.kubernetes.io/instance".into(), opts.namespace.clone());
    Namespace {
        metadata: m,
        ..Default::default()
    }
}

fn service_account(opts: &InstallOptions) -> ServiceAccount {
    ServiceAccount {
        metadata: meta(NAME, Some(&opts.namespace), Some("controller")),
        ..Default::default()
    }
}

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> PolicyRule {
    let strings = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    PolicyRule {
        api_groups: Some(strings(groups)),
        resources: Some(strings(resources)),
        verbs: strings(verbs),
        ..Default::default()
    }
}

const READ: &[&str] = &["get", "list", "watch"];
const WRITE: &[&str] = &[
    "get", "list", "watch", "create", "update", "patch", "delete",
];
const STATUS: &[&str] = &["get", "update", "patch"];

fn cluster_role() -> ClusterRole {
    ClusterRole {
        metadata: meta(NAME, None, Some("controller")),
        rules: Some(vec![
            rule(
                &["image.toolkit.fluxcd.io"],
                &[
                    "imagerepositories",
                    "imagepolicies",
                    "imageupdateautomations",
                ],
                WRITE,
            ),
            rule(
                &["image.toolkit.fluxcd.io"],
                &[
                    "imagerepositories/status",
                    "imagepolicies/status",
                    "imageupdateautomations/status",
                ],
                STATUS,
            ),
            rule(
                &["image.toolkit.fluxcd.io"],
                &[
                    "imagerepositories/finalizers",
                    "imagepolicies/finalizers",
                    "imageupdateautomations/finalizers",
                ],
                &["update"],
            ),
            // GitRepository and Kustomization are reconciled (the objects a
            // Kustomization applies come with the cluster-reconciler
            // binding); OCIRepository and Bucket are read as sources.
            rule(&["source.toolkit.fluxcd.io"], &["gitrepositories"], WRITE),
            rule(
                &["source.toolkit.fluxcd.io"],
                &["gitrepositories/status"],
                STATUS,
            ),
            rule(
                &["source.toolkit.fluxcd.io"],
                &["gitrepositories/finalizers"],
                &["update"],
            ),
            // HelmRepositories, HelmCharts and OCIRepositories are
            // reconciled too; Buckets are read as sources.
            rule(
                &["source.toolkit.fluxcd.io"],
                &["helmrepositories", "helmcharts", "ocirepositories"],
                WRITE,
            ),
            rule(
                &["source.toolkit.fluxcd.io"],
                &[
                    "helmrepositories/status",
                    "helmcharts/status",
                    "ocirepositories/status",
                ],
                STATUS,
            ),
            rule(
                &["source.toolkit.fluxcd.io"],
                &[
                    "helmrepositories/finalizers",
                    "helmcharts/finalizers",
                    "ocirepositories/finalizers",
                ],
                &["update"],
            ),
            rule(&["source.toolkit.fluxcd.io"], &["buckets"], READ),
            // HelmReleases are reconciled (their release Secrets and
            // objects come with the cluster-reconciler binding).
            rule(&["helm.toolkit.fluxcd.io"], &["helmreleases"], WRITE),
            rule(
                &["helm.toolkit.fluxcd.io"],
                &["helmreleases/status"],
                STATUS,
            ),
            rule(
                &["helm.toolkit.fluxcd.io"],
                &["helmreleases/finalizers"],
                &["update"],
            ),
            rule(&["kustomize.toolkit.fluxcd.io"], &["kustomizations"], WRITE),
            rule(
                &["kustomize.toolkit.fluxcd.io"],
                &["kustomizations/status"],
                STATUS,
            ),
            rule(
                &["kustomize.toolkit.fluxcd.io"],
                &["kustomizations/finalizers"],
                &["update"],
            ),
            rule(&["notification.toolkit.fluxcd.io"], &["receivers"], WRITE),
            rule(
                &["notification.toolkit.fluxcd.io"],
                &["receivers/status"],
                STATUS,
            ),
            rule(
                &["notification.toolkit.fluxcd.io"],
                &["receivers/finalizers"],
                &["update"],
            ),
            // Providers and Alerts are read, as the event bus dispatches.
            rule(
                &["notification.toolkit.fluxcd.io"],
                &["providers", "alerts"],
                &["get", "list", "watch"],
            ),
            // Registry credentials, webhook tokens, Git credentials, signing
            // keys; ServiceAccounts for their imagePullSecrets; Namespaces for
            // accessFrom's label selectors; ConfigMaps of `valuesFrom` and
            // `substituteFrom` (watched when labelled
            // `reconcile.fluxcd.io/watch: Enabled`).
            rule(
                &[""],
                &["secrets", "configmaps", "serviceaccounts", "namespaces"],
                READ,
            ),
            rule(&["", "events.k8s.io"], &["events"], &["create", "patch"]),
            rule(&["coordination.k8s.io"], &["leases"], WRITE),
        ]),
        ..Default::default()
    }
}

fn cluster_role_binding(opts: &InstallOptions) -> ClusterRoleBinding {
    ClusterRoleBinding {
        metadata: meta(NAME, None, Some("controller")),
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".into()),
            kind: "ClusterRole".into(),
            name: NAME.into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: NAME.into(),
            namespace: Some(opts.namespace.clone()),
            ..Default::default()
        }]),
    }
}

/// Flux's `cluster-reconciler-<namespace>`: a Kustomization applies
/// arbitrary objects (CRDs, Namespaces, RBAC of its own), so the controller
/// is bound to `cluster-admin`, as Flux binds kustomize-controller and
/// helm-controller. Tenants are restricted per Kustomization with
/// `spec.serviceAccountName`.
pub fn reconciler_binding_name(opts: &InstallOptions) -> String {
    format!("cluster-reconciler-{}", opts.namespace)
}

fn cluster_reconciler_binding(opts: &InstallOptions) -> ClusterRoleBinding {
    ClusterRoleBinding {
        metadata: meta(&reconciler_binding_name(opts), None, Some("controller")),
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".into()),
            kind: "ClusterRole".into(),
            name: "cluster-admin".into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: NAME.into(),
            namespace: Some(opts.namespace.clone()),
            ..Default::default()
        }]),
    }
}

fn selector() -> BTreeMap<String, String> {
    BTreeMap::from([("app".to_string(), NAME.to_string())])
}

fn webhook_service(opts: &InstallOptions) -> Service {
    service(opts, "webhook-receiver", "http-webhook")
}

fn storage_service(opts: &InstallOptions) -> Service {
    service(opts, STORAGE_SERVICE, "http")
}

/// A ClusterIP Service `name` on port 80 to the controller's `target` port.
fn service(opts: &InstallOptions, name: &str, target: &str) -> Service {
    Service {
        metadata: meta(name, Some(&opts.namespace), Some("controller")),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(selector()),
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                port: 80,
                protocol: Some("TCP".into()),
                target_port: Some(IntOrString::String(target.into())),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn port(name: &str, number: i32) -> ContainerPort {
    ContainerPort {
        name: Some(name.into()),
        container_port: number,
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}

fn probe(path: &str) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String("healthz".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn field_env(name: &str, path: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: path.into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn deployment(opts: &InstallOptions) -> Deployment {
    let mut pod_labels = labels(Some("controller"));
    pod_labels.extend(selector());
    let container = Container {
        name: "manager".into(),
        image: Some(opts.image.clone()),
        image_pull_policy: Some("IfNotPresent".into()),
        args: Some(vec![
            "controller".into(),
            format!("--metrics-addr=:{METRICS_PORT}"),
            format!("--receiver-addr=:{WEBHOOK_PORT}"),
            format!("--health-addr=:{HEALTH_PORT}"),
            "--enable-leader-election".into(),
            "--storage-path=/data".into(),
            format!("--storage-addr=:{STORAGE_PORT}"),
            format!("--storage-adv-addr={STORAGE_SERVICE}.$(RUNTIME_NAMESPACE).svc.cluster.local."),
            "--log-format=json".into(),
        ]),
        env: Some(vec![
            field_env("RUNTIME_NAMESPACE", "metadata.namespace"),
            field_env("POD_NAME", "metadata.name"),
            EnvVar {
                name: "MALLOC_ARENA_MAX".into(),
                value: Some(MALLOC_ARENA_MAX.into()),
                ..Default::default()
            },
        ]),
        // The tag database and the Git clones; git writes temporary files.
        volume_mounts: Some(vec![
            VolumeMount {
                name: "data".into(),
                mount_path: "/data".into(),
                ..Default::default()
            },
            VolumeMount {
                name: "tmp".into(),
                mount_path: "/tmp".into(),
                ..Default::default()
            },
        ]),
        ports: Some(vec![
            port("http-prom", METRICS_PORT),
            port("http-webhook", WEBHOOK_PORT),
            port("http", STORAGE_PORT),
            port("healthz", HEALTH_PORT),
        ]),
        liveness_probe: Some(probe("/healthz")),
        readiness_probe: Some(probe("/readyz")),
        resources: Some(ResourceRequirements {
            requests: Some(BTreeMap::from([
                ("cpu".to_string(), Quantity("50m".into())),
                ("memory".to_string(), Quantity("32Mi".into())),
            ])),
            // Quantities in the apiserver's canonical form ("1", not
            // "1000m"): a non-canonical one comes back normalized, differs
            // from the manifest, and makes every `kubectl apply` of an
            // unchanged install report the Deployment "configured".
            limits: Some(BTreeMap::from([
                ("cpu".to_string(), Quantity("1".into())),
                ("memory".to_string(), Quantity("256Mi".into())),
            ])),
            ..Default::default()
        }),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                ..Default::default()
            }),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    Deployment {
        metadata: meta(NAME, Some(&opts.namespace), Some("controller")),
        spec: DeploymentSpec {
            replicas: Some(1),
            selector: LabelSelector {
                match_labels: Some(selector()),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels),
                    annotations: Some(BTreeMap::from([(
                        "prometheus.io/scrape".to_string(),
                        "true".to_string(),
                    )])),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(NAME.into()),
                    termination_grace_period_seconds: Some(10),
                    security_context: Some(PodSecurityContext {
                        fs_group: Some(1337),
                        ..Default::default()
                    }),
                    containers: vec![container],
                    volumes: Some(vec![
                        Volume {
                            name: "data".into(),
                            empty_dir: Some(EmptyDirVolumeSource::default()),
                            ..Default::default()
                        },
                        Volume {
                            name: "tmp".into(),
                            empty_dir: Some(EmptyDirVolumeSource::default()),
                            ..Default::default()
                        },
                    ]),
                    ..Default::default()
                }),
            },
            ..Default::default()
        },
        ..Default::default()
    }
}
