//! `# {"$imagepolicy": "ns:name"}` markers whose JSON is broken. Flux
//! silently ignores such a line, so the image never updates (seed 000: "no
//! marker, no update").

use std::path::Path;

use ferroflux_api::manifest::{Finding, Severity, is_manifest_file};
use ferroflux_api::tree;
use ferroflux_api::yaml::MAX_STREAM_BYTES;

/// The token Flux screens files for, quotes included.
const TOKEN: &str = "\"$imagepolicy\"";

pub(crate) fn scan_path(path: &Path, out: &mut Vec<Finding>) {
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    if !meta.is_dir() {
        scan_file(path, out);
        return;
    }
    // Links the loader refuses (it reports them) are not read here either.
    if let Ok(real_root) = tree::real_root(path) {
        scan_dir(&real_root, path, out);
    }
}

fn scan_dir(real_root: &Path, dir: &Path, out: &mut Vec<Finding>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut children: Vec<_> = entries
        .flatten()
        .filter_map(|e| Some((e.path(), e.file_type().ok()?)))
        .collect();
    children.sort_by(|a, b| a.0.cmp(&b.0));
    for (child, file_type) in children {
        let hidden = child
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if hidden || !(file_type.is_dir() || is_manifest_file(&child)) {
            continue;
        }
        if file_type.is_dir() {
            scan_dir(real_root, &child, out);
        } else if !file_type.is_symlink() || tree::link_target(real_root, &child).is_ok() {
            scan_file(&child, out);
        }
    }
}

fn scan_file(path: &Path, out: &mut Vec<Finding>) {
    let Ok(Some(bytes)) = tree::read_bounded(path, MAX_STREAM_BYTES) else {
        return;
    };
    if let Ok(text) = String::from_utf8(bytes) {
        scan_text(path, &text, out);
    }
}

pub(crate) fn scan_text(path: &Path, text: &str, out: &mut Vec<Finding>) {
    if !text.contains("$imagepolicy") {
        return;
    }
    for (i, line) in text.lines().enumerate() {
        let Some(hash) = comment_start(line) else {
            continue;
        };
        let comment = line[hash..].trim_start_matches('#').trim();
        if !comment.contains("$imagepolicy") {
            continue;
        }
        if let Some(problem) = marker_problem(comment) {
            out.push(Finding {
                file: path.to_path_buf(),
                line: i + 1,
                object: None,
                severity: Severity::Warning,
                message: format!(
                    "malformed $imagepolicy marker `{comment}`: {problem}; Flux ignores it and \
                     never updates this line; write # {{\"$imagepolicy\": \"NAMESPACE:NAME\"}} \
                     (optionally :tag, :name or :digest)"
                ),
            });
        }
    }
}

/// Where a YAML comment starts: a `#` at the line start or after a space,
/// outside quotes.
fn comment_start(line: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if (c == '"' || c == '\'') && (prev == ' ' || prev == ':' || i == 0) => {
                quote = Some(c)
            }
            None if c == '#' && (i == 0 || prev == ' ' || prev == '\t') => return Some(i),
            None => {}
        }
        prev = c;
    }
    None
}

fn marker_problem(comment: &str) -> Option<String> {
    if !comment.contains(TOKEN) {
        return Some("the key must be \"$imagepolicy\" in double quotes".to_string());
    }
    let value: serde_json::Value = match serde_json::from_str(comment) {
        Ok(v) => v,
        Err(e) => return Some(format!("not a JSON object ({e})")),
    };
    let Some(object) = value.as_object() else {
        return Some("not a JSON object".to_string());
    };
    if let Some((k, _)) = object.iter().find(|(_, v)| !v.is_string()) {
        return Some(format!("the value of \"{k}\" must be a string"));
    }
    let setter = object.get("$imagepolicy")?.as_str()?;
    let parts: Vec<&str> = setter.split(':').collect();
    match parts.as_slice() {
        [ns, name] if !ns.is_empty() && !name.is_empty() => None,
        [ns, name, field]
            if !ns.is_empty() && !name.is_empty() && ["tag", "name", "digest"].contains(field) =>
        {
            None
        }
        [_] => Some(format!(
            "\"{setter}\" has no namespace: markers are NAMESPACE:NAME"
        )),
        _ => Some(format!(
            "\"{setter}\" is not NAMESPACE:NAME[:tag|:name|:digest]"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn findings(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        scan_text(Path::new("d.yaml"), text, &mut out);
        out.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn good_markers_pass() {
        assert!(findings("image: a:1 # {\"$imagepolicy\": \"ns:app\"}\n").is_empty());
        assert!(findings("tag: \"1\" # {\"$imagepolicy\": \"ns:app:tag\"}\n").is_empty());
        assert!(findings("# {\"$imagepolicy\": \"flux-system:flask-app\"}\n").is_empty());
    }

    #[test]
    fn broken_markers_name_file_and_line() {
        let f = findings("a: 1\nimage: a:1 # {\"$imagepolicy\": flux-system:app}\n");
        assert_eq!(f.len(), 1);
        assert!(
            f[0].starts_with("d.yaml:2: warning: malformed $imagepolicy marker"),
            "{f:?}"
        );
        assert!(f[0].contains("not a JSON object"), "{f:?}");
        let f = findings("image: a:1 # {'$imagepolicy': 'ns:app'}\n");
        assert!(f[0].contains("double quotes"), "{f:?}");
        let f = findings("image: a:1 # {\"$imagepolicy\": \"app\"}\n");
        assert!(f[0].contains("no namespace"), "{f:?}");
        let f = findings("image: a:1 # {\"$imagepolicy\": \"ns:app:version\"}\n");
        assert!(f[0].contains("NAMESPACE:NAME[:tag"), "{f:?}");
    }

    #[test]
    fn hash_inside_quotes_is_not_a_comment() {
        assert!(findings("a: \"x # {$imagepolicy}\"\n").is_empty());
    }
}
