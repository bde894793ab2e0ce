use super::*;
use crate::openapi::OpenApi;

const DEP: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web, tier: front}
  annotations: {team: a}
spec:
  replicas: 1
";

fn resources(text: &str) -> Vec<Resource> {
    crate::build::parse_resources("r.yaml", text).expect("resources")
}

fn entry(patch: &str) -> Entry {
    Entry {
        patch: patch.to_string(),
        line: 7,
        ..Entry::default()
    }
}

fn configure_one(e: Entry, files: &[(&str, &str)]) -> Result<Configured, Error> {
    let mut read = |name: &str| -> Result<String, Error> {
        files
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| t.to_string())
            .ok_or_else(|| Error::Build(format!("{name}: no such file")))
    };
    configure("k.yaml", &[], &[e], &[], &mut read)
}

fn message(r: Result<Configured, Error>) -> String {
    r.expect_err("refused").to_string()
}

#[test]
fn configuration_errors_name_the_file_and_line() {
    let m = message(configure_one(
        Entry {
            line: 7,
            ..Entry::default()
        },
        &[],
    ));
    assert_eq!(m, "k.yaml:7: patches: must specify one of patch and path");
    let both = Entry {
        path: "p.yaml".to_string(),
        ..entry("a: 1")
    };
    assert_eq!(
        message(configure_one(both, &[])),
        "k.yaml:7: patches: patch and path can't be set at the same time"
    );
    let missing = Entry {
        path: "p.yaml".to_string(),
        line: 7,
        ..Entry::default()
    };
    assert!(
        message(configure_one(missing, &[]))
            .starts_with("k.yaml:7: failed to get the patch file from path(p.yaml)")
    );
    assert_eq!(
        message(configure_one(entry("just text"), &[])),
        "k.yaml:7: unable to parse SM or JSON patch from [patch: \"just text\"]"
    );
    assert_eq!(
        message(configure_one(entry("# nothing"), &[])),
        "k.yaml:7: illegally qualifies as both an SM and JSON patch: [patch: \"# nothing\"]"
    );
    let big = "#".repeat(MAX_PATCH_BYTES + 1);
    assert!(message(configure_one(entry(&big), &[])).contains("more than the"));
}

#[test]
fn json6902_entries_need_a_named_target_and_one_source() {
    let mut read = |_: &str| -> Result<String, Error> { Ok(String::new()) };
    let target = Some(Selector {
        name: "web".to_string(),
        ..Selector::default()
    });
    let cases = [
        (
            Entry {
                line: 3,
                ..entry("[]")
            },
            "must specify the target name",
        ),
        (
            Entry {
                target: target.clone(),
                line: 3,
                ..Entry::default()
            },
            "empty file path and empty jsonOp",
        ),
        (
            Entry {
                target: target.clone(),
                path: "p".to_string(),
                ..entry("[]")
            },
            "must specify a file path or jsonOp, not both",
        ),
        (
            Entry {
                target: target.clone(),
                path: "p".to_string(),
                ..Entry::default()
            },
            "seems to be empty",
        ),
        (
            Entry {
                target: target.clone(),
                ..entry("[]")
            },
            "patch appears to be empty",
        ),
        (
            Entry {
                target: target.clone(),
                ..entry("{a: 1}")
            },
            "decoding {a: 1}",
        ),
    ];
    for (e, want) in cases {
        let m = configure("k.yaml", &[], &[], &[e], &mut read)
            .expect_err(want)
            .to_string();
        assert!(m.starts_with("k.yaml:"), "{m}");
        assert!(m.contains(want), "{want}: {m}");
    }
}

#[test]
fn strategic_merge_entries_are_text_first_then_files() {
    let patch =
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 3}\n";
    let mut read = |name: &str| -> Result<String, Error> {
        match name {
            "p.yaml" => Ok(patch.to_string()),
            "empty.yaml" => Ok(String::new()),
            _ => Err(Error::Build(format!("{name}: no such file"))),
        }
    };
    let c = configure(
        "k.yaml",
        &[("p.yaml".to_string(), 2), (patch.to_string(), 3)],
        &[],
        &[],
        &mut read,
    )
    .expect("configured");
    let Step::StrategicMerge(patches) = &c.first[0] else {
        panic!("a strategic merge step")
    };
    assert_eq!(patches.len(), 2);
    let e = configure(
        "k.yaml",
        &[("nope.yaml".to_string(), 2)],
        &[],
        &[],
        &mut read,
    )
    .expect_err("missing file");
    assert!(e.to_string().contains("nope.yaml: no such file"), "{e}");
    let e = configure(
        "k.yaml",
        &[("empty.yaml".to_string(), 2)],
        &[],
        &[],
        &mut read,
    )
    .expect_err("empty");
    assert_eq!(
        e.to_string(),
        "k.yaml:2: patchesStrategicMerge: patch appears to be empty"
    );
}

#[test]
fn selectors_match_as_kustomize_matches() {
    let rs = resources(&format!(
        "{DEP}---\napiVersion: v1\nkind: Service\nmetadata: {{name: web-svc, namespace: ns1}}\n"
    ));
    let sel = |f: &dyn Fn(&mut Selector)| {
        let mut s = Selector::default();
        f(&mut s);
        select(&rs, &s, &OpenApi::default())
    };
    assert_eq!(sel(&|_| {}), Ok(vec![0, 1]));
    assert_eq!(
        sel(&|s| s.name = "web".to_string()),
        Ok(vec![0]),
        "anchored"
    );
    assert_eq!(sel(&|s| s.name = "web.*".to_string()), Ok(vec![0, 1]));
    assert_eq!(sel(&|s| s.namespace = "default".to_string()), Ok(vec![0]));
    assert_eq!(sel(&|s| s.group = "apps".to_string()), Ok(vec![0]));
    assert_eq!(sel(&|s| s.kind = "Serv.*".to_string()), Ok(vec![1]));
    assert_eq!(
        sel(&|s| s.label_selector = "tier in (front, back),app=web,!x".to_string()),
        Ok(vec![0])
    );
    assert_eq!(
        sel(&|s| s.label_selector = "app!=web".to_string()),
        Ok(vec![1])
    );
    assert_eq!(
        sel(&|s| s.label_selector = "tier notin (front)".to_string()),
        Ok(vec![1])
    );
    assert_eq!(
        sel(&|s| s.annotation_selector = "team".to_string()),
        Ok(vec![0])
    );
    assert!(
        sel(&|s| s.name = "(".to_string())
            .unwrap_err()
            .contains("error parsing regexp")
    );
    assert!(
        sel(&|s| s.label_selector = "a in b".to_string())
            .unwrap_err()
            .contains("unable to parse requirement")
    );
    assert!(sel(&|s| s.label_selector = "a,,b".to_string()).is_err());
}

#[test]
fn merge_patches_without_a_target_need_exactly_one_match() {
    let mut rs = resources(DEP);
    let step = |patch: &str| Step::Merge {
        patches: resources(patch),
        target: None,
        allow_name_change: false,
        allow_kind_change: false,
        source: "[patch]".to_string(),
    };
    let e = step("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: other}\n")
        .apply(&mut rs, &OpenApi::default())
        .expect_err("no match");
    assert!(
        e.starts_with(
            "no resource matches strategic merge patch \"Deployment.v1.apps/other.[noNs]\""
        ),
        "{e}"
    );
    let mut two = resources(&format!(
        "{DEP}---\n{}",
        DEP.replace("name: web", "name: web\n  namespace: default")
    ));
    two[1].value = rs[0].value.clone();
    let e = step("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n")
        .apply(&mut two, &OpenApi::default())
        .expect_err("two matches");
    assert!(e.contains("multiple matches for Id"), "{e}");
    step("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 4}\n")
        .apply(&mut rs, &OpenApi::default())
        .expect("applies");
    assert_eq!(
        rs[0].value.get("spec").and_then(|s| s.get("replicas")),
        Some(&Value::Int(4))
    );
}

#[test]
fn targeted_steps_report_their_errors() {
    let mut rs = resources(DEP);
    let two = Step::Merge {
        patches: resources(&format!("{DEP}---\n{}", DEP.replace("web", "w2"))),
        target: Some(Selector::default()),
        allow_name_change: false,
        allow_kind_change: false,
        source: "[path: \"p.yaml\"]".to_string(),
    };
    assert!(
        two.apply(&mut rs, &OpenApi::default())
            .unwrap_err()
            .starts_with("Multiple Strategic-Merge Patches")
    );
    let bad_target = Step::Merge {
        patches: resources(DEP),
        target: Some(Selector {
            name: "(".to_string(),
            ..Selector::default()
        }),
        allow_name_change: false,
        allow_kind_change: false,
        source: String::new(),
    };
    assert!(
        bad_target
            .apply(&mut rs, &OpenApi::default())
            .unwrap_err()
            .starts_with("unable to find patch target")
    );
    let json = Step::Json {
        ops: json6902::decode("[]").expect("ops"),
        target: None,
        source: "[patch: \"[]\"]".to_string(),
    };
    assert_eq!(
        json.apply(&mut rs, &OpenApi::default()).unwrap_err(),
        "must specify a target for JSON patch [patch: \"[]\"]"
    );
    let failing = Step::Json6902 {
        ops: json6902::decode(r#"[{"op": "remove", "path": "/nope"}]"#).expect("ops"),
        target: Selector::default(),
        source: String::new(),
    };
    let e = failing.apply(&mut rs, &OpenApi::default()).unwrap_err();
    assert!(
        e.starts_with("Deployment.v1.apps/web.[noNs] (r.yaml:1): error in remove"),
        "{e}"
    );
    let merge_error = Step::Merge {
        patches: resources(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: 3\n",
        ),
        target: None,
        allow_name_change: false,
        allow_kind_change: false,
        source: String::new(),
    };
    let e = merge_error.apply(&mut rs, &OpenApi::default()).unwrap_err();
    assert!(e.contains("wrong node kind"), "{e}");
}

#[test]
fn a_patch_keeps_name_kind_and_namespace_unless_allowed() {
    let patch = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: other, namespace: x}\n";
    let mut rs = resources(DEP);
    let step = |name: bool, kind: bool| Step::Merge {
        patches: resources(patch),
        target: Some(Selector::default()),
        allow_name_change: name,
        allow_kind_change: kind,
        source: String::new(),
    };
    step(false, false)
        .apply(&mut rs, &OpenApi::default())
        .expect("applies");
    assert_eq!(
        (rs[0].name(), rs[0].kind(), rs[0].namespace()),
        ("web".into(), "Deployment".into(), String::new())
    );
    step(true, true)
        .apply(&mut rs, &OpenApi::default())
        .expect("applies");
    assert_eq!(
        (rs[0].name(), rs[0].kind()),
        ("other".into(), "StatefulSet".into())
    );
    assert_eq!(
        rs[0].previous.len(),
        1,
        "the old id is kept for name references"
    );
    let delete = Step::Merge {
        patches: resources(
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: other}\n$patch: delete\n",
        ),
        target: None,
        allow_name_change: false,
        allow_kind_change: false,
        source: String::new(),
    };
    delete.apply(&mut rs, &OpenApi::default()).expect("deletes");
    assert!(rs.is_empty());
}

#[test]
fn transformer_configs_are_read_or_refused_with_the_field() {
    let mut read = |name: &str| -> Result<String, Error> {
        Err(Error::Build(format!("{name}: no such file")))
    };
    let config = |body: &str| resources(&format!("apiVersion: builtin\n{body}"))[0].clone();
    let other = config("kind: PrefixTransformer\nmetadata: {name: p}\n");
    assert!(
        from_config("t.yaml", &other, &mut read)
            .expect("not mine")
            .is_none()
    );
    let plugin =
        resources("apiVersion: example.com/v1\nkind: PatchTransformer\nmetadata: {name: p}\n");
    assert!(
        from_config("t.yaml", &plugin[0], &mut read)
            .expect("not builtin")
            .is_none()
    );
    let ok = config(
        "kind: PatchTransformer\nmetadata: {name: p}\ntarget: {kind: Deployment}\noptions: {allowNameChange: true}\npatch: '[]'\n",
    );
    let steps = from_config("t.yaml", &ok, &mut read)
        .expect("configured")
        .expect("mine");
    assert!(matches!(
        &steps[..],
        [Step::Json {
            target: Some(_),
            ..
        }]
    ));
    for (body, want) in [
        (
            "kind: PatchTransformer\nmetadata: {name: p}\ntarget: 3\n",
            "`target` must be a mapping",
        ),
        (
            "kind: PatchTransformer\nmetadata: {name: p}\ntarget: {kind: 3}\n",
            "`target.kind` must be a string",
        ),
        (
            "kind: PatchTransformer\nmetadata: {name: p}\npatch: [1]\n",
            "`patch` must be a string",
        ),
        (
            "kind: PatchStrategicMergeTransformer\nmetadata: {name: p}\npaths: x\n",
            "`paths` must be a list of strings",
        ),
        (
            "kind: PatchStrategicMergeTransformer\nmetadata: {name: p}\npaths: [1]\n",
            "`paths` must be a list of strings",
        ),
        (
            "kind: PatchStrategicMergeTransformer\nmetadata: {name: p}\npaths: [f.yaml]\n",
            "f.yaml: no such file",
        ),
        (
            "kind: PatchJson6902Transformer\nmetadata: {name: p}\njsonOp: '[]'\n",
            "must specify the target name",
        ),
    ] {
        let e = from_config("t.yaml", &config(body), &mut read)
            .expect_err(body)
            .to_string();
        assert!(e.contains(want), "{body}: {e}");
    }
}

#[test]
fn the_namespace_hint_is_added_only_to_unmatched_patches_naming_it() {
    let unmatched = || {
        Error::Build(
            "k.yaml: no resource matches strategic merge patch \"Deployment.v1.apps/web.prod\": x"
                .to_string(),
        )
    };
    assert!(hint(unmatched(), "prod").to_string().contains("hint: "));
    assert_eq!(hint(unmatched(), ""), unmatched());
    assert_eq!(hint(unmatched(), "stage"), unmatched());
    let other = Error::Build("k.yaml: something else .prod".to_string());
    assert_eq!(hint(other.clone(), "prod"), other);
    let at = Error::At {
        file: "k.yaml".to_string(),
        line: 1,
        message: "no resource matches strategic merge patch".to_string(),
    };
    assert_eq!(hint(at.clone(), "prod"), at);
}
