//! `components`: kustomizations of `kind: Component` applied to what the
//! kustomization listing them accumulated so far (its resources and
//! generated resources, its field specs and vars), after those and before
//! its own transformers. A component may have resources, generators,
//! transformers and components of its own; its changes stay in the
//! accumulation (kustomize's `accumulateComponents`).

use std::path::Path;

use super::{Builder, Rules, is_remote};
use crate::error::Error;
use crate::fs::normalize;
use crate::kustomization::Kustomization;
use crate::origin;
use crate::resource::Resource;

/// kustomize's kind rules: a component must be `kind: Component`, and a
/// `Component` may not be a resource (it may be built on its own).
pub(super) fn check_kind(
    k: &Kustomization,
    dir: &Path,
    as_base: bool,
    as_component: bool,
) -> Result<(), Error> {
    let kind = if k.kind.is_empty() {
        "Kustomization"
    } else {
        &k.kind
    };
    let file = k.file.display();
    if as_component && kind != "Component" {
        return Err(Error::Build(format!(
            "{file}: expected kind 'Component' for path '{}' but got '{kind}' (a kustomization \
             listed in `components` must be a Component)",
            dir.display()
        )));
    }
    if !as_component && as_base && kind == "Component" {
        return Err(Error::Build(format!(
            "{file}: expected kind != 'Component' for path '{}' (a Component is listed in \
             `components`, not in `resources`)",
            dir.display()
        )));
    }
    Ok(())
}

impl Builder<'_> {
    /// Apply the components of `k` (in `dir`) to its accumulation.
    pub(super) fn components(
        &mut self,
        k: &Kustomization,
        dir: &Path,
        origin: Option<&str>,
        resources: Vec<Resource>,
        rules: Rules,
    ) -> Result<(Vec<Resource>, Rules), Error> {
        if k.components.is_empty() {
            return Ok((resources, rules));
        }
        let kfile = k.file.display().to_string();
        let real = self
            .fs
            .real_path(dir)
            .map_err(|e| Error::Build(format!("{kfile}: {e}")))?;
        self.stack.push(real);
        let result = self.each_component(k, dir, origin, resources, rules);
        self.stack.pop();
        result.map_err(|e| e.prefixed("accumulating components"))
    }

    fn each_component(
        &mut self,
        k: &Kustomization,
        dir: &Path,
        origin: Option<&str>,
        mut resources: Vec<Resource>,
        mut rules: Rules,
    ) -> Result<(Vec<Resource>, Rules), Error> {
        let kfile = k.file.display().to_string();
        for entry in &k.components {
            if is_remote(entry) {
                return Err(Error::Refused {
                    file: kfile,
                    what: "a remote component (no network access)",
                    entry: entry.to_string(),
                });
            }
            let path = normalize(&dir.join(entry));
            if !self.fs.is_dir(&path) {
                return Err(Error::Build(format!(
                    "{kfile}: component '{entry}': '{}' is not a directory with a \
                     kustomization (components are always directories)",
                    path.display()
                )));
            }
            let real = self
                .fs
                .real_path(&path)
                .map_err(|e| Error::Build(format!("{kfile}: component '{entry}': {e}")))?;
            if let Some(visited) = self.stack.iter().find(|v| v.starts_with(&real)) {
                return Err(Error::Build(format!(
                    "{kfile}: cycle detected: candidate root '{}' contains visited root '{}'",
                    real.display(),
                    visited.display()
                )));
            }
            let base = origin::join(origin.unwrap_or(""), entry);
            let (_, r, ru) = self.target(&path, Some(base), Some((resources, rules)))?;
            resources = r;
            rules = ru;
        }
        Ok((resources, rules))
    }
}
