//! Which (apiVersion, kind) pairs ferroflux knows, in which state, and how
//! each is decoded.

use k8s_openapi::Resource as _;
use k8s_openapi::api;
use serde_json::Value as Json;

use super::{Finding, Manifest, Object, Severity, decode_at, decode_metadata};
use crate::yaml::Value;
use crate::{helm, image, kustomize, notification, source, thirdparty};

/// How a served version stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindStatus {
    Current,
    /// Still read by ferroflux; the text says what replaced it.
    Deprecated(&'static str),
}

const IMAGE_V1BETA2: KindStatus = KindStatus::Deprecated(
    "image.toolkit.fluxcd.io/v1beta2 is deprecated: Flux 2.7 (image controllers v1.0) deprecated it \
     and image-reflector/image-automation-controller v1.2.0 removed it; ferroflux still serves it; \
     change apiVersion to image.toolkit.fluxcd.io/v1 (same fields)",
);
const IMAGE_V1BETA1: KindStatus = KindStatus::Deprecated(
    "image.toolkit.fluxcd.io/v1beta1 was removed in Flux 2.7 (image controllers v1.0); ferroflux \
     still reads it; change apiVersion to image.toolkit.fluxcd.io/v1",
);
const KUSTOMIZE_V1BETA2: KindStatus = KindStatus::Deprecated(
    "kustomize.toolkit.fluxcd.io/v1beta2 was removed in Flux 2.8 (kustomize-controller v1.8.0); \
     ferroflux still reads it; change apiVersion to kustomize.toolkit.fluxcd.io/v1 and move \
     patchesStrategicMerge and patchesJson6902 into patches (validation is gone)",
);
const HELM_V2BETA2: KindStatus = KindStatus::Deprecated(
    "helm.toolkit.fluxcd.io/v2beta2 was removed in Flux 2.8 (helm-controller v1.5.0); ferroflux \
     still reads it as v2; change apiVersion to helm.toolkit.fluxcd.io/v2 (run `flux migrate` \
     for objects stored in a cluster)",
);
const HELM_V2BETA1: KindStatus = KindStatus::Deprecated(
    "helm.toolkit.fluxcd.io/v2beta1 was removed in Flux 2.7 (helm-controller v1.4.0); ferroflux \
     still reads it as v2; change apiVersion to helm.toolkit.fluxcd.io/v2 (run `flux migrate` \
     for objects stored in a cluster)",
);
const NOTIFICATION_V1BETA2: KindStatus = KindStatus::Deprecated(
    "notification.toolkit.fluxcd.io/v1beta2 is deprecated; change apiVersion to \
     notification.toolkit.fluxcd.io/v1beta3",
);

/// (group, kind, [(version, status)]), the newest version first.
/// The versions of one kind, newest first.
type Versions = &'static [(&'static str, KindStatus)];

const FLUX_KINDS: &[(&str, &str, Versions)] = &[
    (
        image::GROUP,
        "ImageRepository",
        &[
            ("v1", KindStatus::Current),
            ("v1beta2", IMAGE_V1BETA2),
            ("v1beta1", IMAGE_V1BETA1),
        ],
    ),
    (
        image::GROUP,
        "ImagePolicy",
        &[
            ("v1", KindStatus::Current),
            ("v1beta2", IMAGE_V1BETA2),
            ("v1beta1", IMAGE_V1BETA1),
        ],
    ),
    (
        image::GROUP,
        "ImageUpdateAutomation",
        &[
            ("v1", KindStatus::Current),
            ("v1beta2", IMAGE_V1BETA2),
            ("v1beta1", IMAGE_V1BETA1),
        ],
    ),
    (
        source::GROUP,
        "GitRepository",
        &[("v1", KindStatus::Current)],
    ),
    (
        source::GROUP,
        "HelmRepository",
        &[("v1", KindStatus::Current)],
    ),
    (source::GROUP, "HelmChart", &[("v1", KindStatus::Current)]),
    (
        source::GROUP,
        "OCIRepository",
        &[("v1", KindStatus::Current)],
    ),
    (
        kustomize::GROUP,
        "Kustomization",
        &[("v1", KindStatus::Current), ("v1beta2", KUSTOMIZE_V1BETA2)],
    ),
    (
        helm::GROUP,
        "HelmRelease",
        &[
            ("v2", KindStatus::Current),
            ("v2beta2", HELM_V2BETA2),
            ("v2beta1", HELM_V2BETA1),
        ],
    ),
    (
        notification::GROUP,
        "Receiver",
        &[("v1", KindStatus::Current)],
    ),
    (
        notification::GROUP,
        "Provider",
        &[
            ("v1beta3", KindStatus::Current),
            ("v1beta2", NOTIFICATION_V1BETA2),
        ],
    ),
    (
        notification::GROUP,
        "Alert",
        &[
            ("v1beta3", KindStatus::Current),
            ("v1beta2", NOTIFICATION_V1BETA2),
        ],
    ),
    ("flagger.app", "Canary", &[("v1beta1", KindStatus::Current)]),
    (
        "bitnami.com",
        "SealedSecret",
        &[("v1alpha1", KindStatus::Current)],
    ),
    (
        "kustomize.config.k8s.io",
        "Kustomization",
        &[("v1beta1", KindStatus::Current)],
    ),
];

/// Kubernetes kinds ferroflux recognises without modelling them.
fn core_kinds() -> [(&'static str, &'static str); 30] {
    [
        (api::core::v1::Namespace::API_VERSION, api::core::v1::Namespace::KIND),
        (api::core::v1::Secret::API_VERSION, api::core::v1::Secret::KIND),
        (api::core::v1::ConfigMap::API_VERSION, api::core::v1::ConfigMap::KIND),
        (api::core::v1::Service::API_VERSION, api::core::v1::Service::KIND),
        (api::core::v1::ServiceAccount::API_VERSION, api::core::v1::ServiceAccount::KIND),
        (api::core::v1::Pod::API_VERSION, api::core::v1::Pod::KIND),
        (
            api::core::v1::PersistentVolumeClaim::API_VERSION,
            api::core::v1::PersistentVolumeClaim::KIND,
        ),
        (api::core::v1::PersistentVolume::API_VERSION, api::core::v1::PersistentVolume::KIND),
        (api::core::v1::LimitRange::API_VERSION, api::core::v1::LimitRange::KIND),
        (api::core::v1::ResourceQuota::API_VERSION, api::core::v1::ResourceQuota::KIND),
        (api::core::v1::Endpoints::API_VERSION, api::core::v1::Endpoints::KIND),
        (api::apps::v1::Deployment::API_VERSION, api::apps::v1::Deployment::KIND),
        (api::apps::v1::StatefulSet::API_VERSION, api::apps::v1::StatefulSet::KIND),
        (api::apps::v1::DaemonSet::API_VERSION, api::apps::v1::DaemonSet::KIND),
        (api::apps::v1::ReplicaSet::API_VERSION, api::apps::v1::ReplicaSet::KIND),
        (api::batch::v1::Job::API_VERSION, api::batch::v1::Job::KIND),
        (api::batch::v1::CronJob::API_VERSION, api::batch::v1::CronJob::KIND),
        (api::networking::v1::Ingress::API_VERSION, api::networking::v1::Ingress::KIND),
        (api::networking::v1::IngressClass::API_VERSION, api::networking::v1::IngressClass::KIND),
        (api::networking::v1::NetworkPolicy::API_VERSION, api::networking::v1::NetworkPolicy::KIND),
        (
            api::autoscaling::v2::HorizontalPodAutoscaler::API_VERSION,
            api::autoscaling::v2::HorizontalPodAutoscaler::KIND,
        ),
        (
            api::policy::v1::PodDisruptionBudget::API_VERSION,
            api::policy::v1::PodDisruptionBudget::KIND,
        ),
        (api::rbac::v1::Role::API_VERSION, api::rbac::v1::Role::KIND),
        (api::rbac::v1::RoleBinding::API_VERSION, api::rbac::v1::RoleBinding::KIND),
        (api::rbac::v1::ClusterRole::API_VERSION, api::rbac::v1::ClusterRole::KIND),
        (api::rbac::v1::ClusterRoleBinding::API_VERSION, api::rbac::v1::ClusterRoleBinding::KIND),
        (api::storage::v1::StorageClass::API_VERSION, api::storage::v1::StorageClass::KIND),
        (api::scheduling::v1::PriorityClass::API_VERSION, api::scheduling::v1::PriorityClass::KIND),
        (
            k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition::API_VERSION,
            k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition::KIND,
        ),
        (api::coordination::v1::Lease::API_VERSION, api::coordination::v1::Lease::KIND),
    ]
}

/// What ferroflux knows about an (apiVersion, kind).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Known(KindStatus),
    /// A Kubernetes kind ferroflux recognises but does not model.
    Core,
    /// The kind exists, but in another group: the apiVersion it belongs to.
    WrongGroup(String),
    /// The group has the kind, but not in this version.
    UnservedVersion(Vec<&'static str>),
    Unknown,
}

pub fn lookup_kind(api_version: &str, kind: &str) -> Lookup {
    let (group, version) = match api_version.rsplit_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    if let Some((_, _, versions)) = FLUX_KINDS
        .iter()
        .find(|(g, k, _)| *g == group && *k == kind)
    {
        return match versions.iter().find(|(v, _)| *v == version) {
            Some((_, status)) => Lookup::Known(*status),
            None => Lookup::UnservedVersion(versions.iter().map(|(v, _)| *v).collect()),
        };
    }
    let cores = core_kinds();
    if cores.iter().any(|(a, k)| *a == api_version && *k == kind) {
        return Lookup::Core;
    }
    // The same kind in another group: HelmRelease under source.toolkit...
    let flux_group = FLUX_KINDS.iter().any(|(g, _, _)| *g == group);
    if let Some((g, _, versions)) = FLUX_KINDS
        .iter()
        .find(|(g, k, _)| *k == kind && *g != group)
        .filter(|_| flux_group || group.is_empty())
    {
        let v = versions.first().map_or("", |(v, _)| v);
        return Lookup::WrongGroup(format!("{g}/{v}"));
    }
    if let Some((a, _)) = cores.iter().find(|(_, k)| *k == kind) {
        return Lookup::WrongGroup((*a).to_string());
    }
    Lookup::Unknown
}

pub(super) fn decode(m: &Manifest, findings: &mut Vec<Finding>) -> Object {
    let mut wrong_group = false;
    let api_version = match lookup_kind(&m.api_version, &m.kind) {
        Lookup::Known(status) => {
            if let KindStatus::Deprecated(msg) = status {
                findings.push(m.finding(m.line_of("apiVersion"), Severity::Warning, msg));
            }
            m.api_version.clone()
        }
        Lookup::Core => {
            decode_metadata(m, findings);
            require_name(m, findings);
            return Object::Other(m.node.to_json());
        }
        Lookup::WrongGroup(right) => {
            findings.push(m.finding(
                m.line_of("apiVersion"),
                Severity::Error,
                format!(
                    "kind {kind} does not exist in apiVersion {given}; {kind} belongs to {right}: \
                     change apiVersion to {right}",
                    kind = m.kind,
                    given = m.api_version,
                ),
            ));
            // Check the rest as if the apiVersion were right, to report
            // everything in one pass.
            if matches!(lookup_kind(&right, &m.kind), Lookup::Core) {
                return Object::Invalid;
            }
            wrong_group = true;
            right
        }
        Lookup::UnservedVersion(served) => {
            let group = m.api_version.rsplit_once('/').map_or("", |(g, _)| g);
            findings.push(m.finding(
                m.line_of("apiVersion"),
                Severity::Error,
                format!(
                    "{} {} is not served; served versions: {}",
                    m.api_version,
                    m.kind,
                    served
                        .iter()
                        .map(|v| format!("{group}/{v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
            return Object::Invalid;
        }
        Lookup::Unknown => {
            findings.push(m.finding(
                m.line_of("kind"),
                Severity::Warning,
                format!(
                    "unknown kind {} in apiVersion {}: ferroflux does not check it",
                    m.kind, m.api_version
                ),
            ));
            return Object::Other(m.node.to_json());
        }
    };
    let object = decode_known(m, &api_version, findings);
    if wrong_group { Object::Invalid } else { object }
}

fn decode_known(m: &Manifest, api_version: &str, findings: &mut Vec<Finding>) -> Object {
    if m.kind == "Kustomization" && api_version.starts_with("kustomize.config.k8s.io/") {
        return decode_at::<kustomize::KustomizationFile>(m, "", m.node.to_json(), findings)
            .map_or(Object::Invalid, Object::KustomizationFile);
    }
    check_top_level(m, findings);
    let metadata = decode_metadata(m, findings);
    require_name(m, findings);
    macro_rules! crd {
        ($spec:ty, $root:ty, $variant:ident) => {{
            match spec::<$spec>(m, findings) {
                Some(spec) => {
                    let mut object = <$root>::new(&m.name, spec.into());
                    object.metadata = metadata;
                    Object::$variant(object)
                }
                None => Object::Invalid,
            }
        }};
    }
    match (api_version, m.kind.as_str()) {
        ("image.toolkit.fluxcd.io/v1", "ImageRepository")
        | ("image.toolkit.fluxcd.io/v1beta2", "ImageRepository")
        | ("image.toolkit.fluxcd.io/v1beta1", "ImageRepository") => {
            crd!(
                image::ImageRepositorySpec,
                image::ImageRepository,
                ImageRepository
            )
        }
        ("image.toolkit.fluxcd.io/v1", "ImagePolicy") => {
            crd!(image::ImagePolicySpec, image::ImagePolicy, ImagePolicy)
        }
        ("image.toolkit.fluxcd.io/v1beta2", "ImagePolicy") => {
            crd!(
                image::v1beta2::ImagePolicySpec,
                image::ImagePolicy,
                ImagePolicy
            )
        }
        ("image.toolkit.fluxcd.io/v1beta1", "ImagePolicy") => {
            crd!(
                image::v1beta1::ImagePolicySpec,
                image::ImagePolicy,
                ImagePolicy
            )
        }
        ("image.toolkit.fluxcd.io/v1", "ImageUpdateAutomation")
        | ("image.toolkit.fluxcd.io/v1beta2", "ImageUpdateAutomation") => crd!(
            image::ImageUpdateAutomationSpec,
            image::ImageUpdateAutomation,
            ImageUpdateAutomation
        ),
        ("image.toolkit.fluxcd.io/v1beta1", "ImageUpdateAutomation") => crd!(
            image::v1beta1::ImageUpdateAutomationSpec,
            image::ImageUpdateAutomation,
            ImageUpdateAutomation
        ),
        (_, "GitRepository") => crd!(
            source::GitRepositorySpec,
            source::GitRepository,
            GitRepository
        ),
        (_, "HelmRepository") => {
            crd!(
                source::HelmRepositorySpec,
                source::HelmRepository,
                HelmRepository
            )
        }
        (_, "HelmChart") => crd!(source::HelmChartSpec, source::HelmChart, HelmChart),
        (_, "OCIRepository") => crd!(
            source::OCIRepositorySpec,
            source::OCIRepository,
            OCIRepository
        ),
        ("kustomize.toolkit.fluxcd.io/v1beta2", "Kustomization") => {
            crd!(
                kustomize::v1beta2::KustomizationSpec,
                kustomize::Kustomization,
                Kustomization
            )
        }
        (_, "Kustomization") => {
            crd!(
                kustomize::KustomizationSpec,
                kustomize::Kustomization,
                Kustomization
            )
        }
        ("helm.toolkit.fluxcd.io/v2beta2", "HelmRelease")
        | ("helm.toolkit.fluxcd.io/v2beta1", "HelmRelease") => {
            // Their removed fields carried over as v2 says them.
            let spec = match m.node.get("spec") {
                Some(spec) => decode_at::<helm::HelmReleaseSpec>(
                    m,
                    "spec",
                    helm::v2beta_spec_to_v2(spec.to_json()),
                    findings,
                ),
                None => {
                    findings.push(m.finding(
                        m.line,
                        Severity::Error,
                        "missing required field `spec`",
                    ));
                    None
                }
            };
            match spec {
                Some(spec) => {
                    let mut object = helm::HelmRelease::new(&m.name, spec);
                    object.metadata = metadata;
                    Object::HelmRelease(object)
                }
                None => Object::Invalid,
            }
        }
        (_, "HelmRelease") => crd!(helm::HelmReleaseSpec, helm::HelmRelease, HelmRelease),
        (_, "Receiver") => crd!(notification::ReceiverSpec, notification::Receiver, Receiver),
        (_, "Provider") => crd!(notification::ProviderSpec, notification::Provider, Provider),
        (_, "Alert") => crd!(notification::AlertSpec, notification::Alert, Alert),
        (_, "Canary") => crd!(thirdparty::CanarySpec, thirdparty::Canary, Canary),
        (_, "SealedSecret") => {
            crd!(
                thirdparty::SealedSecretSpec,
                thirdparty::SealedSecret,
                SealedSecret
            )
        }
        _ => Object::Other(m.node.to_json()),
    }
}

fn spec<T: serde::de::DeserializeOwned>(m: &Manifest, findings: &mut Vec<Finding>) -> Option<T> {
    match m.node.get("spec") {
        Some(spec) => decode_at(m, "spec", spec.to_json(), findings),
        None => {
            findings.push(m.finding(m.line, Severity::Error, "missing required field `spec`"));
            None
        }
    }
}

fn require_name(m: &Manifest, findings: &mut Vec<Finding>) {
    if m.name.is_empty() {
        findings.push(m.finding(
            m.line_of("metadata"),
            Severity::Error,
            "missing required field `metadata.name`",
        ));
    }
}

/// A Flux object has apiVersion, kind, metadata, spec and status, nothing else.
fn check_top_level(m: &Manifest, findings: &mut Vec<Finding>) {
    const TOP: &[&str] = &["apiVersion", "kind", "metadata", "spec", "status"];
    let Value::Map(entries) = &m.node.value else {
        return;
    };
    let spec_fields = spec_field_names(m);
    for e in entries {
        if TOP.contains(&e.key.as_str()) {
            continue;
        }
        let mut message = format!("unknown field `{}`", e.key);
        if spec_fields.contains(&e.key) {
            message.push_str(&format!(
                "; did you mean `spec.{}`? it belongs under spec",
                e.key
            ));
        }
        findings.push(m.finding(e.key_line, Severity::Error, message));
    }
}

/// The spec field names of the manifest's kind, learnt from serde by
/// decoding an object with one bogus field.
fn spec_field_names(m: &Manifest) -> Vec<String> {
    let probe = Json::Object(
        [("\u{0}probe".to_string(), Json::Null)]
            .into_iter()
            .collect(),
    );
    let err = match (m.api_version.as_str(), m.kind.as_str()) {
        (_, "ImageRepository") => serde_json::from_value::<image::ImageRepositorySpec>(probe).err(),
        (_, "ImagePolicy") => serde_json::from_value::<image::ImagePolicySpec>(probe).err(),
        (_, "ImageUpdateAutomation") => {
            serde_json::from_value::<image::ImageUpdateAutomationSpec>(probe).err()
        }
        (_, "GitRepository") => serde_json::from_value::<source::GitRepositorySpec>(probe).err(),
        ("kustomize.toolkit.fluxcd.io/v1beta2", "Kustomization") => {
            serde_json::from_value::<kustomize::v1beta2::KustomizationSpec>(probe).err()
        }
        (_, "Kustomization") => serde_json::from_value::<kustomize::KustomizationSpec>(probe).err(),
        (_, "HelmRelease") => serde_json::from_value::<helm::HelmReleaseSpec>(probe).err(),
        _ => None,
    };
    err.and_then(|e| super::parse_unknown_field(&e.to_string()))
        .map(|(_, expected)| expected)
        .unwrap_or_default()
}
