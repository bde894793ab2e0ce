//! Hostile input: arbitrary `--set` strings, YAML, Chart.yaml, archives
//! and schemas never panic or overflow the stack; they load, or fail with
//! an error.

use ferroflux_helm::chart::{File, load_archive, load_files};
use ferroflux_helm::schema::validate_single;
use ferroflux_helm::strvals;
use ferroflux_helm::values::{prepare, read_values, unmarshal};
use proptest::prelude::*;
use serde_json::{Map, json};

fn set_alphabet() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop::sample::select(vec![
            "a", "b", ".", "=", ",", "[", "]", "{", "}", "\\", "0", "1", "-1", "70000", " ",
            "null", "true", "é", "\"", ":",
        ]),
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn set_strings_never_panic(s in set_alphabet(), t in set_alphabet()) {
        let mut m = Map::new();
        let _ = strvals::parse_into(&s, &mut m);
        let _ = strvals::parse_into(&t, &mut m);
        let _ = strvals::parse_into_string(&s, &mut m);
        let _ = strvals::parse_literal_into(&t, &mut m);
        let _ = strvals::parse_json(&s, &mut m);
        let _ = strvals::parse_into_file(&t, &mut m, &mut |p: &str| Ok(p.to_string()));
    }

    #[test]
    fn yaml_never_panics(s in "[a-z0-9:\\-\\[\\]{},.~ &*!|>'\"#\\n]{0,80}") {
        let _ = unmarshal(&s);
        let _ = read_values(&s);
        let _ = load_files(vec![File { name: "Chart.yaml".into(), data: s.as_bytes().to_vec() }]);
        let _ = load_files(vec![
            File { name: "Chart.yaml".into(), data: b"apiVersion: v2\nname: c\nversion: 1.0.0\n".to_vec() },
            File { name: "requirements.yaml".into(), data: s.as_bytes().to_vec() },
        ]);
    }

    #[test]
    fn archives_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut gz = vec![0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff];
        gz.extend_from_slice(&data);
        let _ = load_archive(&data);
        let _ = load_archive(&gz);
    }

    #[test]
    fn schemas_never_panic(s in "[{}\\[\\]\":,a-z0-9#/$ ]{0,80}") {
        let mut v = Map::new();
        v.insert("a".into(), json!([1, "x", {"b": null}]));
        let _ = validate_single(&v, s.as_bytes());
    }
}

#[test]
fn deep_nesting_is_refused_not_a_crash() {
    let mut m = Map::new();
    let deep = format!("a{}=1", "[0]".repeat(100_000));
    let err = strvals::parse_into(&deep, &mut m).unwrap_err();
    assert!(err.message.contains("nested level"), "{err}");
    let chart = load_files(vec![
        File {
            name: "Chart.yaml".into(),
            data: format!(
                "apiVersion: v2\nname: p\nversion: 1.0.0\ndependencies:\n- name: c\n  version: 1.0.0\n  import-values:\n  - child: t\n    parent: {}\n",
                vec!["x"; 100_000].join(".")
            )
            .into_bytes(),
        },
        File {
            name: "charts/c/Chart.yaml".into(),
            data: b"apiVersion: v2\nname: c\nversion: 1.0.0\n".to_vec(),
        },
        File {
            name: "charts/c/values.yaml".into(),
            data: b"t: {k: 1}\n".to_vec(),
        },
    ])
    .unwrap();
    let err = prepare(chart, Map::new()).unwrap_err();
    assert!(
        err.message.contains("nests deeper than 100 levels"),
        "{err}"
    );
    let cyc =
        br##"{"$ref": "#/definitions/a", "definitions": {"a": {"$ref": "#/definitions/a"}}}"##;
    assert!(validate_single(&Map::new(), cyc).is_err());
}

#[test]
fn recursive_includes_stop_at_helms_guard_on_the_render_stack() {
    // A thousand nested includes (Helm's guard per name) take far more than
    // a default 8 MiB stack in a debug build: the render's own segment
    // holds them, and the guard's error comes back, not a crash.
    let chart = load_files(vec![
        File {
            name: "Chart.yaml".into(),
            data: b"apiVersion: v2\nname: r\nversion: 1.0.0\n".to_vec(),
        },
        File {
            name: "templates/r.yaml".into(),
            data:
                b"{{- define \"r\" -}}{{ include \"r\" . }}{{- end -}}\nx: {{ include \"r\" . }}\n"
                    .to_vec(),
        },
    ])
    .unwrap();
    let opts = ferroflux_helm::render::RenderOptions {
        release_name: "r".into(),
        ..Default::default()
    };
    let err = ferroflux_helm::render::render_on_big_stack(chart, Map::new(), opts).unwrap_err();
    assert!(
        err.to_string()
            .contains("rendering template has a nested reference name: r"),
        "{err}"
    );
}
