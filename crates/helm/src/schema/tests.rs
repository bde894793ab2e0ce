use serde_json::{Value, json};

use super::*;

fn check(schema: Value, values: Value) -> Result<(), String> {
    let Value::Object(values) = values else {
        panic!("values must be a map")
    };
    validate_single(&values, schema.to_string().as_bytes())
}

#[test]
fn the_library_wording_for_each_keyword() {
    let cases = [
        (
            json!({"required": ["a", "b"]}),
            json!({}),
            "- at '': missing properties 'a', 'b'\n",
        ),
        (
            json!({"properties": {"n": {"type": "integer"}}}),
            json!({"n": 1.5}),
            "- at '/n': got number, want integer\n",
        ),
        (
            json!({"properties": {"n": {"type": ["string", "null"]}}}),
            json!({"n": 1.0}),
            "- at '/n': got number, want null or string\n",
        ),
        (
            json!({"properties": {"n": {"minimum": 1000}}}),
            json!({"n": 5.0}),
            "- at '/n': minimum: got 5, want 1,000\n",
        ),
        (
            json!({"properties": {"n": {"multipleOf": 0.1}}}),
            json!({"n": 0.35}),
            "- at '/n': multipleOf: got 0.35, want 0.1\n",
        ),
        (
            json!({"properties": {"s": {"enum": ["a", "b"]}}}),
            json!({"s": "c"}),
            "- at '/s': value must be one of 'a', 'b'\n",
        ),
        (
            json!({"properties": {"s": {"const": "a"}}}),
            json!({"s": "c"}),
            "- at '/s': value must be 'a'\n",
        ),
        (
            json!({"properties": {"s": {"pattern": "^[a-z]+$"}}}),
            json!({"s": "A1"}),
            "- at '/s': 'A1' does not match pattern '^[a-z]+$'\n",
        ),
        (
            json!({"additionalProperties": false, "properties": {"a": true}}),
            json!({"a": 1.0, "z": 1.0, "b": 1.0}),
            "- at '': additional properties 'b', 'z' not allowed\n",
        ),
        (
            json!({"properties": {"l": {"uniqueItems": true}}}),
            json!({"l": [1.0, 2.0, 1.0]}),
            "- at '/l': items at 0 and 2 are equal\n",
        ),
        (
            json!({"properties": {"l": {"items": {"type": "string"}}}}),
            json!({"l": ["a", 2.0]}),
            "- at '/l/1': got number, want string\n",
        ),
        (
            json!({"properties": {"n": {"not": {"type": "number"}}}}),
            json!({"n": 1.0}),
            "- at '/n': 'not' failed\n",
        ),
        (
            json!({"$schema": "http://json-schema.org/draft-07/schema#", "properties": {"e": {"format": "email"}}}),
            json!({"e": "nobody"}),
            "- at '/e': 'nobody' is not valid email: missing @\n",
        ),
    ];
    for (schema, values, want) in cases {
        assert_eq!(
            check(schema.clone(), values).expect_err("fails"),
            want,
            "{schema}"
        );
    }
}

#[test]
fn nested_failures_are_grouped_and_indented() {
    let schema = json!({
        "definitions": {"port": {"type": "integer", "minimum": 1}},
        "properties": {
            "p": {"$ref": "#/definitions/port"},
            "q": {"minimum": 10, "multipleOf": 3},
            "r": {"anyOf": [{"type": "string"}, {"type": "boolean"}]}
        }
    });
    let err = check(schema, json!({"p": 0.0, "q": 4.0, "r": 1.0})).expect_err("fails");
    assert_eq!(
        err,
        "- at '/p': minimum: got 0, want 1\n\
         - at '/q': validation failed\n  \
         - at '/q': minimum: got 4, want 10\n  \
         - at '/q': multipleOf: got 4, want 3\n\
         - at '/r': 'anyOf' failed\n  \
         - at '/r': got number, want string\n  \
         - at '/r': got number, want boolean\n"
    );
}

#[test]
fn formats_are_annotations_from_2019_on() {
    let schema = json!({"properties": {"e": {"format": "email"}}});
    assert_eq!(check(schema, json!({"e": "nobody"})), Ok(()));
}

#[test]
fn a_reference_to_another_document_is_refused_by_name() {
    let err = check(json!({"$ref": "https://example.com/s.json"}), json!({})).expect_err("refused");
    assert!(
        err.contains("unresolved $ref 'https://example.com/s.json'"),
        "{err}"
    );
    let err = check(json!({"$ref": "#/nope"}), json!({})).expect_err("refused");
    assert!(err.contains("unresolved $ref '#/nope'"), "{err}");
}

#[test]
fn a_self_reference_does_not_overflow_the_stack() {
    let err = check(json!({"$ref": "#"}), json!({})).expect_err("refused");
    assert!(err.contains("nests too deeply"), "{err}");
}
