use std::collections::BTreeMap;

use ferroflux_helm::release::Status;
use serde_json::{Map, Value, json};

use super::hooks::{hook_done, run_order};
use super::objects::{
    check_ownership, is_keep, parse_manifest, removed, resource_string, set_ownership,
};
use super::storage::{Stored, check_user_labels, encode, labels_of, prune_plan};
use super::{filter_tests, to_record, upgrade_values, wait_delay};

fn map(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("object")
}

#[test]
fn manifests_split_on_dashes_and_skip_empty_documents() {
    let m = "---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n# Source: c/templates/empty.yaml\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: b\n";
    let docs = parse_manifest(m).expect("parses");
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0]["metadata"]["name"], "a");
    assert_eq!(docs[1]["kind"], "Secret");
}

#[test]
fn manifest_errors_name_the_template() {
    let err = parse_manifest("---\n# Source: c/templates/bad.yaml\nkind: [\n").expect_err("bad");
    assert!(err.contains("c/templates/bad.yaml"), "{err}");
    let err = parse_manifest("---\n# Source: c/templates/x.yaml\nkind: ConfigMap\n")
        .expect_err("no apiVersion");
    assert!(
        err.contains("c/templates/x.yaml") && err.contains("apiVersion"),
        "{err}"
    );
    let err = parse_manifest("---\n- a\n").expect_err("a list");
    assert!(err.contains("not an object"), "{err}");
}

#[test]
fn too_many_documents_are_refused() {
    let m = "---\n".repeat(super::objects::MAX_DOCUMENTS + 2);
    let err = parse_manifest(&m).expect_err("bounded");
    assert!(err.contains("more than"), "{err}");
}

#[test]
fn ownership_is_checked_with_helms_words() {
    let live = json!({"kind": "ConfigMap", "metadata": {"name": "a", "namespace": "ns"}});
    let err = check_ownership(&live, "web", "ns").expect_err("unowned");
    assert_eq!(
        err,
        "invalid ownership metadata; label validation error: missing key \"app.kubernetes.io/managed-by\": must be set to \"Helm\"; annotation validation error: missing key \"meta.helm.sh/release-name\": must be set to \"web\"; annotation validation error: missing key \"meta.helm.sh/release-namespace\": must be set to \"ns\""
    );
    let mut owned = live.clone();
    set_ownership(&mut owned, "web", "ns");
    check_ownership(&owned, "web", "ns").expect("owned");
    let err = check_ownership(&owned, "other", "ns").expect_err("another release");
    assert!(
        err.contains(
            "key \"meta.helm.sh/release-name\" must equal \"other\": current value is \"web\""
        ),
        "{err}"
    );
    assert_eq!(
        resource_string(&live),
        "ConfigMap \"a\" in namespace \"ns\""
    );
}

#[test]
fn keep_policy_and_removed_objects() {
    let a = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n"}});
    let b = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": "n",
        "annotations": {"helm.sh/resource-policy": "keep"}}});
    assert!(is_keep(&b) && !is_keep(&a));
    let gone = removed(&[a.clone(), b.clone()], std::slice::from_ref(&b));
    assert_eq!(gone, vec![a]);
}

#[test]
fn hooks_run_by_weight_then_name() {
    let hooks = vec![
        json!({"name": "z", "events": ["pre-install"], "weight": -1}),
        json!({"name": "b", "events": ["pre-install"]}),
        json!({"name": "a", "events": ["pre-install"]}),
        json!({"name": "t", "events": ["test"]}),
        json!({"name": "c", "events": ["pre-install", "pre-upgrade"], "weight": 5}),
    ];
    assert_eq!(run_order(&hooks, "pre-install"), vec![0, 2, 1, 4]);
    assert_eq!(run_order(&hooks, "pre-upgrade"), vec![4]);
    assert_eq!(run_order(&hooks, "test"), vec![3]);
}

#[test]
fn hook_completion_of_jobs_and_pods() {
    let job = |t: &str| {
        json!({"kind": "Job", "metadata": {"name": "j"},
        "status": {"conditions": [{"type": t, "status": "True"}]}})
    };
    assert_eq!(hook_done(&job("Complete")), Ok(true));
    assert!(
        hook_done(&job("Failed"))
            .expect_err("failed")
            .contains("job j failed")
    );
    assert_eq!(
        hook_done(&json!({"kind": "Job", "metadata": {"name": "j"}})),
        Ok(false)
    );
    let pod = |p: &str| json!({"kind": "Pod", "metadata": {"name": "p"}, "status": {"phase": p}});
    assert_eq!(hook_done(&pod("Succeeded")), Ok(true));
    assert_eq!(hook_done(&pod("Running")), Ok(false));
    assert!(
        hook_done(&pod("Failed"))
            .expect_err("failed")
            .contains("pod p failed")
    );
    assert_eq!(hook_done(&json!({"kind": "ConfigMap"})), Ok(true));
}

fn stored(version: i64) -> Stored {
    Stored {
        record: to_record(&json!({"name": "r", "version": version})),
        labels: BTreeMap::new(),
    }
}

#[test]
fn pruning_keeps_the_last_deployed_revision() {
    let h: Vec<Stored> = (1..=5).map(stored).collect();
    assert_eq!(prune_plan(&h, 2, Some(1)), vec![2, 3, 4]);
    assert_eq!(prune_plan(&h, 2, None), vec![1, 2, 3]);
    assert_eq!(prune_plan(&h, 5, None), Vec::<i64>::new());
}

#[test]
fn values_of_an_upgrade() {
    let current = map(json!({"a": 1, "m": {"x": 1, "y": 2}}));
    let new = map(json!({"m": {"x": 9}}));
    assert_eq!(
        upgrade_values(new.clone(), &current, true, false),
        new.clone()
    );
    assert_eq!(
        Value::Object(upgrade_values(new.clone(), &current, false, true)),
        json!({"a": 1, "m": {"x": 9, "y": 2}})
    );
    assert_eq!(upgrade_values(Map::new(), &current, false, false), current);
    assert_eq!(upgrade_values(new.clone(), &current, false, false), new);
}

#[test]
fn test_filters_include_and_exclude() {
    let hooks = vec![
        json!({"name": "a"}),
        json!({"name": "b"}),
        json!({"name": "c"}),
    ];
    let (run, skipped) = filter_tests(hooks.clone(), &[("b".into(), true)]);
    assert_eq!(run.len(), 2);
    assert_eq!(skipped[0]["name"], "b");
    let (run, _) = filter_tests(hooks, &[("c".into(), false)]);
    assert_eq!(run, vec![json!({"name": "c"})]);
}

#[test]
fn system_labels_are_refused_and_storage_labels_follow_the_record() {
    let user = BTreeMap::from([("owner".to_string(), "me".to_string())]);
    let err = check_user_labels(&user).expect_err("reserved");
    assert!(
        err.to_string().contains("system reserved label name"),
        "{err}"
    );
    let rel = json!({"name": "web", "version": 3, "info": {"status": "deployed"}});
    let labels = labels_of(&rel, &BTreeMap::from([("team".into(), "a".into())]));
    assert_eq!(labels["name"], "web");
    assert_eq!(labels["owner"], "helm");
    assert_eq!(labels["status"], "deployed");
    assert_eq!(labels["version"], "3");
    assert_eq!(labels["team"], "a");
    let record = ferroflux_helm::release::decode(&encode(&rel)).expect("decodes");
    assert_eq!(record.status, Some(Status::Deployed));
    assert_eq!(record.version, 3);
}

#[test]
fn an_undecodable_secret_is_an_error_naming_it() {
    use k8s_openapi::ByteString;
    use k8s_openapi::api::core::v1::Secret;
    let mut s = Secret::default();
    s.metadata.name = Some("sh.helm.release.v1.web.v1".into());
    let err = super::storage::read_secret(&s).expect_err("no data");
    assert!(
        err.to_string().contains("sh.helm.release.v1.web.v1"),
        "{err}"
    );
    s.data = Some(std::collections::BTreeMap::from([(
        "release".to_string(),
        ByteString(b"!!".to_vec()),
    )]));
    let err = super::storage::read_secret(&s).expect_err("not base64");
    assert!(err.to_string().contains("not base64"), "{err}");
    for hostile in ["[1, 2]", r#"{"name": "web", "info": "x"}"#] {
        s.data = Some(std::collections::BTreeMap::from([(
            "release".to_string(),
            ByteString(encode_plain(hostile).into_bytes()),
        )]));
        let err = super::storage::read_secret(&s).expect_err("not a release");
        assert!(err.to_string().contains("not a release object"), "{err}");
    }
}

#[test]
fn manifests_are_typed_as_kubernetes_reads_yaml() {
    let v = super::objects::yaml_v2(
        "mode: 0644\nflag: yes\nx: y\nq: '0644'\nn: 3\nf: 1.5\nv: 1.10\nt: 2024-01-01\ns: text\n",
    )
    .expect("parses");
    assert_eq!(
        v,
        json!({"mode": 420, "flag": true, "x": true, "q": "0644", "n": 3, "f": 1.5,
            "v": 1.1, "t": "2024-01-01", "s": "text"})
    );
    let err = super::objects::yaml_v2("a: [\n").expect_err("bad");
    assert!(err.starts_with("yaml: line"), "{err}");
    // Alias bombs are bounded.
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 0..12 {
        let prev = if i == 0 {
            "a".to_string()
        } else {
            format!("b{}", i - 1)
        };
        let refs = vec![format!("*{prev}"); 10].join(", ");
        bomb.push_str(&format!("b{i}: &b{i} [{refs}]\n"));
    }
    assert!(super::objects::yaml_v2(&bomb).is_err());
}

fn encode_plain(json: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(json)
}

#[test]
fn post_render_runs_hooks_too_and_groups_by_template() {
    use std::sync::Arc;
    let files = vec![
        ferroflux_helm::chart::File {
            name: "Chart.yaml".into(),
            data: b"apiVersion: v2\nname: c\nversion: 1.0.0\n".to_vec(),
        },
        ferroflux_helm::chart::File {
            name: "templates/a.yaml".into(),
            data: b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n".to_vec(),
        },
        ferroflux_helm::chart::File {
            name: "templates/hook.yaml".into(),
            data: b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: h\n  annotations:\n    helm.sh/hook: pre-install\n".to_vec(),
        },
    ];
    let chart = ferroflux_helm::chart::load_files(files).expect("chart");
    let rendered = ferroflux_helm::render::render_on_big_stack(
        chart,
        Map::new(),
        ferroflux_helm::RenderOptions::default(),
    )
    .expect("renders");
    let seen = Arc::new(std::sync::Mutex::new(String::new()));
    let saw = seen.clone();
    let pr: ferroflux_helm::action::PostRender = Arc::new(move |m: String| {
        *saw.lock().expect("lock") = m.clone();
        Ok(format!(
            "{}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n",
            m.replace("  name: ", "  labels:\n    p: r\n  name: ")
        ))
    });
    let (manifest, hooks) = super::postrender::combined(&rendered, &pr).expect("post-rendered");
    let input = seen.lock().expect("lock").clone();
    assert!(
        input.contains("postrenderer.helm.sh/postrender-filename: c/templates/hook.yaml"),
        "{input}"
    );
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].path, "c/templates/hook.yaml");
    assert!(hooks[0].manifest.contains("p: r"), "{}", hooks[0].manifest);
    assert!(!hooks[0].manifest.contains("postrender-filename"));
    // Kind order (Secret before ConfigMap), one `# Source:` per document,
    // the generated document under its synthesized name.
    let sources: Vec<&str> = manifest
        .lines()
        .filter_map(|l| l.strip_prefix("# Source: "))
        .collect();
    assert_eq!(
        sources,
        vec![
            "c/templates/a.yaml",
            "c/templates/a.yaml",
            "generated-by-postrender-3.yaml"
        ],
        "{manifest}"
    );
    assert!(manifest.find("kind: Secret") < manifest.find("kind: ConfigMap"));
    assert!(!manifest.contains("postrender-filename"), "{manifest}");
    let pr: ferroflux_helm::action::PostRender = Arc::new(|_| Err("exit status 2".into()));
    let err = super::postrender::combined(&rendered, &pr).expect_err("fails");
    assert_eq!(
        err,
        "error while running post render on files: exit status 2"
    );
}

#[test]
fn records_and_action_errors_print_no_values() {
    let rel = json!({"name": "web", "version": 2, "info": {"status": "failed"},
        "config": {"password": "s3cr3t"},
        "manifest": "kind: Secret\nstringData:\n  token: s3cr3t\n"});
    let record = to_record(&rel);
    let err = ferroflux_helm::action::ActionError::with_record("boom", record.clone());
    for text in [format!("{record:?}"), format!("{err:?}")] {
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(text.contains("web"), "{text}");
    }
}

#[test]
fn a_drift_diff_says_which_manifest_or_kind_it_could_not_read() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // Nothing listens on port 1: discovery fails.
        let config = kube::Config::new("http://127.0.0.1:1".parse().unwrap());
        let helm = super::Helm::new(kube::Client::try_from(config).unwrap(), "apps");
        let rec = |manifest: &str| {
            to_record(&json!({"name": "web", "namespace": "apps", "version": 1,
                "info": {"status": "deployed"}, "manifest": manifest}))
        };
        let err = helm
            .diff(
                &rec("# Source: c/templates/a.yaml\nkind: [\n"),
                "helm-controller",
                &[],
            )
            .await
            .expect_err("a manifest that does not parse");
        assert!(
            err.message.starts_with(
                "failed to read objects from release manifest: error parsing c/templates/a.yaml"
            ),
            "{}",
            err.message
        );
        let set = helm
            .diff(
                &rec("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"),
                "helm-controller",
                &[],
            )
            .await
            .expect("a set");
        assert!(set.diffs.is_empty());
        assert_eq!(set.errors.len(), 1, "{:?}", set.errors);
        assert!(
            set.errors[0].starts_with("failed to determine if ConfigMap is namespace scoped: "),
            "{:?}",
            set.errors
        );
    });
}

/// The wait re-polls early (an object ready after 60 ms is seen at 125 ms,
/// not at 300 ms) and never pauses more than 2 s.
#[test]
fn wait_polls_early_and_backs_off_to_two_seconds() {
    let ms = |n| wait_delay(n).as_millis();
    assert_eq!(ms(0), 50);
    assert_eq!(ms(1), 75);
    assert!((0..3).map(ms).sum::<u128>() < 300);
    assert!((0..40).all(|n| ms(n) <= 2000));
    assert_eq!(ms(40), 2000);
    assert!((1..40).all(|n| ms(n) >= ms(n - 1)));
}
