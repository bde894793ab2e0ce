//! What happens to rendered files after the templates ran: split into
//! documents, classified into manifests and hooks, sorted by kind and
//! printed as `helm template` prints them (helm-semantics.md §5).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex_lite::Regex;

/// A rendered document that is not a hook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// The template path (`mychart/templates/svc.yaml`).
    pub name: String,
    /// The document as the template produced it (leading whitespace
    /// removed, trailing kept).
    pub content: String,
    pub head: Head,
}

/// A document annotated `helm.sh/hook`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hook {
    pub name: String,
    pub kind: String,
    pub path: String,
    pub manifest: String,
    pub events: Vec<HookEvent>,
    pub weight: i64,
    pub delete_policies: Vec<String>,
    pub output_log_policies: Vec<String>,
}

/// When a hook runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookEvent {
    PreInstall,
    PostInstall,
    PreDelete,
    PostDelete,
    PreUpgrade,
    PostUpgrade,
    PreRollback,
    PostRollback,
    Test,
}

impl HookEvent {
    /// Helm's spelling (`test-success` reads as `test`).
    fn parse(word: &str) -> Option<HookEvent> {
        Some(match word {
            "pre-install" => HookEvent::PreInstall,
            "post-install" => HookEvent::PostInstall,
            "pre-delete" => HookEvent::PreDelete,
            "post-delete" => HookEvent::PostDelete,
            "pre-upgrade" => HookEvent::PreUpgrade,
            "post-upgrade" => HookEvent::PostUpgrade,
            "pre-rollback" => HookEvent::PreRollback,
            "post-rollback" => HookEvent::PostRollback,
            "test" | "test-success" => HookEvent::Test,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            HookEvent::PreInstall => "pre-install",
            HookEvent::PostInstall => "post-install",
            HookEvent::PreDelete => "pre-delete",
            HookEvent::PostDelete => "post-delete",
            HookEvent::PreUpgrade => "pre-upgrade",
            HookEvent::PostUpgrade => "post-upgrade",
            HookEvent::PreRollback => "pre-rollback",
            HookEvent::PostRollback => "post-rollback",
            HookEvent::Test => "test",
        }
    }
}

/// The part of a document Helm reads to sort it (`releaseutil.SimpleHead`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Head {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    /// `None` when the document has no `metadata.annotations` (or it is
    /// empty): the document is then never a hook.
    pub annotations: Option<BTreeMap<String, String>>,
}

/// Helm v4.2.4's `releaseutil.InstallOrder`.
pub const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// Helm's `UninstallOrder`: the reverse, except validating webhooks go
/// before mutating ones.
pub fn uninstall_order() -> Vec<&'static str> {
    let mut order: Vec<&'static str> = INSTALL_ORDER.iter().rev().copied().collect();
    let v = order
        .iter()
        .position(|k| *k == "ValidatingWebhookConfiguration");
    let m = order
        .iter()
        .position(|k| *k == "MutatingWebhookConfiguration");
    if let (Some(v), Some(m)) = (v, m) {
        order.swap(v, m);
    }
    order
}

/// `text` split on Helm's separator `(?m)^---[ \t]*` (a line starting
/// with `---`, the blanks after it included), by hand: a whole rendered
/// file is too long a text for a backtracking regex engine.
fn split_on_separators(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut pieces = Vec::new();
    let (mut piece, mut line) = (0, 0);
    loop {
        if bytes[line..].starts_with(b"---") {
            let mut end = line + 3;
            while matches!(bytes.get(end), Some(b' ' | b'\t')) {
                end += 1;
            }
            pieces.push(&text[piece..line]);
            piece = end;
        }
        match memchr::memchr(b'\n', &bytes[line..]) {
            Some(i) => line += i + 1,
            None => break,
        }
    }
    pieces.push(&text[piece..]);
    pieces
}

/// `releaseutil.SplitManifests`: the documents of one rendered file, in
/// file order, each without its leading whitespace (trailing whitespace
/// kept), whitespace-only pieces dropped.
pub fn split_manifests(file: &str) -> Vec<&str> {
    let file = file.trim_start_matches(go_space);
    split_on_separators(file)
        .into_iter()
        .filter(|d| !d.trim_matches(go_space).is_empty())
        .map(|d| d.trim_start_matches(go_space))
        .collect()
}

/// Go's `unicode.IsSpace`: Unicode's White_Space, which is also what
/// `char::is_whitespace` tests.
pub fn go_space(c: char) -> bool {
    c.is_whitespace()
}

/// Why a rendered document cannot be sorted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("YAML parse error on {path}: {message}")]
pub struct SortError {
    pub path: String,
    pub message: String,
}

/// Reads a document's head as `yaml.Unmarshal(doc, &SimpleHead)` does:
/// the document must parse; `apiVersion`, `kind`, `metadata.name` and the
/// annotations are strings (scalars of other types are stringified, as
/// sigs.k8s.io/yaml converts them toward a string field).
pub type HeadReader = dyn Fn(&str) -> Result<Head, String>;

/// `releaseutil.SortManifests` over rendered files (template path →
/// text): partials and whitespace-only files skipped, files taken in
/// bytewise path order, documents in file order, then both lists
/// stable-sorted by [`INSTALL_ORDER`].
pub fn sort_manifests(
    files: &BTreeMap<String, String>,
    read_head: &HeadReader,
) -> Result<(Vec<Hook>, Vec<Manifest>), SortError> {
    let mut hooks = Vec::new();
    let mut generic = Vec::new();
    for (path, content) in files {
        if base_name(path).starts_with('_') || content.trim_matches(go_space).is_empty() {
            continue;
        }
        for doc in split_manifests(content) {
            let head = read_head(doc).map_err(|message| SortError {
                path: path.clone(),
                message,
            })?;
            let Some(hook_types) = head
                .annotations
                .as_ref()
                .and_then(|a| a.get("helm.sh/hook"))
                .cloned()
            else {
                generic.push(Manifest {
                    name: path.clone(),
                    content: doc.to_string(),
                    head,
                });
                continue;
            };
            let mut events = Vec::new();
            let mut unknown = false;
            for word in hook_types.split(',') {
                match HookEvent::parse(&word.trim_matches(go_space).to_lowercase()) {
                    Some(e) => events.push(e),
                    None => {
                        unknown = true;
                        break;
                    }
                }
            }
            if unknown {
                // Helm logs "skipping unknown hooks" and drops the document.
                continue;
            }
            let annotations = head.annotations.as_ref();
            let values = |key: &str| -> Vec<String> {
                annotations
                    .and_then(|a| a.get(key))
                    .map(|v| {
                        v.split(',')
                            .map(|p| p.trim_matches(go_space).to_lowercase())
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let weight = annotations
                .and_then(|a| a.get("helm.sh/hook-weight"))
                .and_then(|w| go_atoi(w))
                .unwrap_or(0);
            hooks.push(Hook {
                name: head.name.clone(),
                kind: head.kind.clone(),
                path: path.clone(),
                manifest: doc.to_string(),
                events,
                weight,
                delete_policies: values("helm.sh/hook-delete-policy"),
                output_log_policies: values("helm.sh/hook-output-log-policy"),
            });
        }
    }
    sort_by_kind(&mut hooks, |h| &h.kind);
    sort_by_kind(&mut generic, |m| &m.head.kind);
    Ok((hooks, generic))
}

/// Go's `strconv.Atoi`: optional sign, decimal digits, in range.
fn go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Helm's `lessByKind` as a stable sort.
pub fn sort_by_kind<T>(items: &mut [T], kind: impl Fn(&T) -> &str) {
    let rank = |k: &str| INSTALL_ORDER.iter().position(|o| *o == k);
    items.sort_by(|a, b| {
        let (ka, kb) = (kind(a), kind(b));
        match (rank(ka), rank(kb)) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => ka.cmp(kb),
        }
    });
}

/// What `helm template` prints besides the manifests.
#[derive(Clone, Debug, Default)]
pub struct PrintOptions {
    pub no_hooks: bool,
    pub skip_tests: bool,
    /// `--show-only` patterns, in flag order.
    pub show_only: Vec<String>,
    /// `--hide-secret`.
    pub hide_secret: bool,
}

/// The bytes `helm template` writes to stdout (§5.5), from the CRDs
/// (already chosen by `--include-crds`), the sorted manifests and hooks.
pub fn print(
    crds: &[(String, String)],
    manifests: &[Manifest],
    hooks: &[Hook],
    opts: &PrintOptions,
) -> Result<String, String> {
    let mut doc = String::new();
    for (name, content) in crds {
        doc.push_str(&format!("---\n# Source: {name}\n{content}\n"));
    }
    for m in manifests {
        if opts.hide_secret && m.head.kind == "Secret" && m.head.api_version == "v1" {
            doc.push_str(&format!(
                "---\n# Source: {}\n# HIDDEN: The Secret output has been suppressed\n",
                m.name
            ));
        } else {
            doc.push_str(&format!("---\n# Source: {}\n{}\n", m.name, m.content));
        }
    }
    print_manifest(&doc, hooks, opts)
}

/// [`print`] for a rendered release (its manifest already holds the CRDs
/// `--include-crds` asked for).
pub fn print_release(
    release: &crate::render::Release,
    opts: &PrintOptions,
) -> Result<String, String> {
    let crds: &[(String, String)] = if release.crds_included {
        &release.crds
    } else {
        &[]
    };
    print(crds, &release.manifests, &release.hooks, opts)
}

fn print_manifest(doc: &str, hooks: &[Hook], opts: &PrintOptions) -> Result<String, String> {
    let mut out = String::with_capacity(doc.len() + 1);
    out.push_str(doc.trim_matches(go_space));
    out.push('\n');
    if !opts.no_hooks {
        for h in hooks {
            if opts.skip_tests && h.events.contains(&HookEvent::Test) {
                continue;
            }
            out.push_str(&format!("---\n# Source: {}\n{}\n", h.path, h.manifest));
        }
    }
    if opts.show_only.is_empty() {
        return Ok(out);
    }
    show_only(&out, &opts.show_only)
}

static SOURCE: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // a constant pattern
    Regex::new(r"# Source: [^/\n]+/(.+)").unwrap()
});

/// `--show-only`: the documents whose source path (without the chart's
/// name) matches each pattern, pattern by pattern.
fn show_only(all: &str, patterns: &[String]) -> Result<String, String> {
    let docs = split_manifests(all);
    let mut out = String::new();
    for pattern in patterns {
        let pattern = pattern.replace('\\', "/");
        let mut found = false;
        for doc in &docs {
            let Some(path) = SOURCE.captures(doc).and_then(|c| c.get(1)) else {
                continue;
            };
            if go_path_match(&pattern, path.as_str())? {
                out.push_str(&format!("---\n{doc}\n"));
                found = true;
            }
        }
        if !found {
            return Err(format!("could not find template {pattern} in chart"));
        }
    }
    Ok(out)
}

/// Go's `filepath.Match` (the chart stage's): a malformed pattern matches
/// nothing (Go returns `ErrBadPattern`, which `helm template` ignores).
pub fn go_path_match(pattern: &str, name: &str) -> Result<bool, String> {
    Ok(crate::chart::go_match(pattern, name).unwrap_or(false))
}

/// [`HeadReader`] as Helm reads a document: `sigs.k8s.io/yaml.Unmarshal`
/// into `SimpleHead`, with encoding/json's type errors word for word.
pub fn read_head(doc: &str) -> Result<Head, String> {
    use serde_json::Value;
    let value = crate::values::unmarshal_keys(doc, &["apiVersion", "kind", "metadata"])
        .map_err(|e| e.to_string())?;
    let json_err = |what: String| {
        format!("error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {what}")
    };
    let kind_of = |v: &Value| match v {
        Value::Array(_) => "array",
        Value::Object(_) => "object",
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        _ => "number",
    };
    // A scalar read into a Go string field (sigs.k8s.io/yaml converts
    // numbers and booleans toward the field's type).
    let string_field = |v: Option<&Value>, field: &str| -> Result<String, String> {
        match v {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(Value::Bool(b)) => Ok(b.to_string()),
            Some(Value::Number(n)) => Ok(match n.as_f64() {
                Some(f) if n.is_f64() => crate::values::go_format_float(f),
                _ => n.to_string(),
            }),
            Some(other) => Err(json_err(format!(
                "{} into Go struct field {field} of type string",
                kind_of(other)
            ))),
        }
    };
    let map = match value {
        Value::Null => return Ok(Head::default()),
        Value::Object(map) => map,
        other => {
            return Err(json_err(format!(
                "{} into Go value of type util.SimpleHead",
                kind_of(&other)
            )));
        }
    };
    let mut head = Head {
        api_version: string_field(map.get("apiVersion"), "SimpleHead.apiVersion")?,
        kind: string_field(map.get("kind"), "SimpleHead.kind")?,
        ..Head::default()
    };
    match map.get("metadata") {
        None | Some(Value::Null) => {}
        Some(Value::Object(meta)) => {
            match meta.get("annotations") {
                None | Some(Value::Null) => {}
                Some(Value::Object(a)) => {
                    let mut annotations = BTreeMap::new();
                    for (k, v) in a {
                        annotations
                            .insert(k.clone(), string_field(Some(v), ".metadata.annotations")?);
                    }
                    if !annotations.is_empty() {
                        head.annotations = Some(annotations);
                    }
                }
                Some(other) => {
                    return Err(json_err(format!(
                        "{} into Go struct field .metadata.annotations of type map[string]string",
                        kind_of(other)
                    )));
                }
            }
            head.name = string_field(meta.get("name"), ".metadata.name")?;
        }
        Some(other) => {
            return Err(json_err(format!(
                "{} into Go struct field SimpleHead.metadata of type struct {{ Name string \"json:\\\"name\\\"\"; Annotations map[string]string \"json:\\\"annotations\\\"\" }}",
                kind_of(other)
            )));
        }
    }
    Ok(head)
}

#[cfg(test)]
mod split_tests {
    use super::split_on_separators;

    #[test]
    fn separators_are_lines_starting_with_three_dashes() {
        assert_eq!(split_on_separators("---\na: 1\n"), ["", "\na: 1\n"]);
        assert_eq!(
            split_on_separators("a: 1\n--- \t\nb: 2\n---x\n c: ---\n"),
            ["a: 1\n", "\nb: 2\n", "x\n c: ---\n"]
        );
        assert_eq!(split_on_separators("a\n---"), ["a\n", ""]);
        assert_eq!(split_on_separators(""), [""]);
        assert_eq!(split_on_separators("a\r\n---\n"), ["a\r\n", "\n"]);
    }

    #[test]
    fn the_split_is_the_regex_split() {
        let re = regex::Regex::new(r"(?m)^---[ \t]*").expect("pattern");
        let alphabet = ['-', '-', '-', ' ', '\t', '\n', '\n', 'a', '\r', 'é'];
        let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 24) as usize;
            let text: String = (0..len)
                .map(|i| alphabet[((seed >> (i % 60)) as usize + i * 7) % alphabet.len()])
                .collect();
            let theirs: Vec<&str> = re.split(&text).collect();
            assert_eq!(split_on_separators(&text), theirs, "{text:?}");
        }
    }
}
