//! Differential tests against the template oracle (`$FERROFLUX_TEMPLATE_ORACLE`:
//! Go 1.19 text/template + sprig 3.2.3 + Flux's data model): hand-picked
//! templates and a few hundred generated ones, each batch sent to the oracle
//! once. Messages must be byte-equal and errors must have Go's exact text.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use ferroflux_template::{AutomationRef, Change, LatestRef, ObjectRef, TemplateData};
use proptest::prelude::*;

use crate::handpicked::HANDPICKED;
use crate::support::{Case, Outcome, legacy, render_like_oracle};

fn oracle() -> Option<PathBuf> {
    match std::env::var_os("FERROFLUX_TEMPLATE_ORACLE") {
        Some(p) if PathBuf::from(&p).is_file() => Some(PathBuf::from(p)),
        _ => {
            ferroflux_testkit::env::skip_or_fail(
                "FERROFLUX_TEMPLATE_ORACLE (see .ci/setup.d/30-template.sh) is not a built oracle",
            );
            None
        }
    }
}

/// Runs the whole batch through the oracle in one process.
fn run_oracle(bin: &PathBuf, cases: &[Case]) -> Vec<Outcome> {
    let mut child = Command::new(bin)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the template oracle");
    let input = serde_json::to_vec(cases).expect("cases to JSON");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&input)
        .expect("write cases");
    let out = child.wait_with_output().expect("oracle output");
    assert!(out.status.success(), "oracle failed: {}", out.status);
    let mut outcomes: Vec<Outcome> = serde_json::from_slice(&out.stdout).expect("oracle JSON");
    for o in &mut outcomes {
        o.message = o.message.take().map(|m| flux_type_names(&m));
    }
    outcomes
}

/// The oracle renames Go's `main.X` types to Flux's names in error texts
/// only; printf's `%!(EXTRA type=…)` and `%T` in messages still show
/// `main.X`, where Flux would print the package-qualified name.
fn flux_type_names(message: &str) -> String {
    const NAMES: &[(&str, &str)] = &[
        ("main.TemplateData", "source.TemplateData"),
        ("main.NamespacedName", "types.NamespacedName"),
        ("main.ObjectChanges", "update.ObjectChanges"),
        ("main.ObjectIdentifier", "update.ObjectIdentifier"),
        ("main.Change", "update.Change"),
        ("main.ResourceIdentifier", "yaml.ResourceIdentifier"),
        ("main.TypeMeta", "yaml.TypeMeta"),
        ("main.NameMeta", "yaml.NameMeta"),
        ("main.LegacyResult", "update.Result"),
        ("main.Result", "update.Result"),
        ("main.FileResult", "update.FileResult"),
        ("main.ImageRef", "update.imageRef"),
    ];
    let mut m = message.to_string();
    for (from, to) in NAMES {
        m = m.replace(from, to);
    }
    m
}

/// Cases where ours differs from the oracle's answer.
fn mismatches(bin: &PathBuf, cases: &[Case]) -> Vec<String> {
    let want = run_oracle(bin, cases);
    assert_eq!(want.len(), cases.len());
    cases
        .iter()
        .zip(want)
        .filter_map(|(c, want)| {
            let got = render_like_oracle(c, legacy());
            (got != want).then(|| {
                format!(
                    "template {:?}\n data {}\n  want {:?} / {:?}\n  got  {:?} / {:?}",
                    c.template,
                    serde_json::to_string(&c.data).unwrap_or_default(),
                    want.message,
                    want.error,
                    got.message,
                    got.error
                )
            })
        })
        .collect()
}

fn change(file: &str, kind: &str, name: &str, old: &str, new: &str, setter: &str) -> Change {
    let api_version = match kind {
        "CronJob" => "batch/v1",
        "Kustomization" => "kustomize.config.k8s.io/v1beta1",
        _ => "apps/v1",
    };
    Change {
        file: file.into(),
        object: ObjectRef {
            api_version: api_version.into(),
            kind: kind.into(),
            name: name.into(),
            namespace: if kind == "Kustomization" {
                String::new()
            } else {
                "prod".into()
            },
        },
        old_value: old.into(),
        new_value: new.into(),
        setter: setter.into(),
    }
}

/// A run with several files, objects, setters and a digest policy.
fn rich_data() -> TemplateData {
    let digest = format!("sha256:{}", "0123456789abcdef".repeat(4));
    TemplateData {
        automation: AutomationRef {
            name: "apps".into(),
            namespace: "flux-system".into(),
        },
        values: Some(BTreeMap::from([
            ("env".into(), "prod".into()),
            ("cluster".into(), "eu-1".into()),
        ])),
        policies: BTreeMap::from([
            (
                "flux-system/web".into(),
                LatestRef {
                    name: "myorg/web".into(),
                    tag: "1.0.1".into(),
                    digest: String::new(),
                },
            ),
            (
                "flux-system/redis".into(),
                LatestRef {
                    name: "redis".into(),
                    tag: "7.2.4".into(),
                    digest: digest.clone(),
                },
            ),
            (
                "flux-system/info".into(),
                LatestRef {
                    name: "ghcr.io/s/podinfo".into(),
                    tag: "6.5.1".into(),
                    digest: String::new(),
                },
            ),
        ]),
        changes: vec![
            change(
                "web/deploy.yaml",
                "StatefulSet",
                "cache",
                "myorg/web:1.0.0",
                "myorg/web:1.0.1",
                "flux-system:web",
            ),
            change(
                "web/deploy.yaml",
                "Deployment",
                "web",
                "myorg/web:1.0.0",
                "myorg/web:1.0.1",
                "flux-system:web",
            ),
            change(
                "web/deploy.yaml",
                "CronJob",
                "job",
                "1.0.0",
                "1.0.1",
                "flux-system:web:tag",
            ),
            change(
                "redis/kustomization.yaml",
                "Kustomization",
                "",
                "7.2.3",
                "7.2.4",
                "flux-system:redis:tag",
            ),
            change(
                "redis/kustomization.yaml",
                "Kustomization",
                "",
                "sha256:aa",
                &digest,
                "flux-system:redis:digest",
            ),
            change(
                "info/hr.yaml",
                "Deployment",
                "web",
                "6.5.0",
                "6.5.1",
                "flux-system:info:tag",
            ),
            change(
                "info/hr.yaml",
                "Deployment",
                "web",
                "ghcr.io/s/old",
                "ghcr.io/s/podinfo",
                "flux-system:info:name",
            ),
            change(
                "overlay/patch.yaml",
                "Deployment",
                "web",
                "2",
                "3",
                "flux-system:replicas",
            ),
        ],
    }
}

#[test]
fn handpicked_templates_match_go() {
    let Some(bin) = oracle() else { return };
    let data = rich_data();
    let cases: Vec<Case> = HANDPICKED
        .iter()
        .enumerate()
        .map(|(i, t)| Case {
            name: format!("h{i}"),
            template: (*t).into(),
            data: data.clone(),
        })
        .collect();
    let bad = mismatches(&bin, &cases);
    assert!(
        bad.is_empty(),
        "{} of {} differ from Go:\n{}",
        bad.len(),
        cases.len(),
        bad.join("\n")
    );
}

fn seed() -> proptest::test_runner::RngSeed {
    let fixed = std::env::var("FERROFLUX_TEMPLATE_SEED")
        .ok()
        .and_then(|v| v.parse().ok());
    proptest::test_runner::RngSeed::Fixed(fixed.unwrap_or(0x5eed_f1a5))
}

/// `FERROFLUX_TEMPLATE_BATCH` raises the batch size for local soak runs.
fn batch_size() -> usize {
    std::env::var("FERROFLUX_TEMPLATE_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400)
}

proptest! {
    // One case = one batch of 400 generated templates sent to the oracle at
    // once; shrinking drops cases from the batch.
    // The seed is fixed so that CI is deterministic; set
    // FERROFLUX_TEMPLATE_SEED (and FERROFLUX_TEMPLATE_BATCH) to explore.
    #![proptest_config(ProptestConfig {
        cases: 1,
        max_shrink_iters: 0,
        rng_seed: seed(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]
    #[test]
    fn generated_templates_match_go(seeds in proptest::collection::vec(any::<u64>(), batch_size())) {
        let Some(bin) = oracle() else { return Ok(()) };
        let cases: Vec<Case> = seeds.iter().map(|s| crate::generate::case(*s)).collect();
        let bad = mismatches(&bin, &cases);
        prop_assert!(bad.is_empty(), "{} of {} differ from Go:\n{}", bad.len(), cases.len(), bad.join("\n"));
    }
}
