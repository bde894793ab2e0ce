//! `replacements` of a kustomization, and `ReplacementTransformer` configs
//! in `transformers`: inline entries and `path:` files (read under the load
//! restrictor), configured as a transformer step.

use super::{Builder, Place};
use crate::error::Error;
use crate::origin;
use crate::resource::Resource;
use crate::transform::replacement::{self, Entry, Replacement};
use crate::transform::{Configured, Step};
use crate::value::Value;

/// Bytes a replacement file may have.
pub const MAX_FILE: usize = 4 << 20;

impl Builder<'_> {
    /// The replacement step of `at.k`, if it has replacements (the last
    /// built-in transformer, before the configured ones).
    pub(super) fn replacements(&mut self, at: &Place) -> Result<Vec<Configured>, Error> {
        let k = at.k;
        if k.replacements.is_empty() {
            return Ok(Vec::new());
        }
        let list = self.load_replacements(at, &k.replacements)?;
        let kfile_name = k
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let by = at.origin.map(|o| {
            origin::Configured::builtin(&origin::join(o, &kfile_name), "ReplacementTransformer")
        });
        Ok(vec![(Step::Replacements(list), by)])
    }

    /// A `builtin` `ReplacementTransformer` in `transformers`, as a step;
    /// `None` for any other config.
    pub(super) fn configured_replacements(
        &mut self,
        at: &Place,
        r: &Resource,
    ) -> Result<Option<Step>, Error> {
        let gvk = r.gvk();
        if !(gvk.group.is_empty()
            && gvk.version == "builtin"
            && gvk.kind == "ReplacementTransformer")
        {
            return Ok(None);
        }
        let kfile = at.k.file.display().to_string();
        let name = r.name();
        let field = r.map().and_then(|m| crate::decode::get(m, "replacements"));
        let entries = match field {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => replacement::config_entries(v, &|i| {
                format!("{} (ReplacementTransformer {name}, entry {i})", r.source)
            })
            .map_err(|e| {
                Error::Build(format!(
                    "{kfile}: `transformers`: builtin ReplacementTransformer {name}: {e}"
                ))
            })?,
        };
        Ok(Some(Step::Replacements(
            self.load_replacements(at, &entries)?,
        )))
    }

    fn load_replacements(
        &mut self,
        at: &Place,
        entries: &[Entry],
    ) -> Result<Vec<Replacement>, Error> {
        let k = at.k;
        let kfile = k.file.display().to_string();
        let mut list = Vec::new();
        for entry in entries {
            match entry {
                Entry::Inline(r) => list.push((**r).clone()),
                Entry::Path(p) => {
                    let path = self.restricted_file(k, at.dir, at.real_dir, p)?;
                    let bytes = self
                        .fs
                        .read(&path)
                        .map_err(|e| Error::Build(format!("{kfile}: replacements: {e}")))?;
                    if bytes.len() > MAX_FILE {
                        return Err(Error::Build(format!(
                            "{kfile}: replacements: '{}' is larger than {MAX_FILE} bytes",
                            path.display()
                        )));
                    }
                    let text = String::from_utf8(bytes).map_err(|_| {
                        Error::Build(format!(
                            "{kfile}: replacements: '{}' is not UTF-8 text",
                            path.display()
                        ))
                    })?;
                    let more = replacement::from_file(&text, &path.display().to_string())
                        .map_err(|e| Error::Build(format!("{kfile}: replacements: {e}")))?;
                    list.extend(more);
                }
            }
            if list.len() > replacement::MAX_REPLACEMENTS {
                return Err(Error::Build(format!(
                    "{kfile}: more than {} replacements",
                    replacement::MAX_REPLACEMENTS
                )));
            }
        }
        Ok(list)
    }
}
