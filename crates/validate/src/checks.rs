//! Per-object checks beyond the schema.

use std::sync::LazyLock;

use regex::Regex;

use ferroflux_api::image::{ImagePolicySpec, ImageRepositorySpec, ImageUpdateAutomationSpec};
use ferroflux_api::kustomize::KustomizationFile;
use ferroflux_api::manifest::{Finding, Manifest, Object, Severity};
use ferroflux_api::notification::{AlertSpec, ProviderSpec, SpecProblem, timeout_problem};
use ferroflux_api::yaml::Node;
use ferroflux_policy::{Choice, Policy, TagFilter};

use crate::{at, pattern};

/// Compiled once: the checks run for every object of a repository.
static REPOSITORY_COMPONENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$").expect("static regex"));
static EXPAND_REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))").expect("static regex")
});
static STAGE_PRERELEASE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\d+(?:\.\d+){0,2}-([A-Za-z][0-9A-Za-z-]*)").expect("static regex")
});

pub(crate) fn check(m: &Manifest, out: &mut Vec<Finding>) {
    match &m.object {
        Object::ImageRepository(o) => image_repository(m, &o.spec, out),
        Object::ImagePolicy(o) => image_policy(m, &o.spec, out),
        Object::ImageUpdateAutomation(o) => automation(m, &o.spec, out),
        Object::Alert(o) => alert(m, &o.spec, out),
        Object::Provider(o) => provider(m, &o.spec, out),
        Object::KustomizationFile(k) => kustomization_file(m, k, out),
        Object::Other(_) if m.kind == "Secret" && m.api_version == "v1" => secret(m, out),
        _ => {}
    }
}

fn image_repository(m: &Manifest, spec: &ImageRepositorySpec, out: &mut Vec<Finding>) {
    if let Some(problem) = image_name_problem(&spec.image) {
        let severity = if problem.stalls {
            Severity::Error
        } else {
            Severity::Warning
        };
        out.push(at(m, "spec.image", severity, problem.message));
    }
    for (i, re) in spec.exclusion_list.iter().flatten().enumerate() {
        if let Err(e) = regex::Regex::new(re) {
            out.push(at(
                m,
                &format!("spec.exclusionList.{i}"),
                Severity::Error,
                format!(
                    "failed to compile regex {re}: {}",
                    first_line(&e.to_string())
                ),
            ));
        }
    }
}

struct ImageProblem {
    message: String,
    /// Flux stalls the object (`ImageURLInvalid`).
    stalls: bool,
}

/// Flux's two hard checks (`should not include URL scheme`, `should not
/// include a tag`) and the reference grammar of the distribution spec.
fn image_name_problem(image: &str) -> Option<ImageProblem> {
    if let Some((scheme, _)) = image.split_once("://") {
        return Some(ImageProblem {
            message: format!("image '{image}' should not include URL scheme; remove '{scheme}://'"),
            stalls: true,
        });
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    if let Some((_, tag)) = last.split_once(':') {
        return Some(ImageProblem {
            message: format!("image '{image}' should not include a tag; remove ':{tag}'"),
            stalls: true,
        });
    }
    let mut components: Vec<&str> = image.split('/').collect();
    let first = components.first().copied().unwrap_or("");
    if components.len() > 1 && (first.contains('.') || first.contains(':') || first == "localhost")
    {
        components.remove(0);
    }
    let valid = &*REPOSITORY_COMPONENT;
    let bad = components.iter().find(|c| !valid.is_match(c))?;
    let why = if !bad.is_ascii() || bad.chars().any(|c| c.is_ascii_uppercase()) {
        "repository names are lowercase ASCII letters, digits and . _ - separators"
    } else {
        "a path component must start and end with a lowercase letter or digit"
    };
    Some(ImageProblem {
        message: format!(
            "image '{image}' is not a valid repository reference: '{bad}': {why}; \
             if it is a placeholder, replace it with the real repository"
        ),
        stalls: false,
    })
}

fn image_policy(m: &Manifest, spec: &ImagePolicySpec, out: &mut Vec<Finding>) {
    let p = &spec.policy;
    let choice = match Choice::from_spec(
        p.semver.as_ref().map(|s| s.range.as_str()),
        p.alphabetical.as_ref().map(|a| order(a.order)),
        p.numerical.as_ref().map(|n| order(n.order)),
    ) {
        Ok(c) => c,
        Err(e) => {
            out.push(at(m, "spec.policy", Severity::Error, e.to_string()));
            return;
        }
    };
    let filter = spec.filter_tags.clone().map(|f| TagFilter {
        pattern: f.pattern,
        extract: f.extract,
    });
    if let Err(e) = Policy::new(choice.clone(), filter.clone()) {
        let path =
            if e.is_invalid_policy() && matches!(e, ferroflux_policy::Error::InvalidPattern(_)) {
                "spec.filterTags.pattern"
            } else {
                "spec.policy"
            };
        out.push(at(m, path, Severity::Error, e.to_string()));
        return;
    }
    let Some(filter) = filter else {
        if let Choice::Semver { range } = &choice {
            prerelease_range(m, range, "", out);
        }
        return;
    };
    if filter.pattern.is_empty() && !filter.extract.is_empty() {
        out.push(at(
            m,
            "spec.filterTags.extract",
            Severity::Warning,
            "filterTags.extract is set without a pattern: with no groups to expand, every tag \
             extracts to the same value"
                .to_string(),
        ));
    }
    extract_groups(m, &filter, out);
    if let Choice::Semver { range } = &choice {
        let never = filter
            .extract
            .is_empty()
            .then(|| pattern::never_semver(&filter.pattern))
            .flatten();
        if let Some(why) = never {
            out.push(at(
                m,
                "spec.filterTags.pattern",
                Severity::Warning,
                format!(
                    "filterTags.pattern `{}` can never yield a semver tag: {why}; this semver \
                         policy will never choose a tag (`ferroflux image policy test` shows why \
                         per tag)",
                    filter.pattern
                ),
            ));
        }
        prerelease_range(m, range, &filter.pattern, out);
    }
}

fn order(o: ferroflux_api::image::SortOrder) -> &'static str {
    match o {
        ferroflux_api::image::SortOrder::Asc => "asc",
        ferroflux_api::image::SortOrder::Desc => "desc",
    }
}

/// `$name`, `${name}` and `$1` in an extract must name a group of the
/// pattern; Go expands an unknown group to "".
fn extract_groups(m: &Manifest, filter: &TagFilter, out: &mut Vec<Finding>) {
    let Ok(re) = regex::Regex::new(&filter.pattern) else {
        return;
    };
    let names: Vec<&str> = re.capture_names().flatten().collect();
    let count = re.captures_len();
    let refs = &*EXPAND_REFERENCE;
    for cap in refs.captures_iter(&filter.extract.replace("$$", "")) {
        let Some(name) = cap.get(1).or_else(|| cap.get(2)).map(|g| g.as_str()) else {
            continue;
        };
        let known = match name.parse::<usize>() {
            Ok(i) => i < count,
            Err(_) => names.contains(&name),
        };
        if !known {
            let groups = if names.is_empty() {
                format!("{} numbered group(s)", count.saturating_sub(1))
            } else {
                format!("groups: {}", names.join(", "))
            };
            out.push(at(
                m,
                "spec.filterTags.extract",
                Severity::Warning,
                format!(
                    "filterTags.extract refers to `${name}`, which the pattern does not define \
                     ({groups}); Go expands it to an empty string"
                ),
            ));
        }
    }
}

/// Seed 004's `>=1.0.0-stage`: a prerelease in the range admits every
/// prerelease, not only those with that identifier.
fn prerelease_range(m: &Manifest, range: &str, pattern: &str, out: &mut Vec<Finding>) {
    for cap in STAGE_PRERELEASE.captures_iter(range) {
        let ident = &cap[1];
        if pattern.contains(ident) {
            continue;
        }
        out.push(at(
            m,
            "spec.policy.semver.range",
            Severity::Warning,
            format!(
                "range `{range}` does not restrict tags to `-{ident}` prereleases: a prerelease in a \
                 range only allows prereleases at all, and Masterminds compares MAJOR.MINOR.PATCH \
                 first, so other stages' prereleases and final releases match too; select the \
                 stage with filterTags.pattern (for example `-{ident}\\.`)"
            ),
        ));
    }
}

fn automation(m: &Manifest, spec: &ImageUpdateAutomationSpec, out: &mut Vec<Finding>) {
    if spec.source_ref.kind != "GitRepository" {
        out.push(at(
            m,
            "spec.sourceRef.kind",
            Severity::Error,
            format!(
                "source kind '{}' not supported: invalid source configuration (only GitRepository)",
                spec.source_ref.kind
            ),
        ));
    }
    let Some(git) = &spec.git else {
        out.push(at(
            m,
            "spec",
            Severity::Error,
            "source kind 'GitRepository' necessitates field .spec.git: invalid source configuration"
                .to_string(),
        ));
        return;
    };
    let Some(template) = git.commit.message_template.as_deref() else {
        return;
    };
    let path = "spec.git.commit.messageTemplate";
    if let Some(warning) = ferroflux_template::mangled_placeholders(template) {
        out.push(at(
            m,
            path,
            Severity::Warning,
            format!(
                "{warning}; restore the actions (for example \
                 `{{{{ range $file, $changes := .Changed.FileChanges }}}}`)"
            ),
        ));
    }
    if let Err(e) = ferroflux_template::check(template) {
        out.push(at(m, path, Severity::Error, e.to_string()));
    }
    if mentions_field(template, ".Updated") {
        out.push(at(
            m,
            path,
            Severity::Warning,
            "messageTemplate uses `.Updated`, deprecated in image-automation-controller v0.38 and \
             removed in v1.0 (Flux 2.7, where every commit fails with \"template uses removed \
             '.Updated' field. Please use '.Changed' instead.\"); ferroflux still renders it; \
             use `.Changed` (for example `.Changed.Changes`)"
                .to_string(),
        ));
    }
    if mentions_field(template, ".Changed.ImageResult") {
        out.push(at(
            m,
            path,
            Severity::Warning,
            "messageTemplate uses `.Changed.ImageResult`, which Flux removed; use `.Changed.Changes`"
                .to_string(),
        ));
    }
}

fn mentions_field(template: &str, field: &str) -> bool {
    template.match_indices(field).any(|(i, _)| {
        template[i + field.len()..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_ascii_alphanumeric() && c != '_')
    })
}

/// Words of Flux's event messages, to catch misspelt exclusion patterns.
const EVENT_WORDS: &[&str] = &[
    "reconciliation",
    "progress",
    "succeeded",
    "failed",
    "dependency",
    "revision",
    "artifact",
    "health",
    "applied",
    "waiting",
    "stored",
    "fetched",
];

fn provider(m: &Manifest, spec: &ProviderSpec, out: &mut Vec<Finding>) {
    let timeout = m
        .node
        .at("spec.timeout")
        .and_then(|n| n.as_str())
        .and_then(timeout_problem);
    for p in spec.problems().into_iter().chain(timeout) {
        spec_problem(m, p, out);
    }
}

fn spec_problem(m: &Manifest, p: SpecProblem, out: &mut Vec<Finding>) {
    out.push(at(m, &p.field, Severity::Error, p.message));
}

fn alert(m: &Manifest, spec: &AlertSpec, out: &mut Vec<Finding>) {
    for p in spec.problems() {
        spec_problem(m, p, out);
    }
    if spec.summary.is_some() {
        out.push(at(
            m,
            "spec.summary",
            Severity::Warning,
            "spec.summary is deprecated in notification.toolkit.fluxcd.io/v1beta3 (\"Deprecated: \
             Use EventMetadata instead.\"); move it to spec.eventMetadata.summary"
                .to_string(),
        ));
    }
    for (list, patterns) in [
        ("exclusionList", &spec.exclusion_list),
        ("inclusionList", &spec.inclusion_list),
    ] {
        for (i, p) in patterns.iter().enumerate() {
            let path = format!("spec.{list}.{i}");
            if let Err(e) = regex::Regex::new(p) {
                out.push(at(
                    m,
                    &path,
                    Severity::Error,
                    format!(
                        "invalid regular expression `{p}`: {}",
                        first_line(&e.to_string())
                    ),
                ));
                continue;
            }
            for word in p
                .split(|c: char| !c.is_ascii_alphabetic())
                .filter(|w| w.len() >= 6)
            {
                let lower = word.to_ascii_lowercase();
                if let Some(meant) = EVENT_WORDS
                    .iter()
                    .find(|w| **w != lower && strsim::levenshtein(w, &lower) <= 2)
                {
                    out.push(at(
                        m,
                        &path,
                        Severity::Warning,
                        format!(
                            "{list} pattern `{p}`: `{word}` looks like a misspelling of `{meant}`; \
                             Flux's events say \"Reconciliation in progress\", so this pattern \
                             never matches them"
                        ),
                    ));
                }
            }
        }
    }
}

fn kustomization_file(m: &Manifest, k: &KustomizationFile, out: &mut Vec<Finding>) {
    for (old, new) in k.deprecated_fields() {
        out.push(at(
            m,
            old,
            Severity::Warning,
            format!("'{old}' is deprecated in kustomize v5. Please use '{new}' instead."),
        ));
    }
}

fn secret(m: &Manifest, out: &mut Vec<Finding>) {
    let sops = m.node.get("sops");
    let values: Vec<&Node> = ["data", "stringData"]
        .iter()
        .filter_map(|k| m.node.get(k))
        .flat_map(|n| match &n.value {
            ferroflux_api::yaml::Value::Map(entries) => {
                entries.iter().map(|e| &e.value).collect::<Vec<_>>()
            }
            _ => Vec::new(),
        })
        .collect();
    let encrypted = |n: &&Node| n.as_str().is_some_and(|s| s.starts_with("ENC["));
    let Some(sops) = sops else {
        if values.is_empty() {
            return;
        }
        let message = if values.iter().all(encrypted) {
            "values look SOPS-encrypted (ENC[...]) but the `sops:` metadata is missing, so they \
             cannot be decrypted"
        } else {
            "Secret with plaintext values in a file meant for Git: anyone who can read the \
             repository can read them; encrypt it with SOPS (kustomize-controller decrypts it with \
             spec.decryption) or use a SealedSecret"
        };
        let path = if m.node.get("stringData").is_some() {
            "stringData"
        } else {
            "data"
        };
        out.push(at(m, path, Severity::Warning, message.to_string()));
        return;
    };
    let mut missing: Vec<&str> = ["mac", "lastmodified", "version"]
        .into_iter()
        .filter(|k| sops.get(k).is_none())
        .collect();
    let empty_age = sops
        .get("age")
        .and_then(|a| match &a.value {
            ferroflux_api::yaml::Value::Seq(items) => Some(items.iter().any(|r| {
                r.get("enc").and_then(Node::as_str).is_none_or(|enc| {
                    enc.lines()
                        .filter(|l| !l.trim().is_empty() && !l.starts_with("-----"))
                        .count()
                        == 0
                })
            })),
            _ => None,
        })
        .unwrap_or(false);
    if empty_age {
        missing.push("age[].enc (the armored data key is empty)");
    }
    if sops.get("encrypted_regex").is_none() && sops.get("encrypted_suffix").is_none() {
        let plain = values.iter().any(|v| !encrypted(v));
        if plain {
            missing.push("encrypted_regex (and some values are not ENC[...])");
        }
    }
    if !missing.is_empty() {
        out.push(at(
            m,
            "sops",
            Severity::Warning,
            format!(
                "incomplete SOPS metadata: missing {}; sops and kustomize-controller cannot \
                 decrypt this file as it is (re-encrypt it with `sops --encrypt`)",
                missing.join(", ")
            ),
        ));
    }
}

fn first_line(s: &str) -> String {
    s.lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or(s)
        .trim()
        .to_string()
}
