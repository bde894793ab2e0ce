//! kustomize builds as findings: every kustomization under the given
//! directories (a Component aside: it is built only by the kustomization
//! that lists it) is built as Flux builds it, load restrictions off inside
//! the tree, and a build that fails is an error at its kustomization file.
//! The seed 004 trap gets a hint: an overlay patch that names the namespace
//! only the overlay's own `namespace:` sets matches nothing, because
//! kustomize applies patches before it renames.

use std::path::{Path, PathBuf};

use ferroflux_api::manifest::{Finding, Severity};
use ferroflux_api::tree;
use ferroflux_kustomize::{DiskFs, LoadRestrictor, Options};

/// kustomization files one validate builds at most (a repository of
/// thousands of overlays is checked in part, and says so).
pub(crate) const MAX_BUILDS: usize = 500;

const NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

pub(crate) fn check_paths(paths: &[PathBuf], out: &mut Vec<Finding>) {
    for root in paths {
        if !root.is_dir() {
            continue;
        }
        let Ok(real_root) = tree::real_root(root) else {
            continue;
        };
        let mut files = Vec::new();
        find(root, &mut files);
        let Ok(fs) = DiskFs::new(&real_root) else {
            continue;
        };
        if files.len() > MAX_BUILDS {
            out.push(Finding {
                file: files[MAX_BUILDS].clone(),
                line: 1,
                object: None,
                severity: Severity::Warning,
                message: format!(
                    "only the first {MAX_BUILDS} of {} kustomizations were built",
                    files.len()
                ),
            });
        }
        for file in files.iter().take(MAX_BUILDS) {
            check_one(&fs, file, out);
        }
    }
}

fn find(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut children: Vec<_> = entries
        .flatten()
        .filter_map(|e| Some((e.path(), e.file_type().ok()?)))
        .collect();
    children.sort_by(|a, b| a.0.cmp(&b.0));
    // One kustomization file per directory, in kustomize's order of names.
    if let Some(k) = NAMES
        .iter()
        .map(|n| dir.join(n))
        .find(|p| children.iter().any(|(c, t)| c == p && t.is_file()))
    {
        out.push(k);
    }
    for (child, file_type) in children {
        let hidden = child
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        // Linked directories are not followed (the loader reports links).
        if file_type.is_dir() && !hidden {
            find(&child, out);
        }
    }
}

fn check_one(fs: &DiskFs, file: &Path, out: &mut Vec<Finding>) {
    let Ok(Some(bytes)) = tree::read_bounded(file, ferroflux_api::yaml::MAX_STREAM_BYTES) else {
        return;
    };
    let text = String::from_utf8_lossy(&bytes);
    if is_component(&text) {
        return;
    }
    let Some(dir) = file.parent() else {
        return;
    };
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let opts = Options {
        load_restrictor: LoadRestrictor::None,
        ..Options::default()
    };
    let Err(e) = ferroflux_kustomize::build_yaml(fs, &dir, &opts) else {
        return;
    };
    let (line, unsupported) = match &e {
        ferroflux_kustomize::Error::At { file: f, line, .. }
            if Path::new(f) == dir.join(file_name(file)) =>
        {
            (*line, false)
        }
        ferroflux_kustomize::Error::NotSupported { .. } => (1, true),
        _ => (1, false),
    };
    let (severity, mut message) = if unsupported {
        (
            Severity::Warning,
            format!("ferroflux cannot build this kustomization yet: {e}"),
        )
    } else {
        (Severity::Error, format!("kustomize build fails: {e}"))
    };
    if let Some(hint) = hint(&e.to_string(), &text) {
        message.push_str("; hint: ");
        message.push_str(&hint);
    }
    out.push(Finding {
        file: file.to_path_buf(),
        line,
        object: None,
        severity,
        message,
    });
}

fn file_name(p: &Path) -> &std::ffi::OsStr {
    p.file_name().unwrap_or_default()
}

/// `kind: Component` at the top level of the file.
fn is_component(text: &str) -> bool {
    text.lines().any(|l| l.trim_end() == "kind: Component")
}

/// The top-level `namespace:` of a kustomization file, if it sets one.
fn own_namespace(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let v = l.strip_prefix("namespace:")?.trim();
        let v = v.trim_matches(|c| c == '"' || c == '\'');
        (!v.is_empty()).then(|| v.to_string())
    })
}

/// What to do about a patch that matches nothing (seed 004).
fn hint(error: &str, kustomization: &str) -> Option<String> {
    // The engine's own hint (a patch naming the overlay's namespace) is
    // more precise: keep it alone.
    if error.contains("hint:") {
        return None;
    }
    if !error.contains("no resource matches") && !error.contains("no matches for") {
        return None;
    }
    Some(match own_namespace(kustomization) {
        Some(ns) => format!(
            "kustomize applies patches before this kustomization's `namespace: {ns}`, so a \
             patch must name the resource as its bases define it; remove `metadata.namespace: \
             {ns}` from the patch (the overlay's `namespace:` still moves the result)"
        ),
        None => "a patch must name the resource (kind, name, namespace) as the bases define it, \
                 before this kustomization's namePrefix/nameSuffix apply"
            .to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hint_names_the_overlay_namespace() {
        let k = "resources:\n- ../base\npatches:\n- path: p.yaml\nnamespace: blog\n";
        let h = hint(
            "no resource matches strategic merge patch \"Deployment.v1.apps/blog.blog\"",
            k,
        )
        .expect("a hint");
        assert!(h.contains("`namespace: blog`"), "{h}");
        assert!(h.contains("remove `metadata.namespace: blog`"), "{h}");
        assert_eq!(hint("accumulating resources: missing file", k), None);
        assert_eq!(hint("no resource matches x; hint: drop it", k), None);
        let h = hint(
            "no resource matches strategic merge patch",
            "resources: []\n",
        )
        .unwrap();
        assert!(h.contains("namePrefix"), "{h}");
    }

    #[test]
    fn components_and_namespaces_are_read_from_the_top_level() {
        assert!(is_component(
            "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
        ));
        assert!(!is_component("kind: Kustomization\n"));
        assert_eq!(
            own_namespace("namespace: 'prod'\n").as_deref(),
            Some("prod")
        );
        assert_eq!(own_namespace("  namespace: nested\n"), None);
    }
}
