//! OCIRepositories in the local home against the real docker-registry
//! (htpasswd + TLS): manifests pushed as `flux push artifact` writes them
//! and applied by a Kustomization to the real kube-apiserver; charts pushed
//! by the real `helm push` and installed by a HelmRelease (`chartRef`) and
//! by a HelmChart of a `type: oci` HelmRepository, read by the real `helm`.

use std::path::Path;
use std::sync::Arc;

use ferroflux_runtime::automate::{AutomateOptions, Runner};
use ferroflux_runtime::{Secrets, StatusStore};
use ferroflux_testkit::gitrepo;
use ferroflux_testkit::registry::{DockerRegistry, Options as RegistryOptions};
use serde_json::Value;

use crate::automate::commit_all;

const USER: &str = "puller";
const PASSWORD: &str = "oci-pa55-never-shown";

/// A tar.gz of `files`, as `flux push artifact` packs a directory.
pub(crate) fn tgz(files: &[(&str, String)]) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("dir");
    for (name, body) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, body).expect("write");
    }
    ferroflux_artifact::archive::write_tar_gz(
        dir.path(),
        None,
        &ferroflux_artifact::Limits::default(),
        Vec::new(),
    )
    .expect("tgz")
}

fn config_map(ns: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-oci\n  namespace: {ns}\ndata:\n  value: {value}\n"
    )
}

/// The registry's Secrets in `ns`: a dockerconfigjson with `password`,
/// and the CA.
pub(crate) fn registry_secrets(ns: &str, registry: &DockerRegistry, password: &str) -> String {
    let auth =
        serde_json::json!({"auths": {registry.host(): {"username": USER, "password": password}}});
    let ca = registry
        .ca_pem()
        .expect("tls registry")
        .replace('\n', "\n    ");
    format!(
        "apiVersion: v1
kind: Secret
metadata:
  name: regcred
  namespace: {ns}
type: kubernetes.io/dockerconfigjson
stringData:
  .dockerconfigjson: '{auth}'
---
apiVersion: v1
kind: Secret
metadata:
  name: wrongcred
  namespace: {ns}
type: kubernetes.io/dockerconfigjson
stringData:
  .dockerconfigjson: '{wrong}'
---
apiVersion: v1
kind: Secret
metadata:
  name: registry-ca
  namespace: {ns}
stringData:
  ca.crt: |-
    {ca}
",
        wrong = serde_json::json!({"auths": {registry.host(): {"username": USER, "password": "wrong-password"}}}),
    )
}

pub(crate) fn start_registry() -> Option<DockerRegistry> {
    DockerRegistry::start(RegistryOptions {
        htpasswd: Some((USER.into(), PASSWORD.into())),
        tls: true,
        ..RegistryOptions::default()
    })
}

/// The fleet: `manifests` as `clusters/stage/oci.yaml`.
pub(crate) fn fleet_options(tmp: &Path, manifests: &str, secrets: &str) -> AutomateOptions {
    let bare = gitrepo::init_bare(tmp, "fleet.git");
    commit_all(
        &bare,
        &[(
            "clusters/stage/oci.yaml".to_string(),
            manifests.as_bytes().to_vec(),
        )],
    );
    let dir = tmp.join("secrets");
    std::fs::create_dir_all(&dir).expect("secrets dir");
    std::fs::write(dir.join("secrets.yaml"), secrets).expect("secrets");
    AutomateOptions {
        repo: bare.display().to_string(),
        path: "clusters/stage".into(),
        cache_dir: Some(tmp.join("cache")),
        secrets: Secrets::load_dir(&dir).expect("secrets load"),
        ..AutomateOptions::default()
    }
}

pub(crate) fn status_of(state: &StatusStore, kind: &str, name: &str) -> Value {
    state
        .list(kind)
        .expect("list")
        .into_iter()
        .find(|s| s.name == name)
        .and_then(|s| s.status)
        .unwrap_or_else(|| panic!("no status of {kind} {name}"))
}

pub(crate) fn ready(status: &Value) -> (String, String, String) {
    let c = status["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
        .unwrap_or_else(|| panic!("no Ready in {status}"));
    let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
    (s("status"), s("reason"), s("message"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kustomization_applies_manifests_pushed_as_a_flux_artifact() {
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::Api;

    if !gitrepo::git_available() {
        ferroflux_testkit::env::skip_or_fail("git binary");
        return;
    }
    let Some(cp) = ferroflux_testkit::control_plane::ControlPlane::shared() else {
        return;
    };
    let Some(registry) = start_registry() else {
        return;
    };
    let ns = cp.namespace("oci-ks");
    let host = registry.host();
    let first = registry
        .push_flux_artifact(
            "fleet/manifests",
            "1.0.0",
            &tgz(&[("apps/cm.yaml", config_map(&ns, "one"))]),
            "main@sha1:1111111111111111111111111111111111111111",
        )
        .await;
    let manifests = format!(
        "apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata:
  name: manifests
  namespace: {ns}
spec:
  interval: 5m
  url: oci://{host}/fleet/manifests
  ref:
    semver: '1.x'
  secretRef:
    name: regcred
  certSecretRef:
    name: registry-ca
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata:
  name: denied
  namespace: {ns}
spec:
  interval: 5m
  url: oci://{host}/fleet/manifests
  ref:
    tag: 1.0.0
  secretRef:
    name: wrongcred
  certSecretRef:
    name: registry-ca
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata:
  name: untrusted
  namespace: {ns}
spec:
  interval: 5m
  url: oci://{host}/fleet/manifests
  secretRef:
    name: regcred
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata:
  name: insecure
  namespace: {ns}
spec:
  interval: 5m
  url: oci://{host}/fleet/manifests
  insecure: true
  ref:
    tag: 1.0.0
  secretRef:
    name: regcred
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: {ns}
spec:
  interval: 5m
  path: ./apps
  prune: true
  sourceRef:
    kind: OCIRepository
    name: manifests
"
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let opts = fleet_options(
        tmp.path(),
        &manifests,
        &registry_secrets(&ns, &registry, PASSWORD),
    );
    let state = StatusStore::open(&tmp.path().join("state.redb")).expect("state");
    let (client, targets) = crate::targets(cp).await;
    let run = || async {
        let mut runner = Runner::new(opts.clone(), state.clone())
            .expect("runner")
            .with_targets(Arc::clone(&targets));
        runner.run_once().await.expect("run").to_string()
    };

    let text = run().await;
    let oci = status_of(&state, "OCIRepository", "manifests");
    let revision = format!("1.0.0@{first}");
    assert_eq!(
        ready(&oci),
        (
            "True".into(),
            "Succeeded".into(),
            format!("stored artifact for digest '{revision}'")
        ),
        "{oci}\n{text}"
    );
    assert_eq!(
        oci["artifact"]["metadata"]["org.opencontainers.image.revision"],
        "main@sha1:1111111111111111111111111111111111111111"
    );
    let ks = status_of(&state, "Kustomization", "apps");
    assert_eq!(
        ready(&ks),
        (
            "True".into(),
            "ReconciliationSucceeded".into(),
            format!("Applied revision: {revision}")
        ),
        "{ks}\n{text}"
    );
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    let cm = cms.get("from-oci").await.expect("applied ConfigMap");
    assert_eq!(cm.data.expect("data")["value"], "one");

    // A wrong password: 401, named, and the password nowhere.
    let denied = status_of(&state, "OCIRepository", "denied");
    let (status, reason, message) = ready(&denied);
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "OCIArtifactPullFailed"),
        "{denied}"
    );
    assert!(message.contains("401 Unauthorized"), "{message}");
    assert!(!denied.to_string().contains("wrong-password"), "{denied}");
    assert!(!text.contains(PASSWORD) && !text.contains("wrong-password"));
    // No certSecretRef: the test CA is not trusted.
    let untrusted = status_of(&state, "OCIRepository", "untrusted");
    let (status, _, message) = ready(&untrusted);
    assert_eq!(status, "False", "{untrusted}");
    assert!(message.contains("tls handshake"), "{message}");
    // `insecure` without a certSecretRef: verification skipped, as Flux.
    let insecure = status_of(&state, "OCIRepository", "insecure");
    assert_eq!(ready(&insecure).0, "True", "{insecure}");
    assert_eq!(insecure["artifact"]["revision"], revision.as_str());

    // A new version in range: pulled, applied.
    let second = registry
        .push_flux_artifact(
            "fleet/manifests",
            "1.1.0",
            &tgz(&[("apps/cm.yaml", config_map(&ns, "two"))]),
            "main@sha1:2222222222222222222222222222222222222222",
        )
        .await;
    let text = run().await;
    let oci = status_of(&state, "OCIRepository", "manifests");
    assert_eq!(
        oci["artifact"]["revision"],
        format!("1.1.0@{second}"),
        "{oci}\n{text}"
    );
    let cm = cms.get("from-oci").await.expect("applied ConfigMap");
    assert_eq!(cm.data.expect("data")["value"], "two", "{text}");
}

/// Package `podinfo` at `version` and push it with the real `helm push`
/// (`--username/--password`, the registry's CA); the manifest digest
/// helm prints.
pub(crate) fn helm_push(
    helm: &ferroflux_testkit::helm::Helm,
    registry: &DockerRegistry,
    dir: &Path,
    version: &str,
) -> String {
    let file = |n: &str, d: String| ferroflux_helm::chart::File {
        name: n.into(),
        data: d.into_bytes(),
    };
    let files = vec![
        file(
            "Chart.yaml",
            format!("apiVersion: v2\nname: podinfo\nversion: {version}\n"),
        ),
        file("values.yaml", "replicas: 1\n".into()),
        file(
            "templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  replicas: {{ .Values.replicas | quote }}\n  version: {{ .Chart.Version | quote }}\n".into(),
        ),
    ];
    let p = ferroflux_helm::package::package(files, 1_700_000_000).expect("package");
    let tgz = dir.join(&p.file_name);
    std::fs::write(&tgz, &p.data).expect("write chart");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, registry.ca_pem().expect("tls")).expect("ca");
    let out = helm
        .command()
        .arg("push")
        .arg(&tgz)
        .arg(format!("oci://{}/charts", registry.host()))
        .arg("--ca-file")
        .arg(&ca)
        .args(["--username", USER, "--password", PASSWORD])
        .output()
        .expect("helm push");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "helm push: {text}");
    text.lines()
        .find_map(|l| l.strip_prefix("Digest: "))
        .unwrap_or_else(|| panic!("no digest in: {text}"))
        .trim()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_helm_release_installs_a_chart_pushed_by_helm_through_an_oci_repository() {
    if !gitrepo::git_available() {
        ferroflux_testkit::env::skip_or_fail("git binary");
        return;
    }
    let Some(cp) = ferroflux_testkit::control_plane::ControlPlane::shared() else {
        return;
    };
    let Some(helm) = ferroflux_testkit::helm::Helm::find() else {
        return;
    };
    let Some(registry) = start_registry() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let digest = helm_push(&helm, &registry, tmp.path(), "6.5.0");
    let ns = cp.namespace("oci-hr");
    let host = registry.host();
    let manifests = format!(
        "apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata:
  name: podinfo
  namespace: {ns}
spec:
  interval: 5m
  url: oci://{host}/charts/podinfo
  ref:
    semver: '>=6.0.0'
  layerSelector:
    mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip
    operation: copy
  secretRef:
    name: regcred
  certSecretRef:
    name: registry-ca
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
  namespace: {ns}
spec:
  interval: 5m
  chartRef:
    kind: OCIRepository
    name: podinfo
  values:
    replicas: 2
"
    );
    let opts = fleet_options(
        tmp.path(),
        &manifests,
        &registry_secrets(&ns, &registry, PASSWORD),
    );
    let state = StatusStore::open(&tmp.path().join("state.redb")).expect("state");
    let (client, targets) = crate::targets(cp).await;
    let mut runner = Runner::new(opts.clone(), state.clone())
        .expect("runner")
        .with_targets(Arc::clone(&targets));
    let text = runner.run_once().await.expect("run").to_string();
    let oci = status_of(&state, "OCIRepository", "podinfo");
    assert_eq!(
        oci["artifact"]["revision"],
        format!("6.5.0@{digest}"),
        "{oci}\n{text}"
    );
    let short = &digest["sha256:".len().."sha256:".len() + 12];
    let hr = status_of(&state, "HelmRelease", "podinfo");
    assert_eq!(
        ready(&hr),
        (
            "True".into(),
            "InstallSucceeded".into(),
            format!(
                "Helm install succeeded for release {ns}/podinfo.v1 with chart podinfo@6.5.0+{short}"
            )
        ),
        "{hr}\n{text}"
    );
    let cms: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(client.clone(), &ns);
    let cm = cms.get("podinfo").await.expect("the release's ConfigMap");
    assert_eq!(cm.data.expect("data")["replicas"], "2");
    let out = helm
        .command()
        .args(["list", "-n", &ns, "-o", "json"])
        .env("KUBECONFIG", cp.kubeconfig())
        .output()
        .expect("helm list");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(list[0]["name"], "podinfo", "{list}");
    assert_eq!(list[0]["status"], "deployed", "{list}");
    assert_eq!(list[0]["chart"], format!("podinfo-6.5.0+{short}"), "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_helm_release_installs_from_an_oci_helm_repository_as_helm_reads_it() {
    if !gitrepo::git_available() {
        ferroflux_testkit::env::skip_or_fail("git binary");
        return;
    }
    let Some(cp) = ferroflux_testkit::control_plane::ControlPlane::shared() else {
        return;
    };
    let Some(helm) = ferroflux_testkit::helm::Helm::find() else {
        return;
    };
    let Some(registry) = start_registry() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    helm_push(&helm, &registry, tmp.path(), "6.4.0");
    helm_push(&helm, &registry, tmp.path(), "6.5.0");
    helm_push(&helm, &registry, tmp.path(), "7.0.0");
    let ns = cp.namespace("oci-helmrepo");
    let host = registry.host();
    let release = |name: &str, version: &str| {
        format!(
            "---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: {name}
  namespace: {ns}
spec:
  interval: 5m
  chart:
    spec:
      chart: podinfo
      version: '{version}'
      sourceRef:
        kind: HelmRepository
        name: charts
  values:
    replicas: 3
"
        )
    };
    let manifests = format!(
        "apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: charts
  namespace: {ns}
spec:
  type: oci
  interval: 5m
  url: oci://{host}/charts
  secretRef:
    name: regcred
  certSecretRef:
    name: registry-ca
{}{}",
        release("podinfo", "6.x"),
        release("missing", "9.x")
    );
    let opts = fleet_options(
        tmp.path(),
        &manifests,
        &registry_secrets(&ns, &registry, PASSWORD),
    );
    let state = StatusStore::open(&tmp.path().join("state.redb")).expect("state");
    let (client, targets) = crate::targets(cp).await;
    let mut runner = Runner::new(opts.clone(), state.clone())
        .expect("runner")
        .with_targets(Arc::clone(&targets));
    let text = runner.run_once().await.expect("run").to_string();
    let chart = status_of(&state, "HelmChart", &format!("{ns}-podinfo"));
    assert_eq!(
        ready(&chart),
        (
            "True".into(),
            "ChartPullSucceeded".into(),
            "pulled 'podinfo' chart with version '6.5.0'".into()
        ),
        "{chart}\n{text}"
    );
    let hr = status_of(&state, "HelmRelease", "podinfo");
    assert_eq!(
        ready(&hr),
        (
            "True".into(),
            "InstallSucceeded".into(),
            format!("Helm install succeeded for release {ns}/podinfo.v1 with chart podinfo@6.5.0")
        ),
        "{hr}\n{text}"
    );
    let missing = status_of(&state, "HelmRelease", "missing");
    let (status, reason, message) = ready(&missing);
    assert_eq!(
        (status.as_str(), reason.as_str(), message),
        (
            "False",
            "SourceNotReady",
            format!(
                "HelmChart '{ns}/{ns}-missing' is not ready: invalid chart reference: failed to \
                 get chart version for remote reference: could not locate a version matching \
                 provided version string 9.x"
            )
        ),
        "{missing}\n{text}"
    );
    assert!(!text.contains(PASSWORD));
    let cms: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(client.clone(), &ns);
    let cm = cms.get("podinfo").await.expect("the release's ConfigMap");
    assert_eq!(cm.data.expect("data")["replicas"], "3");
    let out = helm
        .command()
        .args(["list", "-n", &ns, "-o", "json"])
        .env("KUBECONFIG", cp.kubeconfig())
        .output()
        .expect("helm list");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["name"], "podinfo", "{list}");
    assert_eq!(list[0]["status"], "deployed", "{list}");
    assert_eq!(list[0]["chart"], "podinfo-6.5.0", "{list}");
}
