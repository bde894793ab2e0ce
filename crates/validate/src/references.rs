//! References that miss by a namespace: the object exists, but elsewhere.
//! Seed 001's HelmRelease in `database` points at HelmRepository `bitnami`
//! without a namespace, so Flux looks in `database`, while the repository is
//! in `flux-system`. A reference to an object that is not in the repository at
//! all is not reported: it may live in another repository or the cluster.

use ferroflux_api::manifest::{Finding, Manifest, Object, Severity};

use crate::at;

struct Reference<'a> {
    path: &'static str,
    kind: &'a str,
    name: &'a str,
    namespace: Option<&'a str>,
    /// A `LocalObjectReference` (an Alert's `providerRef`): no namespace
    /// can be set, the object must live beside its reader.
    local: bool,
}

pub(crate) fn check(manifests: &[Manifest], out: &mut Vec<Finding>) {
    for m in manifests {
        for r in references(m) {
            let own_ns = m.namespace.as_deref().unwrap_or("default");
            let ns = r.namespace.unwrap_or(own_ns);
            let same = |o: &&Manifest| o.kind == r.kind && o.name == r.name;
            let found = manifests
                .iter()
                .filter(same)
                .any(|o| o.namespace.as_deref().unwrap_or("default") == ns);
            if found {
                continue;
            }
            let elsewhere: Vec<&str> = manifests
                .iter()
                .filter(same)
                .filter_map(|o| o.namespace.as_deref())
                .collect();
            if let Some(other) = elsewhere.first()
                && r.local
            {
                out.push(at(
                    m,
                    &format!("{}.name", r.path),
                    Severity::Warning,
                    format!(
                        "{path} refers to {kind} {name}, which is looked up in the {reader}'s own \
                         namespace {ns}, but {kind} {name} is defined in namespace {other}; \
                         {path} has no namespace: put the {reader} and the {kind} in one namespace",
                        path = r.path,
                        kind = r.kind,
                        name = r.name,
                        reader = m.kind,
                    ),
                ));
            } else if let Some(other) = elsewhere.first() {
                let how = if r.namespace.is_none() {
                    format!("it has no namespace, so it resolves to {ns}/{}", r.name)
                } else {
                    format!("it names {ns}/{}", r.name)
                };
                out.push(at(
                    m,
                    r.path,
                    Severity::Warning,
                    format!(
                        "{path} refers to {kind} {name}: {how}, but {kind} {name} is defined in \
                         namespace {other}; set {path}.namespace: {other}",
                        path = r.path,
                        kind = r.kind,
                        name = r.name,
                    ),
                ));
            }
        }
    }
}

fn references(m: &Manifest) -> Vec<Reference<'_>> {
    match &m.object {
        Object::ImagePolicy(p) => vec![Reference {
            path: "spec.imageRepositoryRef",
            kind: "ImageRepository",
            name: &p.spec.image_repository_ref.name,
            namespace: p.spec.image_repository_ref.namespace.as_deref(),
            local: false,
        }],
        Object::Alert(a) => vec![Reference {
            path: "spec.providerRef",
            kind: "Provider",
            name: &a.spec.provider_ref.name,
            namespace: None,
            local: true,
        }],
        Object::ImageUpdateAutomation(a) => vec![Reference {
            path: "spec.sourceRef",
            kind: &a.spec.source_ref.kind,
            name: &a.spec.source_ref.name,
            namespace: a.spec.source_ref.namespace.as_deref(),
            local: false,
        }],
        Object::HelmRelease(h) => h
            .spec
            .chart
            .iter()
            .map(|c| Reference {
                path: "spec.chart.spec.sourceRef",
                kind: &c.spec.source_ref.kind,
                name: &c.spec.source_ref.name,
                namespace: c.spec.source_ref.namespace.as_deref(),
                local: false,
            })
            .collect(),
        Object::Kustomization(k) => vec![Reference {
            path: "spec.sourceRef",
            kind: match k.spec.source_ref.kind {
                ferroflux_api::kustomize::KustomizationSourceKind::GitRepository => "GitRepository",
                ferroflux_api::kustomize::KustomizationSourceKind::OCIRepository => "OCIRepository",
                ferroflux_api::kustomize::KustomizationSourceKind::Bucket => "Bucket",
                ferroflux_api::kustomize::KustomizationSourceKind::ExternalArtifact => {
                    "ExternalArtifact"
                }
            },
            name: &k.spec.source_ref.name,
            namespace: k.spec.source_ref.namespace.as_deref(),
            local: false,
        }],
        _ => Vec::new(),
    }
}
