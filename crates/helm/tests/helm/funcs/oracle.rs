//! The helm oracle: a throwaway chart rendered by `helm template`.

use std::path::Path;

pub use ferroflux_testkit::helm::Helm;

/// The built helm, or `None` (a skip; a failure in CI).
pub fn helm() -> Option<Helm> {
    Helm::find()
}

/// A chart named `t` with `templates` (name, text) and `files` (path,
/// bytes) beside them.
pub fn chart(dir: &Path, templates: &[(&str, &str)], files: &[(&str, &[u8])]) {
    std::fs::create_dir_all(dir.join("templates")).expect("templates dir");
    std::fs::write(
        dir.join("Chart.yaml"),
        "apiVersion: v2\nname: t\nversion: 0.1.0\n",
    )
    .expect("Chart.yaml");
    for (name, text) in templates {
        std::fs::write(dir.join("templates").join(name), text).expect("template");
    }
    for (path, bytes) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("files dir");
        std::fs::write(path, bytes).expect("file");
    }
}

/// `helm template r CHART ARGS...`: stdout, or the error text.
pub fn template(helm: &Helm, chart: &Path, args: &[&str]) -> Result<String, String> {
    let mut all = vec!["r", chart.to_str().expect("utf-8 path")];
    all.extend_from_slice(args);
    let run = helm.template(&all);
    if run.ok {
        Ok(run.stdout)
    } else {
        Err(run.stderr)
    }
}

/// `s` as a YAML double-quoted scalar that any reader takes back exactly:
/// everything outside printable ASCII escaped.
pub fn yaml_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            c if (c as u32) <= 0xffff => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// The `name: base64` lines of a rendered document, decoded.
pub fn b64_lines(rendered: &str) -> std::collections::BTreeMap<String, String> {
    use base64::Engine as _;
    rendered
        .lines()
        .filter_map(|line| line.split_once(": "))
        .filter(|(k, _)| {
            let digits = k.trim_start_matches(|c: char| c.is_ascii_lowercase());
            digits.len() < k.len()
                && !digits.is_empty()
                && digits.bytes().all(|b| b.is_ascii_digit())
        })
        .map(|(k, v)| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(v.trim())
                .unwrap_or_else(|e| panic!("{k}: {e}: {v}"));
            (k.to_string(), String::from_utf8_lossy(&bytes).into_owned())
        })
        .collect()
}
