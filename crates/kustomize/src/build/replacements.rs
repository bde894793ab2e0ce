//! `replacements` of a kustomization: inline entries and `path:` files
//! (read under the load restrictor), configured as the last built-in
//! transformer.

use super::{Builder, Place};
use crate::error::Error;
use crate::origin;
use crate::transform::replacement::{self, Entry};
use crate::transform::{Configured, Step};

/// Bytes a replacement file may have.
pub const MAX_FILE: usize = 4 << 20;

impl Builder<'_> {
    /// The replacement step of `at.k`, if it has replacements.
    pub(super) fn replacements(&mut self, at: &Place) -> Result<Vec<Configured>, Error> {
        let k = at.k;
        if k.replacements.is_empty() {
            return Ok(Vec::new());
        }
        let kfile = k.file.display().to_string();
        let mut list = Vec::new();
        for entry in &k.replacements {
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
}
