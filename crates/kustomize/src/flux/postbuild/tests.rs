use super::*;
use crate::build::parse_resources;

fn resource(text: &str) -> Resource {
    parse_resources("r.yaml", text)
        .expect("a resource")
        .remove(0)
}

fn sub(vars: &[(&str, &str)], strict: bool) -> Substitution {
    Substitution {
        vars: vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        strict,
        ..Substitution::default()
    }
}

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: ${A}\n  b: \
                  ${B:=on}\n  c: \"${C:=3}\"\n";

#[test]
fn substitutes_and_reads_the_text_again_as_yaml_v2() {
    let mut r = resource(CM);
    assert_eq!(substitute(&mut r, &sub(&[("A", "x")], true)), Ok(true));
    let data = r.value.get("data").expect("data");
    assert_eq!(data.get("a"), Some(&Value::Str("x".into())));
    // yaml.v2 reads a plain `on` as true, and `3` as a number.
    assert_eq!(data.get("b"), Some(&Value::Bool(true)));
    assert_eq!(data.get("c"), Some(&Value::Int(3)));
}

#[test]
fn no_variables_leaves_the_resource_alone_unless_always() {
    let mut r = resource(CM);
    let before = r.value.clone();
    assert_eq!(substitute(&mut r, &sub(&[], true)), Ok(false));
    assert_eq!(r.value, before);
    let always = Substitution {
        always: true,
        ..sub(&[], false)
    };
    assert_eq!(substitute(&mut r, &always), Ok(true));
    assert_eq!(
        r.value.get("data").and_then(|d| d.get("a")),
        Some(&Value::Null)
    );
}

#[test]
fn the_opt_out_label_or_annotation() {
    for field in ["labels", "annotations"] {
        let text = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  {field}:\n    \
             kustomize.toolkit.fluxcd.io/substitute: disabled\ndata:\n  a: ${{A}}\n"
        );
        let mut r = resource(&text);
        assert_eq!(substitute(&mut r, &sub(&[("A", "x")], true)), Ok(false));
    }
    // Only the exact, lower-case value disables.
    let mut r = resource(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  annotations:\n    \
         kustomize.toolkit.fluxcd.io/substitute: Disabled\ndata:\n  a: ${A}\n",
    );
    assert_eq!(substitute(&mut r, &sub(&[("A", "x")], true)), Ok(true));
}

#[test]
fn errors_name_the_object_in_fluxs_words() {
    let mut r = resource(CM);
    assert_eq!(
        substitute(&mut r, &sub(&[("B", "y")], true))
            .expect_err("A is missing")
            .to_string(),
        "var substitution failed for 'cm': envsubst error: variable substitution failed: \
         variable not set (strict mode): \"A\""
    );
    assert_eq!(
        substitute(&mut r, &sub(&[("my-var", "y")], false))
            .expect_err("bad name")
            .to_string(),
        "var substitution failed for 'cm': envsubst error: 'my-var' var name is invalid, must \
         match '^[_[:alpha:]][_[:alpha:][:digit:]]*$'"
    );
    let mut r =
        resource("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: ${A\n");
    assert_eq!(
        substitute(&mut r, &sub(&[("A", "y")], false))
            .expect_err("unclosed")
            .to_string(),
        "var substitution failed for 'cm': envsubst error: variable substitution failed: \
         missing closing brace"
    );
    // A value that breaks the YAML is reported as Flux's YAMLToJSON does.
    let mut r = resource(CM);
    let err = substitute(&mut r, &sub(&[("A", "[unclosed")], false))
        .expect_err("bad yaml")
        .to_string();
    assert!(
        err.starts_with("var substitution failed for 'cm': envsubst error: YAMLToJSON: yaml: line"),
        "{err}"
    );
    // A value that cuts a character in half.
    let mut r =
        resource("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: ${A:0:1}\n");
    let err = substitute(&mut r, &sub(&[("A", "é")], false))
        .expect_err("not utf-8")
        .to_string();
    assert!(err.contains("invalid UTF-8"), "{err}");
    // A substituted text that is not a mapping.
    let mut r = resource("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n");
    r.value = Value::Str("${A}".into());
    let err = substitute(&mut r, &sub(&[("A", "- x")], false))
        .expect_err("a list")
        .to_string();
    assert!(
        err.ends_with("the substituted text is not a YAML mapping"),
        "{err}"
    );
}

#[test]
fn var_names() {
    for (n, ok) in [
        ("A", true),
        ("_a1", true),
        ("a_b_C", true),
        ("1a", false),
        ("a-b", false),
        ("", false),
        ("é", false),
    ] {
        assert_eq!(valid_var_name(n), ok, "{n}");
    }
}

#[test]
fn yaml_v2_resolution() {
    let docs = yaml::parse_stream_raw("a: yes\nb: \"yes\"\nc: 2001-12-14\nd: 0o17\ne: off\nf: 1\n")
        .expect("yaml");
    let v = from_node_v2(docs[0].node.as_ref().expect("doc"));
    assert_eq!(v.get("a"), Some(&Value::Bool(true)));
    assert_eq!(v.get("b"), Some(&Value::Str("yes".into())));
    assert_eq!(v.get("c"), Some(&Value::Str("2001-12-14".into())));
    assert_eq!(v.get("d").map(Value::resolved), Some(Value::Int(15)));
    assert_eq!(v.get("e"), Some(&Value::Bool(false)));
    assert_eq!(v.get("f"), Some(&Value::Int(1)));
}
