//! A SOPS-encrypted Secret under a Kustomization's path whose Kustomization
//! has no `spec.decryption`: kustomize-controller refuses to apply it
//! (`Secret/<ns>/<name> is SOPS encrypted, configuring decryption is
//! required for this secret to be reconciled`), so say so before a push.

use std::path::{Component, Path};

use ferroflux_api::manifest::{Finding, Manifest, Object, Severity};

use crate::at;

/// The components of a Kustomization's `spec.path` (`./apps/prod/` →
/// `apps`, `prod`); empty for the repository root.
fn components(path: &str) -> Vec<String> {
    Path::new(path)
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect()
}

/// Whether `file` lies under a directory whose trailing components are
/// `path` (the repository root is not known here, so any depth matches).
fn covers(path: &[String], file: &Path) -> bool {
    if path.is_empty() {
        return true;
    }
    let dir: Vec<String> = file
        .parent()
        .map(|p| {
            p.components()
                .filter_map(|c| match c {
                    Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    dir.windows(path.len()).any(|w| w == path)
}

/// Whether a Secret carries SOPS metadata (a top-level `sops` map with a
/// `mac`), as Flux's decryptor tells.
fn is_sops_secret(m: &Manifest) -> bool {
    m.kind == "Secret"
        && m.api_version == "v1"
        && m.node
            .get("sops")
            .and_then(|s| s.get("mac"))
            .and_then(|n| n.as_str())
            .is_some_and(|mac| !mac.is_empty())
}

fn decrypt_disabled(m: &Manifest) -> bool {
    m.node
        .at("metadata.annotations")
        .and_then(|a| a.get("kustomize.toolkit.fluxcd.io/decrypt"))
        .and_then(|n| n.as_str())
        .is_some_and(|v| v.eq_ignore_ascii_case("disabled"))
}

pub(crate) fn check(manifests: &[Manifest], out: &mut Vec<Finding>) {
    let kustomizations: Vec<(&Manifest, Vec<String>, bool)> = manifests
        .iter()
        .filter_map(|m| match &m.object {
            Object::Kustomization(k) => Some((
                m,
                components(k.spec.path.as_deref().unwrap_or("")),
                k.spec.decryption.is_some(),
            )),
            _ => None,
        })
        .collect();
    for secret in manifests
        .iter()
        .filter(|m| is_sops_secret(m) && !decrypt_disabled(m))
    {
        let covering: Vec<&(&Manifest, Vec<String>, bool)> = kustomizations
            .iter()
            .filter(|(_, path, _)| covers(path, &secret.file))
            .collect();
        if covering.is_empty() || covering.iter().any(|(_, _, decrypts)| *decrypts) {
            continue;
        }
        // The Kustomization with the longest path is the one that applies it.
        let Some((ks, path, _)) = covering.iter().max_by_key(|(_, p, _)| p.len()) else {
            continue;
        };
        let ns = ks.namespace.as_deref().unwrap_or("default");
        let message = format!(
            "Secret {name} is SOPS-encrypted but Kustomization {ns}/{ks_name} (path ./{path}, \
             {file}:{line}) has no spec.decryption: kustomize-controller will refuse to apply it \
             (\"is SOPS encrypted, configuring decryption is required for this secret to be \
             reconciled\"); add `decryption: {{provider: sops, secretRef: {{name: sops-age}}}}` \
             to the Kustomization, with the age key in that Secret's `*.agekey` entry",
            name = secret.name,
            ks_name = ks.name,
            path = path.join("/"),
            file = ks.file.display(),
            line = ks.line,
        );
        out.push(at(secret, "sops", Severity::Warning, message));
    }
}
