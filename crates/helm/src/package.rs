//! A chart written back as the `.tgz` `helm package` (Helm v4's
//! `chartutil.Save`) writes, and the HelmChart build steps of
//! source-controller that repackage a chart (helm-semantics.md §9.2):
//! `valuesFiles` merged into a new `values.yaml`, version metadata
//! (`+<12 hex>`, `+<generation>`).
//!
//! Layout, as `Save` writes it: one gzip member (header extra field
//! Helm's `headerBytes`, comment `Helm`, MTIME 0, OS 255) of a USTAR tar
//! (no directory entries, mode 0644, uid/gid 0, no user/group names),
//! per chart: `<name>/Chart.yaml` (the metadata re-marshalled by
//! sigs.k8s.io/yaml; v1 charts without `dependencies`), `Chart.lock`
//! (v2, re-marshalled, its time the lock's `generated`), the raw
//! `values.yaml`, `values.schema.json`, the templates and the other files
//! in load order, then each subchart under `<name>/charts/<subchart name>/`
//! (archived subcharts are written expanded, as Helm does). Every entry
//! carries the caller's `mtime` (Helm: each file's own); the deflate
//! stream is flate2's, not Go's `compress/flate`.

use serde_json::{Map, Value};

use crate::chart::{Chart, File, archive, load_files};

/// Why a chart could not be packaged or built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PackageError {
    pub message: String,
}

fn error(message: impl Into<String>) -> PackageError {
    PackageError {
        message: message.into(),
    }
}

/// A packaged chart: `<name>-<version>.tgz` and its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packaged {
    pub name: String,
    pub version: String,
    pub file_name: String,
    pub data: Vec<u8>,
}

/// Helm's `headerBytes`, the gzip header's extra field of every package.
const HEADER_EXTRA: &[u8] = b"rr\x28\x00aHR0cHM6Ly95b3V0dS5iZS96OVV6MWljandyTQo=";

/// `helm package` of a chart's files (names relative to the chart root,
/// as [`load_files`] takes them): the chart is loaded (and so validated)
/// first; `mtime` (Unix seconds) stamps every entry but `Chart.lock`.
pub fn package(files: Vec<File>, mtime: u64) -> Result<Packaged, PackageError> {
    package_with(files, mtime, None, None)
}

/// `helm package DIR`: the chart directory read as [`crate::chart::load_dir`]
/// reads it (`.helmignore` applied), then [`package`].
pub fn package_dir(
    fs: &dyn ferroflux_kustomize::fs::FileSystem,
    root: &std::path::Path,
    mtime: u64,
) -> Result<Packaged, PackageError> {
    let (files, v3) = crate::chart::dir_files(fs, root).map_err(|e| error(e.to_string()))?;
    if v3 {
        return Err(error("invalid chart apiVersion (Chart.yaml)"));
    }
    package(files, mtime)
}

/// [`package`] with the root chart's `values.yaml` bytes replaced and
/// its version set (what source-controller's build changes).
fn package_with(
    files: Vec<File>,
    mtime: u64,
    values: Option<Vec<u8>>,
    version: Option<String>,
) -> Result<Packaged, PackageError> {
    let mut chart = load_files(files.clone()).map_err(|e| error(e.to_string()))?;
    if let Some(v) = version {
        chart.metadata.version = v;
    }
    let name = chart.metadata.name.clone();
    let version = chart.metadata.version.clone();
    let mut tar = Vec::new();
    write_chart(&mut tar, &chart, files, "", mtime, values, 0)?;
    tar.extend_from_slice(&[0u8; 1024]);
    Ok(Packaged {
        file_name: format!("{name}-{version}.tgz"),
        name,
        version,
        data: gzip(&tar)?,
    })
}

fn write_chart(
    tar: &mut Vec<u8>,
    chart: &Chart,
    files: Vec<File>,
    prefix: &str,
    mtime: u64,
    values: Option<Vec<u8>>,
    depth: usize,
) -> Result<(), PackageError> {
    if depth > crate::chart::MAX_CHART_DEPTH {
        return Err(error("subcharts nest too deep"));
    }
    let md = &chart.metadata;
    if md.name.contains('/') || md.name == "." || md.name == ".." {
        return Err(error(format!("invalid chart name: {:?}", md.name)));
    }
    let base = if prefix.is_empty() {
        md.name.clone()
    } else {
        format!("{prefix}/{}", md.name)
    };
    let chart_yaml = yaml_of(&crate::repo::metadata_json(md, md.api_version != "v1"))?;
    entry(
        tar,
        &format!("{base}/Chart.yaml"),
        chart_yaml.as_bytes(),
        mtime,
    )?;
    let mut raw_values = None;
    let mut lock = None;
    let mut groups: std::collections::BTreeMap<String, Vec<File>> = Default::default();
    for f in files {
        match f.name.as_str() {
            "values.yaml" => raw_values = Some(f.data),
            "Chart.lock" => lock = Some(f.data),
            n if n.starts_with("charts/") && !n.ends_with(".prov") => {
                let rest = &n["charts/".len()..];
                let seg = rest.split('/').next().unwrap_or("").to_string();
                groups.entry(seg).or_default().push(File {
                    name: rest.to_string(),
                    data: f.data,
                });
            }
            _ => {}
        }
    }
    if md.api_version == "v2"
        && let Some(lock) = lock
    {
        let (yaml, generated) = lock_yaml(&lock)?;
        entry(
            tar,
            &format!("{base}/Chart.lock"),
            yaml.as_bytes(),
            generated.unwrap_or(mtime),
        )?;
    }
    if let Some(v) = values.or(raw_values) {
        entry(tar, &format!("{base}/values.yaml"), &v, mtime)?;
    }
    if let Some(schema) = &chart.schema {
        if serde_json::from_slice::<serde::de::IgnoredAny>(schema).is_err() {
            return Err(error("invalid JSON in values.schema.json"));
        }
        entry(tar, &format!("{base}/values.schema.json"), schema, mtime)?;
    }
    for f in chart.templates.iter().chain(&chart.files) {
        entry(tar, &format!("{base}/{}", f.name), &f.data, mtime)?;
    }
    // Subcharts: the raw groups in the order `load_files` loaded them.
    let mut subs = chart.dependencies.iter();
    for (seg, group) in groups {
        if seg.starts_with('_') || seg.starts_with('.') {
            continue;
        }
        let sub = subs
            .next()
            .ok_or_else(|| error(format!("subchart {seg} was not loaded")))?;
        let inner = if seg.ends_with(".tgz") {
            let data = group.into_iter().next().map(|f| f.data).unwrap_or_default();
            archive::load_archive_files(&data).map_err(error)?
        } else {
            group
                .into_iter()
                .filter_map(|f| {
                    let (_, rest) = f.name.split_once('/')?;
                    Some(File {
                        name: rest.to_string(),
                        data: f.data,
                    })
                })
                .collect()
        };
        write_chart(
            tar,
            sub,
            inner,
            &format!("{base}/charts"),
            mtime,
            None,
            depth + 1,
        )?;
    }
    Ok(())
}

/// sigs.k8s.io/yaml's `Marshal` of a value given as Go's JSON.
fn yaml_of(json: &str) -> Result<String, PackageError> {
    let v: Value = serde_json::from_str(json).map_err(|e| error(e.to_string()))?;
    crate::funcs::to_yaml(&v).map_err(error)
}

/// `yaml.Marshal(chart.Lock)` of a raw `Chart.lock`, and its `generated`
/// time in Unix seconds (rounded as Go's tar writer rounds).
fn lock_yaml(raw: &[u8]) -> Result<(String, Option<u64>), PackageError> {
    let v = crate::values::unmarshal(&String::from_utf8_lossy(raw))
        .map_err(|e| error(format!("cannot load Chart.lock: {}", e.message)))?;
    let m = v.as_object().cloned().unwrap_or_default();
    let generated = match m.get("generated").and_then(Value::as_str) {
        Some(s) => Some(
            crate::repo::GoTime::parse(s)
                .map_err(|e| error(format!("cannot load Chart.lock: {e}")))?,
        ),
        None => None,
    };
    let mut out = String::from("{");
    out.push_str("\"generated\":");
    ferroflux_api::gojson::quote_into(&generated.unwrap_or_default().rfc3339_nano(), &mut out);
    out.push_str(",\"digest\":");
    ferroflux_api::gojson::quote_into(
        m.get("digest").and_then(Value::as_str).unwrap_or(""),
        &mut out,
    );
    out.push_str(",\"dependencies\":");
    match m.get("dependencies").and_then(Value::as_array) {
        None => out.push_str("null"),
        Some(deps) => {
            out.push('[');
            for (i, d) in deps.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                crate::repo::dependency_json(&dependency_of(d), &mut out);
            }
            out.push(']');
        }
    }
    out.push('}');
    let secs = generated.map(|t| {
        let (s, n) = t.unix();
        let s = if n >= 500_000_000 { s + 1 } else { s };
        u64::try_from(s).unwrap_or(0)
    });
    Ok((yaml_of(&out)?, secs))
}

fn dependency_of(v: &Value) -> crate::chart::Dependency {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    crate::chart::Dependency {
        name: s("name"),
        version: s("version"),
        repository: s("repository"),
        condition: s("condition"),
        tags: v
            .get("tags")
            .and_then(Value::as_array)
            .map(|t| {
                t.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        enabled: v.get("enabled").and_then(Value::as_bool).unwrap_or(false),
        import_values: v
            .get("import-values")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        alias: s("alias"),
    }
}

/// Writes `value` as `width - 1` octal digits and a NUL, as Go's tar
/// writer formats numeric USTAR fields.
fn octal(field: &mut [u8], value: u64) {
    let n = field.len() - 1;
    let digits = format!("{value:0n$o}");
    field[..n].copy_from_slice(digits.as_bytes());
    field[n] = 0;
}

/// One regular-file entry, USTAR as Go's `archive/tar` writes it for
/// `helm package` (name split into prefix/name past 100 bytes).
fn entry(tar: &mut Vec<u8>, name: &str, data: &[u8], mtime: u64) -> Result<(), PackageError> {
    let mut h = [0u8; 512];
    let (prefix, short) = if name.len() <= 100 {
        ("", name)
    } else {
        let split = name
            .char_indices()
            .filter(|(i, c)| *c == '/' && *i <= 155 && name.len() - i - 1 <= 100 && *i > 0)
            .map(|(i, _)| i)
            .next()
            .ok_or_else(|| error(format!("file name too long to package: {name}")))?;
        (&name[..split], &name[split + 1..])
    };
    h[..short.len()].copy_from_slice(short.as_bytes());
    octal(&mut h[100..108], 0o644);
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    if data.len() as u64 >= 0o77777777777 || mtime >= 0o77777777777 {
        return Err(error(format!("file too large to package: {name}")));
    }
    octal(&mut h[124..136], data.len() as u64);
    octal(&mut h[136..148], mtime);
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    octal(&mut h[329..337], 0);
    octal(&mut h[337..345], 0);
    h[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
    h[148..156].fill(b' ');
    let sum: u64 = h.iter().map(|b| u64::from(*b)).sum();
    octal(&mut h[148..155], sum);
    h[155] = b' ';
    tar.extend_from_slice(&h);
    tar.extend_from_slice(data);
    let pad = (512 - data.len() % 512) % 512;
    tar.extend(std::iter::repeat_n(0u8, pad));
    Ok(())
}

/// Go's `gzip.Writer` with Helm's `Extra` and `Comment`, default level.
fn gzip(data: &[u8]) -> Result<Vec<u8>, PackageError> {
    use std::io::Write;
    let mut out = vec![0x1f, 0x8b, 0x08, 0x04 | 0x10, 0, 0, 0, 0, 0, 0xff];
    out.extend_from_slice(&(HEADER_EXTRA.len() as u16).to_le_bytes());
    out.extend_from_slice(HEADER_EXTRA);
    out.extend_from_slice(b"Helm\0");
    let mut enc = flate2::write::DeflateEncoder::new(out, flate2::Compression::default());
    enc.write_all(data).map_err(|e| error(e.to_string()))?;
    let mut out = enc.finish().map_err(|e| error(e.to_string()))?;
    let mut crc = flate2::Crc::new();
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    Ok(out)
}

/// source-controller's `BuildOptions.GetValuesFiles`: nothing to merge
/// when the list is empty or exactly `[values.yaml]`.
pub fn effective_values_files(values_files: &[String]) -> &[String] {
    if values_files.len() == 1
        && crate::chart::archive::go_path_clean(&values_files[0]) == "values.yaml"
    {
        return &[];
    }
    values_files
}

/// source-controller's `mergeChartValues`: the listed files (chart-relative;
/// `values.yaml` is the chart's loaded defaults) deep-merged in order.
/// Returns the merged values and the files that took part (missing ones
/// skipped when `ignore_missing`).
pub fn merge_values_files(
    chart: &Chart,
    paths: &[String],
    ignore_missing: bool,
) -> Result<(Map<String, Value>, Vec<String>), PackageError> {
    let mut merged = Map::new();
    let mut used = Vec::new();
    for p in paths {
        let clean = crate::chart::archive::go_path_clean(p);
        if clean == "values.yaml" {
            merged = crate::values::merge_maps(merged, chart.values.clone());
            used.push(p.clone());
            continue;
        }
        let Some(f) = chart.files.iter().find(|f| f.name == clean) else {
            if ignore_missing {
                continue;
            }
            return Err(error(format!("no values file found at path '{p}'")));
        };
        let values =
            crate::values::unmarshal_map(&String::from_utf8_lossy(&f.data)).map_err(|e| {
                error(format!(
                    "unmarshaling values from '{p}' failed: {}",
                    e.message
                ))
            })?;
        merged = crate::values::merge_maps(merged, values);
        used.push(p.clone());
    }
    Ok((merged, used))
}

/// The version metadata source-controller gives a HelmChart build: the
/// first 12 hex of the source revision (`Revision` strategy), then the
/// object's generation when values files are merged, joined by `.`.
pub fn version_metadata(revision_hex: Option<&str>, generation: Option<i64>) -> String {
    let mut out = String::new();
    if let Some(r) = revision_hex {
        out.push_str(r.get(..12).unwrap_or(r));
    }
    if let Some(g) = generation {
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(&g.to_string());
    }
    out
}

/// Masterminds `NewVersion(version).SetMetadata(metadata).String()`.
pub fn set_version_metadata(version: &str, metadata: &str) -> Result<String, PackageError> {
    let v = crate::chart::semver::parse_loose(version).ok_or_else(|| {
        error("failed to parse version from chart metadata as SemVer: Invalid Semantic Version")
    })?;
    let ok = !metadata.is_empty()
        && metadata
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    if !ok {
        return Err(error(
            "failed to set SemVer metadata on chart version: Invalid Metadata string",
        ));
    }
    let mut out = format!("{}.{}.{}", v.major, v.minor, v.patch);
    if !v.pre.is_empty() {
        out.push('-');
        out.push_str(v.pre);
    }
    out.push('+');
    out.push_str(metadata);
    Ok(out)
}

/// What a HelmChart build changes in a chart before packaging it.
#[derive(Clone, Debug, Default)]
pub struct BuildOptions {
    /// `spec.valuesFiles`.
    pub values_files: Vec<String>,
    /// `spec.ignoreMissingValuesFiles`.
    pub ignore_missing_values_files: bool,
    /// [`version_metadata`]'s result; empty for none.
    pub version_metadata: String,
    /// Every entry's modification time (Unix seconds).
    pub mtime: u64,
}

/// A built chart: the package and the values files that were merged.
#[derive(Clone, Debug)]
pub struct Build {
    pub package: Packaged,
    pub values_files: Vec<String>,
}

/// source-controller's repackaging of a chart: values files merged into
/// a new `values.yaml` (sigs.k8s.io/yaml; empty values write an empty
/// file), version metadata set, then [`package`].
pub fn build(files: Vec<File>, opts: &BuildOptions) -> Result<Build, PackageError> {
    let chart = load_files(files.clone()).map_err(|e| error(e.to_string()))?;
    let wanted = effective_values_files(&opts.values_files);
    let mut values = None;
    let mut used = Vec::new();
    if !wanted.is_empty() {
        let (merged, u) = merge_values_files(&chart, wanted, opts.ignore_missing_values_files)?;
        if !files.iter().any(|f| f.name == "values.yaml") {
            return Err(error("failed to locate values file: values.yaml"));
        }
        let text = if merged.is_empty() {
            String::new()
        } else {
            crate::funcs::to_yaml(&Value::Object(merged)).map_err(error)?
        };
        values = Some(text.into_bytes());
        used = u;
    }
    let version = if opts.version_metadata.is_empty() {
        None
    } else {
        Some(set_version_metadata(
            &chart.metadata.version,
            &opts.version_metadata,
        )?)
    };
    let package = package_with(files, opts.mtime, values, version)?;
    Ok(Build {
        package,
        values_files: used,
    })
}

/// A chart's files packaged with its `values.yaml` replaced by `values`
/// (`None`: kept) and its version set to `version` (`None`: kept): the
/// repackaging of a HelmChart built from a Git source, whose values files
/// are read from the source root (source-controller's local builder).
pub fn repackage(
    files: Vec<File>,
    values: Option<&Map<String, Value>>,
    version: Option<String>,
    mtime: u64,
) -> Result<Packaged, PackageError> {
    let values = match values {
        None => None,
        Some(v) if v.is_empty() => Some(Vec::new()),
        Some(v) => Some(
            crate::funcs::to_yaml(&Value::Object(v.clone()))
                .map_err(error)?
                .into_bytes(),
        ),
    };
    package_with(files, mtime, values, version)
}
