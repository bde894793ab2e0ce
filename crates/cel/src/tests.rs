use serde_json::json;

use super::*;

#[test]
fn health_expressions_see_the_objects_top_level_fields() {
    let obj = json!({
        "metadata": {"generation": 2},
        "status": {"observedGeneration": 2, "conditions": [
            {"type": "Ready", "status": "True"}, {"type": "Synced", "status": "False"}
        ]}
    });
    let e = Expression::parse(
        "status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'True')",
    )
    .expect("parse");
    assert_eq!(e.evaluate_on_object(&obj), Ok(true));
    let e =
        Expression::parse("status.conditions.exists(e, e.type == 'Synced' && e.status == 'True')")
            .expect("parse");
    assert_eq!(e.evaluate_on_object(&obj), Ok(false));
    let e = Expression::parse("metadata.generation == status.observedGeneration").expect("parse");
    assert_eq!(e.evaluate_on_object(&obj), Ok(true));
}

#[test]
fn ready_expressions_see_self_and_dep() {
    let e =
        Expression::parse("dep.status.lastAppliedRevision == self.status.lastAttemptedRevision")
            .expect("parse");
    let vars = |a: &str, b: &str| {
        vec![
            (
                "self".to_string(),
                json!({"status": {"lastAttemptedRevision": a}}),
            ),
            (
                "dep".to_string(),
                json!({"status": {"lastAppliedRevision": b}}),
            ),
        ]
    };
    assert_eq!(
        e.evaluate_bool(vars("main@sha1:1", "main@sha1:1")),
        Ok(true)
    );
    assert_eq!(
        e.evaluate_bool(vars("main@sha1:1", "main@sha1:2")),
        Ok(false)
    );
}

#[test]
fn errors_name_the_expression() {
    let err = Expression::parse("status.(").expect_err("syntax");
    assert!(
        err.to_string()
            .starts_with("failed to parse the CEL expression 'status.(': "),
        "{err}"
    );
    let e = Expression::parse("status.phase").expect("parse");
    assert_eq!(
        e.evaluate_on_object(&json!({"status": {"phase": "Bound"}})),
        Err(Error::NotBoolean {
            expr: "status.phase".into()
        })
    );
    let err = e
        .evaluate_on_object(&json!({"spec": {}}))
        .expect_err("no status");
    assert!(
        err.to_string()
            .starts_with("failed to evaluate the CEL expression 'status.phase': "),
        "{err}"
    );
}

#[test]
fn hostile_expressions_fail_without_taking_the_process_down() {
    // Deep nesting: the parser's own limit, reached on our big stack.
    let deep = "(".repeat(500) + "true" + &")".repeat(500);
    assert!(matches!(Expression::parse(&deep), Err(Error::Parse { .. })));
    // A long chain: refused by length before any recursion.
    let long = vec!["1"; 5000].join(" + ") + " == 1";
    assert_eq!(
        Expression::parse(&long).expect_err("too long"),
        Error::TooLong { len: long.len() }
    );
    // The longest accepted chain still evaluates.
    let n = (MAX_LEN - 8) / 4;
    let chain = vec!["1"; n].join(" + ") + " > 0";
    assert!(chain.len() <= MAX_LEN);
    let e = Expression::parse(&chain).expect("parse");
    assert_eq!(e.evaluate_bool(Vec::new()), Ok(true));
}
