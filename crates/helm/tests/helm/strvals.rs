//! `--set` and its siblings (helm-semantics.md §3.2, §3.3): each grammar
//! rule, then a differential against helm over 100+ generated flag sets,
//! comparing Go types as well as values.

use ferroflux_helm::strvals::{self, parse};
use ferroflux_helm::values::{Options, go_format_float};
use std::path::Path;

use ferroflux_testkit::helm::Helm;
use serde_json::{Map, Value, json};

fn set(s: &str) -> Value {
    Value::Object(parse(s).unwrap_or_else(|e| panic!("{s}: {e}")))
}

fn set_err(s: &str) -> String {
    parse(s).expect_err(s).message
}

#[test]
fn keys_nest_and_escape() {
    assert_eq!(set("a.b=1"), json!({"a": {"b": 1}}));
    assert_eq!(set("a.b\\.c=1"), json!({"a": {"b.c": 1}}));
    assert_eq!(set("a=b\\,c"), json!({"a": "b,c"}));
    assert_eq!(set(" a = b "), json!({" a ": " b "}));
    assert_eq!(set("a=x=y"), json!({"a": "x=y"}));
    assert_eq!(set("a=b,c=d"), json!({"a": "b", "c": "d"}));
    assert_eq!(set("a="), json!({"a": ""}));
    assert_eq!(set("a."), json!({}));
    assert_eq!(set("=1"), json!({}));
}

#[test]
fn scalars_are_typed_as_typed_val() {
    let v = set(
        "a=1,b=-1,c=+1,d=0,e=007,f=1.5,g=TRUE,h=False,i=nULL,j=0x1F,k=99999999999999999999,l=1e3",
    );
    assert_eq!(
        v,
        json!({"a": 1, "b": -1, "c": 1, "d": 0, "e": "007", "f": "1.5", "g": true, "h": false,
               "i": null, "j": "0x1F", "k": "99999999999999999999", "l": "1e3"})
    );
    assert!(v["a"].is_i64() && v["d"].is_i64());
    let mut m = Map::new();
    strvals::parse_into_string("a=1,b=true,c={1,null}", &mut m).unwrap();
    assert_eq!(
        Value::Object(m),
        json!({"a": "1", "b": "true", "c": ["1", "null"]})
    );
}

#[test]
fn lists() {
    assert_eq!(
        set("a={1,true,null, x}"),
        json!({"a": [1, true, null, " x"]})
    );
    assert_eq!(set("a={}"), json!({"a": [""]}));
    assert_eq!(set("a[2]=x"), json!({"a": [null, null, "x"]}));
    assert_eq!(set("a[0].b=1,a[1]=2"), json!({"a": [{"b": 1}, 2]}));
    assert_eq!(set("a[0][1]=x"), json!({"a": [[null, "x"]]}));
    assert_eq!(set("a[0]"), json!({"a": []}));
    assert_eq!(set("a[0]="), json!({"a": [""]}));
    assert_eq!(set("a={1}x=2"), json!({"a": [1], "x": 2}));
    let mut m = parse("a[3]=x").unwrap();
    strvals::parse_into("a[1]=y", &mut m).unwrap();
    assert_eq!(Value::Object(m), json!({"a": [null, "y", null, "x"]}));
}

#[test]
fn errors_are_helms() {
    assert_eq!(set_err("a"), "key \"a\" has no value");
    assert_eq!(set_err("a,"), "key \"a\" has no value (cannot end with ,)");
    assert_eq!(set_err("a.=1"), "key map \"a\" has no value");
    assert_eq!(set_err("a[-1]=1"), "negative -1 index not allowed");
    assert_eq!(
        set_err("a[65537]=1"),
        "index of 65537 is greater than maximum supported index of 65536"
    );
    assert_eq!(
        set_err("a[x]=1"),
        "error parsing index: strconv.Atoi: parsing \"x\": invalid syntax"
    );
    assert_eq!(
        set_err("a[0]x=1"),
        "unexpected data at end of array index: ['x']"
    );
    assert_eq!(set_err("a={1,2"), "list must terminate with '}'");
    assert_eq!(
        set_err("a=1,a.b=2"),
        "unable to parse key: interface conversion: interface {} is int64, not map[string]interface {}"
    );
    assert_eq!(
        set_err("a.b=1,a[0]=2"),
        "unable to parse key: interface conversion: interface {} is map[string]interface {}, not []interface {}"
    );
    let deep = format!("{}=1", vec!["k"; 32].join("."));
    assert_eq!(
        set_err(&deep),
        "value name nested level is greater than maximum supported nested level of 30"
    );
}

#[test]
fn literal_json_and_file() {
    let mut m = Map::new();
    strvals::parse_literal_into("a.b=x,y=\\z{1}", &mut m).unwrap();
    assert_eq!(Value::Object(m), json!({"a": {"b": "x,y=\\z{1}"}}));
    let mut m = Map::new();
    strvals::parse_json("a={\"x\":[1,null]}, b=\"s\",c=,d[1]=true", &mut m).unwrap();
    assert_eq!(
        Value::Object(m.clone()),
        json!({"a": {"x": [1.0, null]}, " b": "s", "c": null, "d": [null, true]})
    );
    assert!(m["a"]["x"][0].is_f64());
    let mut m = Map::new();
    let mut read = |p: &str| match p {
        "f1" => Ok("text\n".to_string()),
        other => Err(format!("open {other}: no such file or directory")),
    };
    strvals::parse_into_file("a=f1,b={f1}", &mut m, &mut read).unwrap();
    assert_eq!(Value::Object(m), json!({"a": "text\n", "b": ["text\n"]}));
    let mut m = Map::new();
    let err = strvals::parse_into_file("a=nope", &mut m, &mut read).unwrap_err();
    assert_eq!(err.message, "open nope: no such file or directory");
}

#[test]
fn options_merge_in_helms_order() {
    let opts = Options {
        values_files: vec![("v.yaml".into(), "a: 1\nb: {c: 2}\n".into())],
        set: vec!["a=2".into()],
        set_string: vec!["a=3".into()],
        set_json: vec!["{\"b\": {\"d\": 1}}".into(), "a=0".into()],
        set_literal: vec!["e=x,y".into()],
        set_file: vec![],
    };
    let m = opts.merge(&mut |_| Err("no files".into())).unwrap();
    assert_eq!(
        Value::Object(m),
        json!({"a": "3", "b": {"c": 2.0, "d": 1.0}, "e": "x,y"})
    );
    let bad = Options {
        set: vec!["a".into()],
        ..Options::default()
    };
    assert_eq!(
        bad.merge(&mut |_| Err(String::new())).unwrap_err().message,
        "failed parsing --set data: key \"a\" has no value"
    );
    let bad = Options {
        set_json: vec!["a=[1".into()],
        ..Options::default()
    };
    assert_eq!(
        bad.merge(&mut |_| Err(String::new())).unwrap_err().message,
        "failed parsing --set-json data a=[1"
    );
    let bad = Options {
        values_files: vec![("v.yaml".into(), "a: 1\nb: .inf\n".into())],
        ..Options::default()
    };
    let err = bad.merge(&mut |_| Err(String::new())).unwrap_err();
    assert_eq!(err.line, Some(2));
    assert!(
        err.message
            .starts_with("failed to parse v.yaml: cannot unmarshal")
    );
}

/// A template that prints every leaf as `"<Go type>:<%v>"`.
const TYPED_PROBE: &str = r#"{{- define "t" -}}
{{- $k := kindOf . -}}
{{- if eq $k "map" -}}
{ {{- $m := . -}}{{- range $i, $key := keys . | sortAlpha -}}{{ if $i }},{{ end }}{{ toJson $key }}:{{ include "t" (index $m $key) }}{{- end -}} }
{{- else if eq $k "slice" -}}
[ {{- range $i, $v := . -}}{{ if $i }},{{ end }}{{ include "t" $v }}{{- end -}} ]
{{- else -}}
{{ printf "%s:%v" (typeOf .) . | toJson }}
{{- end -}}
{{- end -}}
{{ include "t" .Values }}
"#;

/// Our value in the probe's form.
fn typed(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), typed(v))).collect()),
        Value::Array(items) => Value::Array(items.iter().map(typed).collect()),
        Value::Null => json!("<nil>:<nil>"),
        Value::Bool(b) => json!(format!("bool:{b}")),
        Value::String(s) => json!(format!("string:{s}")),
        Value::Number(n) if n.is_f64() => {
            json!(format!(
                "float64:{}",
                go_format_float(n.as_f64().unwrap_or(0.0))
            ))
        }
        Value::Number(n) => json!(format!("int64:{n}")),
    }
}

/// Flag sets for the differential: single `--set` strings from keys ×
/// values, plus sequences that meet earlier values of other types.
fn generated() -> Vec<Vec<(&'static str, String)>> {
    let keys = [
        "a", "a.b", "a[0]", "a[2]", "a[1].b", "a[0][1]", "a\\.b", " a ", "a[-1]", "a[x]",
        "a[70000]", "a[0]x", "a.", "a[", "", "é.ü",
    ];
    let vals = [
        "1",
        "-1",
        "+1",
        "0",
        "007",
        "1.5",
        "TRUE",
        "null",
        "x=y",
        "",
        "{1,2}",
        "{}",
        "{a,{b}",
        "b\\,c",
        "99999999999999999999",
        "{1,2}x",
    ];
    let mut out = Vec::new();
    for k in keys {
        for v in vals {
            out.push(vec![("--set", format!("{k}={v}"))]);
        }
        out.push(vec![("--set", k.to_string())]);
        out.push(vec![("--set", format!("{k},"))]);
    }
    for seq in [
        vec!["a=1", "a.b=2"],
        vec!["a.b=1", "a[0]=2"],
        vec!["a[0]=x", "a[0][1]=y"],
        vec!["a[0]=x", "a[0].b=y"],
        vec!["a=null", "a.b=1"],
        vec!["a=null", "a[0]=1"],
        vec!["a[3]=x", "a[1]=y"],
        vec!["a.b=1,a.c=2", "a.b.d=3"],
        vec!["a[1][1]=x", "a[1][0]=y"],
        vec!["a={1,2}", "a[3]=4"],
    ] {
        out.push(seq.into_iter().map(|s| ("--set", s.to_string())).collect());
    }
    for (flag, v) in [
        ("--set-string", "a=1,b=true,c={1,null},d[1]=0"),
        ("--set-string", "a"),
        ("--set-literal", "a.b=x,y=\\z{1}"),
        ("--set-literal", "a[1]=x,y"),
        ("--set-literal", "a"),
        ("--set-literal", "a.b"),
        ("--set-json", "a={\"x\":[1,null,1.5]}, b=\"s\",c=,d[1]=true"),
        ("--set-json", "{\"a\": {\"b\": 1e3}}"),
        ("--set-json", "a=1 b=2"),
        ("--set-json", "a=[1"),
        ("--set-json", "a=tru"),
        ("--set-json", "a.b=7,a.c=\"x\""),
        ("--set-json", "{bad"),
    ] {
        out.push(vec![(flag, v.to_string())]);
    }
    out.push(vec![
        ("--set-json", "a={\"b\":1}".into()),
        ("--set", "a.b.c=1".into()),
    ]);
    out.push(vec![
        ("-f", "a: 1\nb: [x]\n".into()),
        ("--set", "a.b=1".into()),
    ]);
    out.push(vec![
        ("-f", "a: 1\nb: [x]\n".into()),
        ("--set", "b[0].c=1".into()),
    ]);
    out.push(vec![
        ("-f", "b: [x, {c: 1}]\n".into()),
        ("--set", "b[1].d=2".into()),
    ]);
    out.push(vec![("--set-file", "a=f1,b={f1,f2}".into())]);
    out.push(vec![("--set-file", "a=missing".into())]);
    out
}

#[test]
fn generated_flags_match_helm() {
    let Some(helm) = Helm::find() else { return };
    let chart = helm.home.path().join("typed");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: typed\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(chart.join("templates/t.yaml"), TYPED_PROBE).unwrap();
    let home = helm.home.path().to_path_buf();
    std::fs::write(home.join("f1"), "one\n").unwrap();
    std::fs::write(home.join("f2"), "two: 2").unwrap();
    let cases = generated();
    assert!(cases.len() > 100, "{}", cases.len());
    // Two workers: helm runs are most of the time (the machine has two cores).
    let compared = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for part in 0..2 {
            let (cases, helm, chart, home, compared) = (&cases, &helm, &chart, &home, &compared);
            scope.spawn(move || {
                for (n, flags) in cases.iter().enumerate().filter(|(n, _)| n % 2 == part) {
                    check_flags(helm, chart, home, n, flags);
                    compared.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            });
        }
    });
    assert_eq!(compared.into_inner(), cases.len());
}

fn check_flags(helm: &Helm, chart: &Path, home: &Path, n: usize, flags: &[(&str, String)]) {
    let mut args: Vec<String> = vec![chart.display().to_string()];
    let mut opts = Options::default();
    for (i, (flag, v)) in flags.iter().enumerate() {
        match *flag {
            "-f" => {
                let name = format!("values-{n}-{i}.yaml");
                std::fs::write(home.join(&name), v).expect("write");
                args.extend(["-f".to_string(), name.clone()]);
                opts.values_files.push((name, v.clone()));
                continue;
            }
            "--set" => opts.set.push(v.clone()),
            "--set-string" => opts.set_string.push(v.clone()),
            "--set-literal" => opts.set_literal.push(v.clone()),
            "--set-json" => opts.set_json.push(v.clone()),
            "--set-file" => opts.set_file.push(v.clone()),
            other => unreachable!("{other}"),
        }
        args.push(format!("{flag}={v}"));
    }
    let run = helm.template(&args);
    let mut read = |p: &str| {
        std::fs::read_to_string(home.join(p))
            .map_err(|_| format!("open {p}: no such file or directory"))
    };
    let ours = opts.merge(&mut read);
    match ours {
        Ok(map) => {
            assert!(run.ok, "{flags:?}: helm failed: {}", run.stderr);
            let body: String = run
                .stdout
                .lines()
                .filter(|l| !l.starts_with("---") && !l.starts_with("# Source:"))
                .collect();
            let theirs: Value =
                serde_json::from_str(&body).unwrap_or_else(|e| panic!("{flags:?}: {e}: {body}"));
            assert_eq!(typed(&Value::Object(map)), theirs, "{flags:?}");
        }
        Err(e) => {
            assert!(
                !run.ok,
                "{flags:?}: we failed ({e}), helm printed {}",
                run.stdout
            );
            assert_eq!(run.stderr.trim_end(), format!("Error: {e}"), "{flags:?}");
        }
    }
}
