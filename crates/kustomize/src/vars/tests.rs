use super::*;
use crate::openapi::OpenApi;
use crate::value::from_node;

fn doc(text: &str) -> Value {
    let docs = ferroflux_api::yaml::parse_stream_raw(text).expect("yaml");
    from_node(docs[0].node.as_ref().expect("a document"))
}

fn vars(text: &str) -> Result<Vec<Var>, String> {
    from_value(&doc(text), &|i| format!("k.yaml:{i}"))
}

fn resources(text: &str) -> Vec<Resource> {
    crate::build::parse_resources("r.yaml", text).expect("resources")
}

const RES: &str = "apiVersion: v1\nkind: Service\nmetadata:\n  name: db\nspec:\n  ports:\n  - port: 5432\n    name: pg\n  weight: 0.5\n  big: 1234567.0\n  on: true\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: app\n  annotations:\n    a: \"$(PORT)\"\n    b: \"x-$(PORT)-$(NAME)-$$(PORT)-$(NOPE)-$(\"\n    c: \"$(WEIGHT)/$(BIG)/$(ON)\"\nspec:\n  containers:\n  - name: c\n    args: [\"$(PORT)\", \"$(NAME)\"]\n";

fn var(name: &str, path: &str) -> String {
    format!(
        "- name: {name}\n  objref: {{apiVersion: v1, kind: Service, name: db}}\n  fieldref: {{fieldPath: \"{path}\"}}\n"
    )
}

#[test]
fn vars_decode_with_defaults_and_api_version_split() {
    let v =
        vars("- name: X\n  objref: {apiVersion: apps/v1, kind: Deployment, name: d}\n").unwrap();
    assert_eq!(v[0].field_path, DEFAULT_FIELD_PATH);
    assert_eq!(v[0].objref.gvk.group, "apps");
    assert_eq!(v[0].objref.gvk.version, "v1");
    let v = vars("- name: X\n  objref: {version: v1, kind: Service, name: d}\n  fieldref: {fieldpath: spec.x}\n").unwrap();
    assert_eq!(v[0].field_path, "spec.x", "keys match case-insensitively");
}

#[test]
fn malformed_vars_are_refused_naming_the_field() {
    for (text, want) in [
        ("{}", "expected a list"),
        ("- 1", "vars[0]: expected a mapping"),
        (
            "- name: X\n  objrf: {}\n",
            "unknown field \"objrf\"; did you mean `objref`?",
        ),
        (
            "- name: X\n  objref: {kind: S, nam: x}\n",
            "vars[0].objref: unknown field \"nam\"",
        ),
        (
            "- name: X\n  objref: []\n",
            "vars[0].objref: expected a mapping",
        ),
        (
            "- name: X\n  fieldref: {path: x}\n",
            "vars[0].fieldref: unknown field \"path\"",
        ),
        ("- name: [1]\n", "vars[0].name: expected a string"),
    ] {
        let e = vars(text).expect_err(text);
        assert!(e.contains(want), "{text}: {e}");
    }
}

#[test]
fn substitution_keeps_types_for_whole_references_and_formats_as_go() {
    let mut rs = resources(RES);
    let mut set = VarSet::default();
    let list = vars(
        &[
            var("PORT", "spec.ports[0].port"),
            var("NAME", "metadata.name"),
            var("WEIGHT", "spec.weight"),
            var("BIG", "spec.big"),
            var("ON", "spec.on"),
            var("UNUSED", "spec.ports"),
        ]
        .concat(),
    )
    .unwrap();
    set.merge(&list, &mut rs, &OpenApi::default()).unwrap();
    assert_eq!(rs[0].ref_vars.len(), 6);
    let warnings = resolve(
        &set,
        &mut rs,
        &crate::transform::fieldspec::builtin().var_reference,
    )
    .unwrap();
    assert_eq!(
        warnings,
        ["well-defined vars that were never replaced: UNUSED"]
    );
    let ann = |k: &str| {
        rs[1]
            .value
            .get("metadata")
            .unwrap()
            .get("annotations")
            .unwrap()
            .get(k)
            .unwrap()
            .clone()
    };
    assert_eq!(ann("a"), Value::Int(5432));
    assert_eq!(
        ann("b"),
        Value::Str("x-5432-db-$(PORT)-$(NOPE)-$(".to_string())
    );
    assert_eq!(ann("c"), Value::Str("0.5/1.234567e+06/true".to_string()));
    let args = lookup_args(&rs[1]);
    assert_eq!(args, vec![Value::Int(5432), Value::Str("db".to_string())]);
}

fn lookup_args(r: &Resource) -> Vec<Value> {
    let path = crate::fieldpath::split("spec.containers.0.args");
    match crate::fieldpath::lookup(&r.value, &path).unwrap() {
        Some(Value::Seq(items)) => items.clone(),
        other => panic!("args: {other:?}"),
    }
}

#[test]
fn go_float_formatting() {
    assert_eq!(go_float_v(1.5), "1.5");
    assert_eq!(go_float_v(1e6), "1e+06");
    assert_eq!(go_float_v(123456.0), "123456");
    assert_eq!(go_float_v(0.0001), "0.0001");
    assert_eq!(go_float_v(0.00001), "1e-05");
    assert_eq!(go_float_v(1e100), "1e+100");
}

#[test]
fn a_var_without_a_resource_or_field_is_an_error() {
    let mut rs = resources(RES);
    let mut set = VarSet::default();
    let list = vars("- name: X\n  objref: {kind: Service, name: db}\n").unwrap();
    set.merge(&list, &mut rs, &OpenApi::default()).unwrap();
    let e = resolve(&set, &mut rs, &[]).unwrap_err();
    assert!(
        e.contains("cannot be mapped to a field in the set of known resources"),
        "{e}"
    );
    assert!(e.contains("k.yaml:0"), "names where it was declared: {e}");

    let mut rs = resources(RES);
    let mut set = VarSet::default();
    set.merge(
        &vars(&var("X", "spec.nothing")).unwrap(),
        &mut rs,
        &OpenApi::default(),
    )
    .unwrap();
    let e = resolve(&set, &mut rs, &[]).unwrap_err();
    assert!(e.contains("not found in corresponding resource"), "{e}");
}

#[test]
fn a_var_declared_twice_or_matching_two_resources_is_an_error() {
    let mut rs = resources(RES);
    let mut set = VarSet::default();
    set.merge(
        &vars(&var("X", "metadata.name")).unwrap(),
        &mut rs,
        &OpenApi::default(),
    )
    .unwrap();
    let e = set
        .merge(
            &vars(&var("X", "metadata.name")).unwrap(),
            &mut rs,
            &OpenApi::default(),
        )
        .unwrap_err();
    assert!(e.contains("var 'X' already encountered"), "{e}");
    let mut other = VarSet::default();
    other
        .merge(
            &vars(&var("X", "spec.x")).unwrap(),
            &mut [],
            &OpenApi::default(),
        )
        .unwrap();
    assert!(set.merge_set(&other).is_err());

    let mut twice = resources(&format!(
        "{RES}---\napiVersion: v1\nkind: Service\nmetadata:\n  name: db\n  namespace: other\n"
    ));
    let e = VarSet::default()
        .merge(
            &vars(&var("Y", "metadata.name")).unwrap(),
            &mut twice,
            &OpenApi::default(),
        )
        .unwrap_err();
    assert!(e.contains("found 2 resId matches"), "{e}");
    let ns =
        vars("- name: Z\n  objref: {apiVersion: v1, kind: Service, name: db, namespace: other}\n")
            .unwrap();
    VarSet::default()
        .merge(&ns, &mut twice, &OpenApi::default())
        .expect("a namespace disambiguates");
}

#[test]
fn substitution_refuses_non_string_list_items_and_huge_results() {
    let mut rs = resources(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    args: [\"$(X)\", 3]\n",
    );
    let mut set = VarSet::default();
    set.merge(
        &vars("- name: X\n  objref: {apiVersion: v1, kind: Pod, name: p}\n").unwrap(),
        &mut rs,
        &OpenApi::default(),
    )
    .unwrap();
    let e = resolve(
        &set,
        &mut rs,
        &crate::transform::fieldspec::builtin().var_reference,
    )
    .unwrap_err();
    assert!(e.contains("invalid value type expect a string"), "{e}");

    let long = "x".repeat(4096);
    let refs = "$(X)".repeat(400);
    let mut rs = resources(&format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {long}\n  annotations:\n    a: \"{refs}\"\n"
    ));
    let mut set = VarSet::default();
    set.merge(
        &vars(
            "- name: X\n  objref: {apiVersion: v1, kind: Pod, name: PLACEHOLDER}\n"
                .replace("PLACEHOLDER", &long)
                .as_str(),
        )
        .unwrap(),
        &mut rs,
        &OpenApi::default(),
    )
    .unwrap();
    let e = resolve(
        &set,
        &mut rs,
        &crate::transform::fieldspec::builtin().var_reference,
    )
    .unwrap_err();
    assert!(e.contains("longer than"), "{e}");
}

#[test]
fn substitutions_share_one_budget_per_build() {
    let values: BTreeMap<&str, Found> = [("X", Found::Str("0123456789".to_string()))].into();
    let mut sub = Substitution {
        values: &values,
        used: BTreeMap::new(),
        budget: 25,
    };
    assert!(sub.expand("$(X)-$(X)").is_ok(), "20 bytes fit");
    let e = match sub.expand("a $(X)") {
        Err(e) => e,
        Ok(_) => panic!("the budget is spent"),
    };
    assert!(e.contains("adds more than"), "{e}");
    assert_eq!(sub.used.get("X"), Some(&3));
}
