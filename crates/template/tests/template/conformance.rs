//! Flux's own vectors, read from `$FERROFLUX_CONFORMANCE_DIR/flux-image/messages.json`:
//! the commit-message cases (rendered as Flux v1 renders them) and the
//! push-event summaries. The ImagePolicy ready messages in the same file
//! belong to the policy controller.

use std::collections::BTreeMap;

use ferroflux_template::{
    ApiVersion, AutomationRef, Change, ObjectRef, PushResult, RenderOptions, TemplateData,
    TemplateError, push_summary, render,
};
use serde_json::Value as J;

fn messages() -> Option<J> {
    let dir = ferroflux_testkit::env::dir_from_env("FERROFLUX_CONFORMANCE_DIR")?;
    let text = std::fs::read_to_string(dir.join("flux-image/messages.json"))
        .expect("read flux-image/messages.json");
    Some(serde_json::from_str(&text).expect("messages.json is JSON"))
}

fn s(v: &J) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// Converts the vector's data (FileChanges as file → [{object, changes}]) to our input.
fn data_of(d: &J) -> TemplateData {
    let ao = &d["AutomationObject"];
    let values = d["Values"].as_object().map(|m| {
        m.iter()
            .map(|(k, v)| (k.clone(), s(v)))
            .collect::<BTreeMap<String, String>>()
    });
    let mut changes = Vec::new();
    if let Some(files) = d["Changed"]["FileChanges"].as_object() {
        for (file, objs) in files {
            for entry in objs.as_array().expect("file entries") {
                let o = &entry["object"];
                let object = ObjectRef {
                    api_version: s(&o["APIVersion"]),
                    kind: s(&o["Kind"]),
                    name: s(&o["Name"]),
                    namespace: s(&o["Namespace"]),
                };
                for c in entry["changes"].as_array().expect("changes") {
                    changes.push(Change {
                        file: file.clone(),
                        object: object.clone(),
                        old_value: s(&c["OldValue"]),
                        new_value: s(&c["NewValue"]),
                        setter: s(&c["Setter"]),
                    });
                }
            }
        }
    }
    TemplateData {
        automation: AutomationRef {
            name: s(&ao["Name"]),
            namespace: s(&ao["Namespace"]),
        },
        values,
        policies: BTreeMap::new(),
        changes,
    }
}

#[test]
fn commit_message_cases() {
    let Some(m) = messages() else { return };
    let cases = m["commit_message"]["cases"].as_array().unwrap();
    assert!(cases.len() >= 6, "fewer commit_message cases than expected");
    let v1 = RenderOptions {
        api_version: ApiVersion::V1,
    };
    for case in cases {
        let id = s(&case["id"]);
        let got = render(
            case["template"].as_str().unwrap(),
            &data_of(&case["data"]),
            v1,
        );
        if let Some(want) = case.get("expected") {
            assert_eq!(got.as_deref().ok(), want.as_str(), "{id}: {got:?}");
        } else if let Some(parts) = case.get("expected_contains") {
            let msg = got.unwrap_or_else(|e| panic!("{id}: {e}"));
            for p in parts.as_array().unwrap() {
                assert!(msg.contains(p.as_str().unwrap()), "{id}: {msg:?} lacks {p}");
            }
        } else if let Some(want) = case.get("expected_error") {
            let err = got.expect_err(&id);
            assert_eq!(err.to_string(), want.as_str().unwrap(), "{id}");
            assert_eq!(err.reason(), "RemovedTemplateField", "{id}");
            assert!(err.is_stalled(), "{id}");
        } else {
            panic!("{id}: case without expectation");
        }
    }
}

#[test]
fn removed_updated_field_renders_for_v1beta2() {
    let Some(m) = messages() else { return };
    let case = m["commit_message"]["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "removed-updated-field")
        .expect("removed-updated-field case");
    let mut data = data_of(&case["data"]);
    data.policies.insert(
        "test-ns/policy1".into(),
        ferroflux_template::LatestRef {
            name: "helloworld".into(),
            tag: "1.0.1".into(),
            digest: String::new(),
        },
    );
    let opts = RenderOptions {
        api_version: ApiVersion::V1beta2,
    };
    let msg = render(case["template"].as_str().unwrap(), &data, opts).unwrap();
    assert_eq!(
        msg,
        "Commit summary\n\nAutomation: test-ns/test-update\n\nFiles:\n- deploy.yaml\nObjects:\n- deployment test\nImages:\n- helloworld:1.0.1 (policy1)\n"
    );
}

#[test]
fn other_template_errors_are_not_removed_field() {
    let data = TemplateData::default();
    let v1 = RenderOptions::default();
    let e = render("{{ .Changed.Nope }}", &data, v1).unwrap_err();
    assert!(matches!(e, TemplateError::Exec(_)), "{e:?}");
    assert_eq!(e.reason(), "GitOperationFailed");
    assert!(e.to_string().starts_with("failed to run template from spec: template: commit message:1:11: executing \"commit message\" at <.Changed.Nope>: can't evaluate field Nope in type update.Result"), "{e}");
    let e = render("{{ if }}", &data, v1).unwrap_err();
    assert!(matches!(e, TemplateError::Parse(_)));
    assert_eq!(
        e.to_string(),
        "unable to create commit message template from spec: template: commit message:1: missing value for if"
    );
}

#[test]
fn push_summary_cases() {
    let Some(m) = messages() else { return };
    let cases = m["push_summary"]["cases"].as_array().unwrap();
    assert!(cases.len() >= 6);
    for case in cases {
        let refspecs: Vec<String> = case["refspecs"].as_array().unwrap().iter().map(s).collect();
        let r = PushResult {
            branch: case["branch"].as_str().unwrap(),
            revision: case["rev"].as_str().unwrap(),
            commit_message: case["commitMsg"].as_str().unwrap(),
            refspecs: &refspecs,
        };
        let got = push_summary(&r);
        match (case.get("expected"), case.get("expected_error")) {
            (Some(want), _) => assert_eq!(got.unwrap(), want.as_str().unwrap()),
            (_, Some(want)) => assert_eq!(got.unwrap_err().to_string(), want.as_str().unwrap()),
            _ => panic!("case without expectation"),
        }
    }
}
