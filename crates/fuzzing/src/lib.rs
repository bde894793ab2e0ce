//! Tier 3 (test support, never linked into the binary): the body of every
//! cargo-fuzz target in `fuzz/`, as plain functions taking the fuzzer's
//! bytes, so that an ordinary `cargo test` (stable, no libFuzzer) replays
//! the committed corpus in CI. A target passes when it returns: a panic, a
//! hang or an allocation failure is the bug.
//!
//! Inputs that need several fields split the bytes at newlines: the first
//! lines are the parameters, the rest the data.

use std::collections::BTreeMap;
use std::path::Path;

use ferroflux_api::notification::{ReceiverSpec, ReceiverType};
use ferroflux_controllers::notification::receiver::{WebhookRequest, validate};
use ferroflux_policy::{Choice, Order, Policy, TagFilter};
use ferroflux_setters::{LatestRef, Policies};
use ferroflux_template::{
    ApiVersion, AutomationRef, Change, ObjectRef, RenderOptions, TemplateData,
};

/// One fuzz target: its name (the `fuzz/fuzz_targets/<name>.rs` file and
/// `fuzz/corpus/<name>/` directory) and body.
pub struct Target {
    pub name: &'static str,
    pub run: fn(&[u8]),
}

pub const TARGETS: &[Target] = &[
    Target {
        name: "manifest",
        run: manifest,
    },
    Target {
        name: "setters",
        run: setters,
    },
    Target {
        name: "policy",
        run: policy,
    },
    Target {
        name: "template",
        run: template,
    },
    Target {
        name: "registry",
        run: registry,
    },
    Target {
        name: "receiver",
        run: receiver,
    },
    Target {
        name: "kustomize",
        run: kustomize,
    },
    Target {
        name: "envsubst",
        run: envsubst,
    },
    Target {
        name: "cel",
        run: cel,
    },
    Target {
        name: "untar",
        run: untar,
    },
    Target {
        name: "helm_chart",
        run: helm_chart,
    },
    Target {
        name: "helm_values",
        run: helm_values,
    },
    Target {
        name: "helm_render",
        run: helm_render,
    },
];

/// A packaged chart from a stranger's repository
/// (`ferroflux_helm::chart::load_archive`): bytes starting with gzip's
/// magic are the `.tgz`, any others a tar stream gzipped first (so the
/// fuzzer explores tar headers and Chart.yaml, not deflate).
pub fn helm_chart(bytes: &[u8]) {
    use std::io::Write;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let _ = ferroflux_helm::chart::load_archive(bytes);
        return;
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    if gz.write_all(bytes).is_err() {
        return;
    }
    if let Ok(tgz) = gz.finish() {
        let _ = ferroflux_helm::chart::load_archive(&tgz);
    }
}

/// Values as Helm reads them: the first line is a `--set` argument (also
/// tried as `--set-string` and `--set-json`), the rest a values file.
pub fn helm_values(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let (set, file) = text.split_once('\n').unwrap_or((&text, ""));
    let _ = ferroflux_helm::values::read_values(file);
    let _ = ferroflux_helm::values::unmarshal(file);
    let opts = ferroflux_helm::values::Options {
        values_files: vec![("fuzz.yaml".to_string(), file.to_string())],
        set: vec![set.to_string()],
        set_string: vec![set.to_string()],
        set_json: vec![set.to_string()],
        ..Default::default()
    };
    let _ = opts.merge(&mut |_: &str| Err("no files".to_string()));
}

/// A whole render: the bytes split at a line `---8<---` into values.yaml,
/// a template (`templates/t.yaml`), a partial (`templates/_h.tpl`) and a
/// `values.schema.json`, rendered as `helm template` with the defaults.
pub fn helm_render(bytes: &[u8]) {
    use ferroflux_helm::chart::File;
    let text = String::from_utf8_lossy(bytes);
    let mut parts = text.split("\n---8<---\n");
    let values = parts.next().unwrap_or_default();
    let template = parts.next().unwrap_or_default();
    let partial = parts.next().unwrap_or_default();
    let schema = parts.next();
    let mut files = vec![
        File {
            name: "Chart.yaml".into(),
            data: b"apiVersion: v2\nname: fuzz\nversion: 0.1.0\n".to_vec(),
        },
        File {
            name: "values.yaml".into(),
            data: values.as_bytes().to_vec(),
        },
        File {
            name: "templates/t.yaml".into(),
            data: template.as_bytes().to_vec(),
        },
        File {
            name: "templates/_h.tpl".into(),
            data: partial.as_bytes().to_vec(),
        },
    ];
    if let Some(schema) = schema {
        files.push(File {
            name: "values.schema.json".into(),
            data: schema.as_bytes().to_vec(),
        });
    }
    let Ok(chart) = ferroflux_helm::chart::load_files(files) else {
        return;
    };
    let _ = ferroflux_helm::render::render_on_big_stack(
        chart,
        serde_json::Map::new(),
        ferroflux_helm::RenderOptions::default(),
    );
}

/// The artifact extractor (`ferroflux_artifact::archive::unpack_tar_gz`,
/// fed a stranger's download): bytes starting with gzip's magic are the
/// archive, any others a tar stream that is gzipped first (so the fuzzer
/// explores tar headers, not deflate). Besides not crashing: nothing is
/// written outside the target directory, no symlink is created, and what
/// is written stays within the limits even when the unpack fails.
pub fn untar(bytes: &[u8]) {
    use ferroflux_artifact::archive::{Limits, unpack_tar_gz};
    use std::io::Write;
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let archive = dir.path().join("a.tar.gz");
    let gz = if bytes.starts_with(&[0x1f, 0x8b]) {
        bytes.to_vec()
    } else {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        if e.write_all(bytes).is_err() {
            return;
        }
        let Ok(gz) = e.finish() else { return };
        gz
    };
    if std::fs::write(&archive, gz).is_err() {
        return;
    }
    let to = dir.path().join("out");
    let limits = Limits {
        max_entries: 64,
        max_bytes: 1 << 20,
    };
    let _ = unpack_tar_gz(&archive, &to, &limits);
    let mut stack = vec![dir.path().to_path_buf()];
    let (mut entries, mut bytes_written) = (0usize, 0u64);
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let path = e.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            assert!(!meta.file_type().is_symlink(), "symlink {}", path.display());
            if path == archive {
                continue;
            }
            assert!(path.starts_with(&to), "written outside: {}", path.display());
            entries += 1;
            if meta.is_dir() {
                stack.push(path);
            } else {
                bytes_written += meta.len();
            }
        }
    }
    // Entries and the directories they imply are bounded apart.
    assert!(entries <= 2 * limits.max_entries, "{entries} entries");
    assert!(bytes_written <= limits.max_bytes, "{bytes_written} bytes");
}

/// CEL (`healthCheckExprs`, `readyExpr`): the first line is a JSON object
/// whose fields become the variables (invalid JSON: none); the rest is the
/// expression. Besides not crashing the process (cel-rust recurses without
/// a guard): an expression over the length bound is refused before parsing.
pub fn cel(bytes: &[u8]) {
    use ferroflux_cel::{Error, Expression, MAX_LEN};
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let (head, source) = text.split_once('\n').unwrap_or(("", text));
    let object: serde_json::Value = serde_json::from_str(head).unwrap_or_default();
    match Expression::parse(source) {
        Ok(e) => {
            assert!(source.len() <= MAX_LEN);
            let _ = e.evaluate_on_object(&object);
        }
        Err(Error::TooLong { len }) => assert!(len > MAX_LEN),
        Err(_) => {}
    }
}

/// Flux's envsubst (`postBuild` substitution). The first line holds the
/// variables, `NAME=VALUE` pairs split at `;`, and a leading `!` for strict
/// mode; the rest is the text. Besides not panicking: the output stays
/// within the limit, and a text without `$` (nor a NUL, which ends the
/// input for Go's scanner) comes back unchanged.
pub fn envsubst(bytes: &[u8]) {
    use ferroflux_kustomize::flux::envsubst::{Limits, eval};
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let (head, input) = text.split_once('\n').unwrap_or(("", text));
    let strict = head.starts_with('!');
    let vars: BTreeMap<&str, &str> = head
        .trim_start_matches('!')
        .split(';')
        .filter_map(|pair| pair.split_once('='))
        .collect();
    let mapping = |name: &str| match vars.get(name) {
        Some(v) => (v.to_string(), true),
        None => (String::new(), !strict),
    };
    let limits = Limits {
        max_output: 1 << 20,
        max_match_steps: 10_000_000,
        ..Limits::default()
    };
    match eval(input, &mapping, &limits) {
        Ok(out) => {
            assert!(out.len() <= limits.max_output, "output over the limit");
            if !input.contains(['$', '\0']) {
                assert_eq!(out, input.as_bytes(), "a text without `$` is unchanged");
            }
        }
        Err(_) => assert!(input.contains('$'), "only a `$` can fail: {input:?}"),
    }
}

/// `kustomize build` over a tree written in the input: lines `=== PATH`
/// start a file (under `/k`), the build runs in `/k`. What it prints must
/// read back as YAML with the same number of documents. The generators'
/// parsers also read the raw input: whole as an `.env` file, and each line
/// as a literal and a file source.
pub fn kustomize(bytes: &[u8]) {
    use ferroflux_kustomize::generate::kv;
    if let Ok(pairs) = kv::parse_env(bytes) {
        assert!(
            pairs.iter().all(|(k, _)| !k.is_empty()),
            "env keys are never empty"
        );
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    for line in text.lines() {
        if let Ok((key, value)) = kv::parse_literal(line) {
            assert!(!key.is_empty() && value.len() < line.len(), "{line:?}");
        }
        let _ = kv::parse_file_source(line);
    }
    let mut fs = ferroflux_kustomize::MemFs::new();
    fs.add_dir("/k");
    let mut current: Option<(String, String)> = None;
    for line in text.split_inclusive('\n') {
        if let Some(path) = line.strip_prefix("=== ") {
            if let Some((p, body)) = current.take() {
                fs.add(format!("/k/{p}"), body);
            }
            current = Some((path.trim().to_string(), String::new()));
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
        }
    }
    if let Some((p, body)) = current {
        fs.add(format!("/k/{p}"), body);
    }
    let opts = ferroflux_kustomize::Options::default();
    let Ok(resources) = ferroflux_kustomize::build::build(&fs, Path::new("/k"), &opts) else {
        return;
    };
    let Ok(out) = ferroflux_kustomize::emit::documents(resources.iter().map(|r| &r.value)) else {
        return;
    };
    let docs = ferroflux_api::yaml::parse_stream_raw(&out).expect("the printed stream parses");
    assert_eq!(
        docs.len(),
        resources.len(),
        "one document per resource:\n{out}"
    );
}

/// The manifest loader: YAML with anchors, Flux kinds, file:line findings.
pub fn manifest(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let loaded = ferroflux_api::manifest::load_str(Path::new("fuzz.yaml"), text);
    for finding in &loaded.findings {
        let _ = finding.to_string();
    }
}

/// Setter rewriting of a marked file, with two policies the markers of the
/// corpus name.
pub fn setters(bytes: &[u8]) {
    let mut policies = Policies::new();
    let latest = |name: &str, tag: &str| LatestRef {
        name: name.to_string(),
        tag: tag.to_string(),
        digest: String::new(),
    };
    policies.insert("flux-system", "app", latest("ghcr.io/org/app", "1.2.3"));
    policies.insert("ns", "odd", latest("r.example:5000/a/b", "'\"#: x\n"));
    match ferroflux_setters::rewrite_file("fuzz.yaml", bytes, &policies) {
        Ok(outcome) => {
            if let Some(updated) = outcome.updated {
                // Rewriting what was just written changes nothing more.
                let again = ferroflux_setters::rewrite_file("fuzz.yaml", &updated, &policies)
                    .expect("a file the rewriter wrote parses again");
                assert!(
                    again.updated.is_none_or(|u| u == updated),
                    "rewrite is not idempotent"
                );
            }
        }
        // A refusal is an answer when it names the file and a line.
        Err(e) => assert!(e.to_string().starts_with("fuzz.yaml:"), "{e}"),
    }
}

/// Policy selection: line 1 `semver RANGE` | `alphabetical ORDER` |
/// `numerical ORDER`, line 2 the filter pattern, line 3 extract, then tags.
pub fn policy(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let mut lines = text.split('\n');
    let choice_line = lines.next().unwrap_or_default();
    let (kind, arg) = choice_line.split_once(' ').unwrap_or((choice_line, ""));
    let order = || match arg {
        "desc" | "DESC" => Order::Desc,
        _ => Order::Asc,
    };
    let choice = match kind {
        "alphabetical" => Choice::Alphabetical { order: order() },
        "numerical" => Choice::Numerical { order: order() },
        _ => Choice::Semver {
            range: arg.to_string(),
        },
    };
    let pattern = lines.next().unwrap_or_default();
    let extract = lines.next().unwrap_or_default();
    let filter = (!pattern.is_empty()).then(|| TagFilter {
        pattern: pattern.to_string(),
        extract: extract.to_string(),
    });
    let tags: Vec<&str> = lines.collect();
    let _ = ferroflux_policy::semver::parse_tag(choice_line);
    let _ = ferroflux_policy::semver::Constraints::parse(arg);
    if let Ok(policy) = Policy::new(choice, filter) {
        let _ = policy.select(&tags);
    }
}

/// Commit-message template: parse, then execute on data with one change.
pub fn template(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let _ = ferroflux_template::check(text);
    let _ = ferroflux_template::mangled_placeholders(text);
    let data = TemplateData {
        automation: AutomationRef {
            name: "flux-system".into(),
            namespace: "flux-system".into(),
        },
        values: Some(BTreeMap::from([("env".to_string(), "prod".to_string())])),
        policies: BTreeMap::new(),
        changes: vec![Change {
            file: "apps/app.yaml".into(),
            object: ObjectRef {
                kind: "Deployment".into(),
                name: "app".into(),
                namespace: "apps".into(),
                ..ObjectRef::default()
            },
            old_value: "ghcr.io/org/app:1.0.0".into(),
            new_value: "ghcr.io/org/app:1.0.1".into(),
            setter: "flux-system:app:tag".into(),
        }],
    };
    for api_version in [ApiVersion::V1, ApiVersion::V1beta2] {
        let _ = ferroflux_template::render(text, &data, RenderOptions { api_version });
    }
}

/// What a registry answers: tags JSON, `Link`, `WWW-Authenticate`.
pub fn registry(bytes: &[u8]) {
    ferroflux_registry::fuzzing::registry_response(bytes);
}

/// A Receiver request: line 1 the type, then `Name: value` headers up to an
/// empty line, then the body.
pub fn receiver(bytes: &[u8]) {
    let split = bytes.windows(2).position(|w| w == b"\n\n");
    let (head, body) = match split {
        Some(i) => (&bytes[..i], &bytes[i + 2..]),
        None => (bytes, &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.lines();
    let receiver_type = match lines.next().unwrap_or_default() {
        "generic-hmac" => ReceiverType::GenericHmac,
        "github" => ReceiverType::Github,
        "gitlab" => ReceiverType::Gitlab,
        "harbor" => ReceiverType::Harbor,
        "dockerhub" => ReceiverType::Dockerhub,
        "quay" => ReceiverType::Quay,
        "bitbucket" => ReceiverType::Bitbucket,
        _ => ReceiverType::Generic,
    };
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let spec = ReceiverSpec {
        receiver_type,
        events: vec!["push".into(), "ping".into()],
        ..ReceiverSpec::default()
    };
    let req = WebhookRequest {
        headers,
        body: body.to_vec(),
    };
    // An error may echo what the sender wrote (an event name), so the token
    // only counts as leaked when the request did not carry it itself.
    let sent = String::from_utf8_lossy(bytes).contains("s3cr3t-token");
    if let Err(e) = validate("fuzz", &spec, "s3cr3t-token", &req) {
        assert!(
            sent || !e.to_string().contains("s3cr3t-token"),
            "token in an error: {e}"
        );
    }
}
