//! `spec.decryption: {provider: sops}` as kustomize-controller's decryptor
//! does it, with `ferroflux-sops` in place of sops: keys from the
//! decryption Secret (`*.agekey`, `*.asc`; the Vault and cloud KMS entries
//! answered "not supported"), the `secretGenerator` files and envs and the
//! patch files decrypted before the build (`DecryptSources`), every built
//! resource after it (`DecryptResource`). The MAC is not checked, as Flux
//! does not check it. Plaintext stays in memory: generator inputs reach the
//! build through an overlay file system, never a file on disk, and no error
//! quotes a value.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ferroflux_api::kustomize::Kustomization;
use ferroflux_kustomize::flux::ResourceHook;
use ferroflux_kustomize::fs::{FileSystem, FsError, normalize};
use ferroflux_kustomize::value::{Map, Value as KValue};
use ferroflux_sops::{Format, Keys, Options};
use serde_json::Value;

use crate::kind::SecretSource;

/// Secret entries naming key sources ferroflux does not speak.
const UNSUPPORTED_ENTRIES: [(&str, &str); 4] = [
    ("sops.vault-token", "HashiCorp Vault"),
    ("sops.aws-kms", "AWS KMS"),
    ("sops.azure-kv", "Azure Key Vault"),
    ("sops.gcp-kms", "GCP KMS"),
];

/// The keys of a Kustomization's decryption Secret.
#[derive(Clone)]
pub struct DecryptionKeys {
    pub keys: Arc<Keys>,
    /// Entries of the Secret that name unsupported key sources.
    pub unsupported: Vec<String>,
}

impl std::fmt::Debug for DecryptionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecryptionKeys")
            .field("keys", &self.keys)
            .field("unsupported", &self.unsupported)
            .finish()
    }
}

impl DecryptionKeys {
    /// A decryption error with a word on the Secret's unsupported entries
    /// when those might have been meant to decrypt it.
    fn explain(&self, message: String) -> String {
        if self.unsupported.is_empty() || !message.contains("data key") {
            return message;
        }
        format!(
            "{message}; the decryption Secret's {} entries are not supported by ferroflux \
             (use an age `.agekey` or PGP `.asc` key)",
            self.unsupported.join(", ")
        )
    }
}

/// `ImportKeys`: `None` without `spec.decryption`; the Secret's keys
/// otherwise. Errors have Flux's words.
pub fn import_keys(
    ks: &Kustomization,
    secrets: &dyn SecretSource,
) -> Result<Option<DecryptionKeys>, String> {
    let Some(decryption) = &ks.spec.decryption else {
        return Ok(None);
    };
    if decryption.service_account_name.is_some() {
        // Workload identity reaches cloud KMS only, which ferroflux lacks;
        // Flux says the same without its feature gate.
        return Err("to use spec.decryption.serviceAccountName for decryption authentication \
                    please enable the ObjectLevelWorkloadIdentity feature gate in the controller \
                    (ferroflux has no cloud KMS: use an age or PGP key in spec.decryption.secretRef)"
            .to_string());
    }
    let mut keys = Keys::new();
    let mut unsupported = Vec::new();
    let Some(secret_ref) = &decryption.secret_ref else {
        return Ok(Some(DecryptionKeys {
            keys: Arc::new(keys),
            unsupported,
        }));
    };
    let ns = ks.metadata.namespace.as_deref().unwrap_or_default();
    let name = &secret_ref.name;
    let data = secrets.secret(ns, name).map_err(|e| {
        if e.contains("not found") {
            format!("secrets \"{name}\" not found")
        } else {
            format!("cannot get sops decryption Secret '{ns}/{name}': {e}")
        }
    })?;
    let import_err = |entry: &str, e: String| {
        format!("failed to import '{entry}' data from sops decryption Secret '{ns}/{name}': {e}")
    };
    for (entry, value) in data {
        match Path::new(entry).extension().and_then(|e| e.to_str()) {
            Some("agekey") => {
                let text = std::str::from_utf8(value)
                    .map_err(|_| import_err(entry, "not UTF-8 text".into()))?;
                keys.add_age_identities(text)
                    .map_err(|e| import_err(entry, e.to_string()))?;
            }
            Some("asc") => {
                keys.add_pgp_armored(value)
                    .map_err(|e| import_err(entry, e.to_string()))?;
            }
            _ => {
                if let Some((_, kind)) = UNSUPPORTED_ENTRIES.iter().find(|(n, _)| n == entry) {
                    unsupported.push(format!("'{entry}' ({kind})"));
                }
            }
        }
    }
    if keys.is_empty() && !unsupported.is_empty() {
        return Err(format!(
            "sops decryption Secret '{ns}/{name}': {} not supported by ferroflux; add an age \
             identity (an entry ending in .agekey) or an armored PGP key (.asc)",
            unsupported.join(", ")
        ));
    }
    Ok(Some(DecryptionKeys {
        keys: Arc::new(keys),
        unsupported,
    }))
}

const KUSTOMIZATION_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// `DecryptSources`: the `secretGenerator` files and envs and the patch
/// files of every kustomization reachable from `dir` (through local
/// `resources` and `components` directories) that carry SOPS markers,
/// decrypted in memory, by normalized path. `root` is the artifact root
/// that every file must stay in (the file system refuses the rest).
pub fn decrypt_sources(
    fs: &dyn FileSystem,
    root: &Path,
    dir: &Path,
    ks: &Kustomization,
    keys: &DecryptionKeys,
) -> Result<BTreeMap<PathBuf, Vec<u8>>, String> {
    let shown = |p: &Path| {
        p.strip_prefix(root)
            .map(|r| r.display().to_string())
            .unwrap_or_else(|_| p.display().to_string())
    };
    let mut out = BTreeMap::new();
    let mut visited_dirs = BTreeSet::new();
    let mut visited_files = BTreeSet::new();
    let mut pending = vec![normalize(dir)];
    let mut first = true;
    while let Some(d) = pending.pop() {
        if !visited_dirs.insert(d.clone()) {
            continue;
        }
        let found: Vec<PathBuf> = KUSTOMIZATION_NAMES
            .iter()
            .map(|n| d.join(n))
            .filter(|p| fs.is_file(p))
            .collect();
        if found.len() > 1 {
            return Err(format!(
                "error decrypting sources: found multiple kustomization files in {}",
                shown(&d)
            ));
        }
        let Some(file) = found.first() else {
            // kustomize's own error for a directory without one is clearer.
            continue;
        };
        let bytes = fs
            .read(file)
            .map_err(|e| format!("error decrypting sources: {}", strip(&e, root)))?;
        let text = String::from_utf8_lossy(&bytes);
        let doc = ferroflux_api::yaml::parse_stream(&text)
            .ok()
            .and_then(|docs| docs.into_iter().find_map(|d| d.node))
            .map(|n| n.to_json())
            .unwrap_or(Value::Null);
        let mut refs: Vec<(String, Format)> = Vec::new();
        for generator in doc["secretGenerator"].as_array().into_iter().flatten() {
            for f in generator["files"].as_array().into_iter().flatten() {
                let Some(f) = f.as_str() else { continue };
                let (key, path) = f.split_once('=').unwrap_or((f, f));
                refs.push((path.to_string(), Format::for_flux_path(key)));
            }
            for e in generator["envs"].as_array().into_iter().flatten() {
                let Some(e) = e.as_str() else { continue };
                let format = match Format::for_flux_path(e) {
                    Format::Binary => Format::Dotenv,
                    f => f,
                };
                refs.push((e.to_string(), format));
            }
        }
        for patch in doc["patches"].as_array().into_iter().flatten() {
            let Some(p) = patch["path"].as_str().filter(|p| !p.is_empty()) else {
                continue;
            };
            if p.contains("://") {
                continue;
            }
            refs.push((p.to_string(), Format::for_flux_path(p)));
        }
        for (path, format) in refs {
            let full = normalize(&d.join(&path));
            if !visited_files.insert(full.clone()) {
                continue;
            }
            let data = fs
                .read(&full)
                .map_err(|e| format!("error decrypting sources: {}", strip(&e, root)))?;
            if data.len() > ferroflux_sops::MAX_FILE_BYTES {
                return Err(format!(
                    "error decrypting sources: {}: cannot decrypt file with size ({} bytes) \
                     exceeding limit ({})",
                    shown(&full),
                    data.len(),
                    ferroflux_sops::MAX_FILE_BYTES
                ));
            }
            if !data
                .windows(format.marker().len())
                .any(|w| w == format.marker())
            {
                continue;
            }
            let plain =
                ferroflux_sops::decrypt(&data, format, format, &keys.keys, &Options::flux())
                    .map_err(|e| {
                        keys.explain(format!("error decrypting sources: {}: {e}", shown(&full)))
                    })?;
            out.insert(full, plain);
        }
        let mut dirs: Vec<&Value> = doc["resources"].as_array().into_iter().flatten().collect();
        dirs.extend(doc["components"].as_array().into_iter().flatten());
        let spec_components: Vec<Value> = if first {
            ks.spec
                .components
                .iter()
                .map(|c| Value::String(c.clone()))
                .collect()
        } else {
            Vec::new()
        };
        first = false;
        for r in dirs.into_iter().chain(spec_components.iter()) {
            let Some(r) = r.as_str() else { continue };
            if r.contains("://") {
                continue;
            }
            let sub = normalize(&d.join(r));
            if sub.starts_with(root) && fs.is_dir(&sub) {
                pending.push(sub);
            }
        }
    }
    Ok(out)
}

/// A file system error with the artifact's temp root taken out.
fn strip(e: &FsError, root: &Path) -> String {
    e.to_string().replace(&format!("{}/", root.display()), "")
}

/// The build's file system with the decrypted generator inputs in place of
/// their encrypted files (kept in memory only).
pub struct Decrypted<'a> {
    pub inner: &'a dyn FileSystem,
    pub files: BTreeMap<PathBuf, Vec<u8>>,
}

impl FileSystem for Decrypted<'_> {
    fn read(&self, path: &Path) -> Result<Vec<u8>, FsError> {
        match self.files.get(&normalize(path)) {
            Some(bytes) => Ok(bytes.clone()),
            None => self.inner.read(path),
        }
    }
    fn is_dir(&self, path: &Path) -> bool {
        self.inner.is_dir(path)
    }
    fn is_file(&self, path: &Path) -> bool {
        self.inner.is_file(path)
    }
    fn list_dir(&self, path: &Path) -> Result<Vec<String>, FsError> {
        self.inner.list_dir(path)
    }
    fn real_path(&self, path: &Path) -> Result<PathBuf, FsError> {
        self.inner.real_path(path)
    }
}

/// `DecryptResource` as a build hook: a resource with a `sops` block whose
/// `mac` is set is decrypted whole (JSON in, JSON out); otherwise a
/// Secret's `data` entries holding SOPS documents are decrypted one by one
/// into the format their key names. The decrypt-disabled annotation skips
/// both.
pub fn resource_hook(keys: DecryptionKeys) -> ResourceHook {
    ResourceHook(Arc::new(move |res: &mut KValue| {
        decrypt_resource(res, &keys)
    }))
}

fn decrypt_resource(res: &mut KValue, keys: &DecryptionKeys) -> Result<(), String> {
    let json = to_json(res);
    let disabled = json["metadata"]["annotations"]["kustomize.toolkit.fluxcd.io/decrypt"]
        .as_str()
        .is_some_and(|v| v.eq_ignore_ascii_case("disabled"));
    if disabled {
        return Ok(());
    }
    let kind = json["kind"].as_str().unwrap_or_default().to_string();
    let name = json["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let ns = json["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (group, version) = match json["apiVersion"].as_str().unwrap_or_default() {
        av if av.contains('/') => av.split_once('/').unwrap_or((av, "")),
        av => ("", av),
    };
    let gvk = format!(
        "{kind}.{version}.{}",
        if group.is_empty() { "[noGrp]" } else { group }
    );
    let failed = |what: String, e: ferroflux_sops::Error| {
        keys.explain(format!(
            "decryption failed for '{gvk}/{name}': failed to decrypt and format '{ns}/{name}' \
             {what}: {e}"
        ))
    };
    let sops_mac = json["sops"]["mac"].as_str().is_some_and(|m| !m.is_empty());
    if sops_mac {
        let bytes = serde_json::to_vec(&json).map_err(|e| e.to_string())?;
        let out = ferroflux_sops::decrypt(
            &bytes,
            Format::Json,
            Format::Json,
            &keys.keys,
            &Options::flux(),
        )
        .map_err(|e| failed(format!("{kind} data"), e))?;
        let decrypted: Value = serde_json::from_slice(&out).map_err(|e| {
            format!("failed to unmarshal decrypted '{ns}/{name}' {kind} to JSON: {e}")
        })?;
        *res = from_json(&decrypted);
        return Ok(());
    }
    if kind != "Secret" {
        return Ok(());
    }
    let KValue::Map(top) = res else {
        return Ok(());
    };
    let Some(KValue::Map(data)) = top.get_mut("data") else {
        return Ok(());
    };
    for (key, value) in data.0.iter_mut() {
        let KValue::Str(encoded) = value else {
            continue;
        };
        // Not base64: left for the apply to report, as Flux does.
        let Ok(bytes) = STANDARD.decode(encoded.as_bytes()) else {
            continue;
        };
        let Some(input) = Format::detect(&bytes) else {
            continue;
        };
        let output = Format::for_flux_path(key);
        let out = ferroflux_sops::decrypt(&bytes, input, output, &keys.keys, &Options::flux())
            .map_err(|e| failed(format!("Secret field '{key}'"), e))?;
        *value = KValue::Str(STANDARD.encode(out));
    }
    Ok(())
}

/// A built resource as JSON (what `res.MarshalJSON` gives Flux).
fn to_json(v: &KValue) -> Value {
    match v {
        KValue::Null => Value::Null,
        KValue::Bool(b) => Value::Bool(*b),
        KValue::Int(i) => Value::from(*i),
        KValue::Uint(u) => Value::from(*u),
        KValue::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        KValue::Str(s) | KValue::Timestamp(s) => Value::String(s.clone()),
        KValue::Spelled(_) => to_json(&v.resolved()),
        KValue::Seq(items) => Value::Array(items.iter().map(to_json).collect()),
        KValue::Map(m) => Value::Object(m.0.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
    }
}

fn from_json(v: &Value) -> KValue {
    match v {
        Value::Null => KValue::Null,
        Value::Bool(b) => KValue::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => KValue::Int(i),
            (None, Some(u), _) => KValue::Uint(u),
            (_, _, Some(f)) => KValue::Float(f),
            _ => KValue::Null,
        },
        Value::String(s) => KValue::Str(s.clone()),
        Value::Array(items) => KValue::Seq(items.iter().map(from_json).collect()),
        Value::Object(m) => KValue::Map(Map(m
            .iter()
            .map(|(k, v)| (k.clone(), from_json(v)))
            .collect())),
    }
}

#[cfg(test)]
mod tests;
