//! Helm's function map, `.Files` and `.Capabilities` executed by our
//! engine on the same chart helm renders: each template's output compared.

use std::rc::Rc;

use ferroflux_helm::chart::File;
use ferroflux_helm::funcs::{self, Capabilities, Lookup, TemplateLookup};
use ferroflux_template::{Set, Value};

use super::oracle;

const FUNCS: &str = r#"{{- $y := fromYaml .Values.yamlText }}
# fy: {{ toJson $y }} {{ typeOf $y.n }} {{ $y.n }} {{ $y.big }}
# fylist: {{ (fromYaml "- 1").Error }}
# fynull: {{ toJson (fromYaml "") }} {{ toJson (fromYaml "~") }}
# fya: {{ toJson (fromYamlArray "- 1\n- b\n- {c: d}") }}
# fyaerr: {{ toJson (fromYamlArray "a: 1") }}
# fj: {{ toJson (fromJson "{\"a\": 1, \"b\": [true, null, 2.5e3]}") }}
# fjerr1: {{ (fromJson "{\"a\" 1}").Error }}
# fjerr2: {{ (fromJson "{\"a\": 1,}").Error }}
# fjerr3: {{ (fromJson "[1]").Error }}
# fjerr4: {{ (fromJson "{\"a\": tru}").Error }}
# fjerr5: {{ (fromJson "{\"a\": 01}").Error }}
# fjerr6: {{ (fromJson "{\"a\": \"x").Error }}
# fjerr7: {{ (fromJson "").Error }}
# fjerr8: {{ (fromJson "{\"a\": 1} x").Error }}
# fjerr9: {{ (fromJson "{\"a\": \"\\q\"}").Error }}
# fja: {{ toJson (fromJsonArray "[1, \"x\", {\"k\": [2]}]") }}
# fjaerr: {{ toJson (fromJsonArray "{}") }} {{ toJson (fromJsonArray "[1,]") }}
# ft: {{ toJson (fromToml "a = 1\nb = 1.5\nc = \"x\"\n[d]\ne = [1, 2]\n") }}
# ftt: {{ typeOf (fromToml "a = 1").a }} {{ typeOf (fromToml "a = 1.0").a }}
# lookup: {{ toJson (lookup "v1" "ConfigMap" "default" "x") }} {{ typeOf (lookup "v1" "Pod" "" "") }}
# host: [{{ getHostByName "example.com" }}]
# tj: {{ toJson .Values.tree }}
# tjnan: [{{ toJson (fromYaml "a: 1").nothere }}]
data:
  {{- toYaml .Values.tree | nindent 2 }}
pretty:
  {{- toYamlPretty .Values.tree | nindent 2 }}
toml: {{ toToml .Values.tree | quote }}
tomlerr: {{ toToml (list 1 2) | quote }}
scalar: {{ list (toYaml "on") (toYaml 1000000) (toYaml 2.5) (toYamlPretty 1000000.0) (toYaml nil) (toYamlPretty "y") | join "|" | quote }}
mustyaml: {{ mustToYaml .Values.tree | b64enc }}
mustjson: {{ mustToJson .Values.tree | b64enc }}
musttoml: {{ mustToToml .Values.tree | b64enc }}
"#;

const FILES: &str = r#"{{- range $path, $bytes := .Files.Glob "files/**" }}
# {{ $path }}: {{ $bytes }} {{ printf "%q" $bytes }} {{ len $bytes }}
{{- end }}
# get: {{ .Files.Get "files/a.txt" | quote }} [{{ .Files.Get "missing" }}]
# getbytes: {{ .Files.GetBytes "files/a.txt" }} {{ .Files.GetBytes "missing" }}
# lines: {{ .Files.Lines "files/a.txt" }} {{ len (.Files.Lines "files/b.txt") }} {{ .Files.Lines "missing" }}
# types: {{ typeOf (.Files.Glob "x") }} {{ typeOf (.Files.Lines "x") }} {{ typeOf (.Files.GetBytes "x") }}
# len: {{ len .Files }} {{ len (.Files.Glob "*.md") }}
cfg:
  {{- (.Files.Glob "files/*").AsConfig | nindent 2 }}
sec:
  {{- (.Files.Glob "files/*").AsSecrets | nindent 2 }}
none: {{ (.Files.Glob "nothing/*").AsConfig }}
"#;

const CAPS: &str = r#"# kv: {{ .Capabilities.KubeVersion }} {{ .Capabilities.KubeVersion.Version }} {{ .Capabilities.KubeVersion.Major }} {{ .Capabilities.KubeVersion.Minor }} {{ .Capabilities.KubeVersion.GitVersion }}
# has: {{ .Capabilities.APIVersions.Has "apps/v1" }} {{ .Capabilities.APIVersions.Has "x/v1" }} {{ .Capabilities.APIVersions.Has "a/v1" }}
# hv: {{ .Capabilities.HelmVersion }} {{ .Capabilities.HelmVersion.Version }} {{ .Capabilities.HelmVersion.KubeClientVersion }}
# hvj: {{ toJson .Capabilities.HelmVersion }}
# kvj: {{ toJson .Capabilities.KubeVersion }}
# semver: {{ semverCompare ">=1.20-0" .Capabilities.KubeVersion.GitVersion }} {{ semverCompare "<1.30-0" .Capabilities.KubeVersion.Version }}
# c: {{ .Capabilities }}
# j: {{ toJson .Capabilities }}
# t: {{ typeOf .Capabilities }} {{ kindOf .Capabilities }} {{ typeOf .Files }} {{ kindOf .Files }} {{ typeOf .Capabilities.APIVersions }} {{ typeOf .Capabilities.HelmVersion }}
# y: {{ toYaml .Capabilities.KubeVersion | replace "\n" " " }}
# n: {{ len .Capabilities.APIVersions }} {{ range $i, $v := .Capabilities.APIVersions }}{{ if eq $i 1 }}{{ $v }}{{ end }}{{ end }}
"#;

const VALUES: &str = r#"yamlText: |
  n: 8080
  big: 1000000
  s: "on"
  list: [1, two, {three: 3}]
tree:
  name: my-app
  port: 8080
  big: 1000000
  ratio: 0.5
  on: "on"
  enabled: yes
  empty: ""
  list: [a, 1, true, {k: v}]
  nested: {a: {b: {c: deep}}}
  long: the quick brown fox jumps over the lazy dog and keeps running far beyond eighty columns of text
  multi: |
    line one
    line two
"#;

fn files() -> Vec<File> {
    [
        ("files/a.txt", "alpha\nbeta\n"),
        ("files/b.txt", "one\r\ntwo"),
        ("files/c.conf", "key = value\n"),
        ("files/sub/d.txt", "deep"),
        ("README.md", "# readme\n"),
    ]
    .map(|(n, d)| File {
        name: n.to_string(),
        data: d.as_bytes().to_vec(),
    })
    .to_vec()
}

/// Our rendering of each template, as helm prints it after `# Source:`.
fn ours(
    templates: &[(&str, &str)],
    values: &str,
    caps: Capabilities,
    lookup: Rc<dyn Lookup>,
) -> Vec<(String, String)> {
    let mut set = Set::helm(funcs::helm_funcs(lookup));
    for (name, text) in templates {
        set.parse(&format!("t/templates/{name}"), text)
            .unwrap_or_else(|e| panic!("parse {name}: {e}"));
    }
    let values = funcs::from_yaml(values).expect("values");
    let dot = Value::dict(vec![
        ("Values".to_string(), Value::from_json(&values)),
        ("Files".to_string(), funcs::files_value(&files())),
        ("Capabilities".to_string(), caps.into_value()),
    ]);
    templates
        .iter()
        .map(|(name, _)| {
            let full = format!("t/templates/{name}");
            let out = set
                .execute(&full, &dot)
                .unwrap_or_else(|e| panic!("execute {name}: {e}"));
            (full, out.replace("<no value>", ""))
        })
        .collect()
}

/// helm's output split at its `# Source:` headers.
fn theirs(out: &str) -> Vec<(String, String)> {
    out.split("---\n# Source: ")
        .skip(1)
        .map(|doc| {
            let (name, body) = doc.split_once('\n').unwrap_or((doc, ""));
            (name.to_string(), body.to_string())
        })
        .collect()
}

fn compare(args: &[&str], kube: Option<&str>, apis: &[String]) {
    let Some(helm) = oracle::helm() else { return };
    let go_version = helm
        .command()
        .args(["version", "--template", "{{ .GoVersion }}"])
        .output()
        .expect("helm version");
    let dir = tempfile::tempdir().expect("tempdir");
    let chart = dir.path().join("t");
    let templates = [
        ("caps.yaml", CAPS),
        ("files.yaml", FILES),
        ("funcs.yaml", FUNCS),
    ];
    let file_list = files();
    let file_refs: Vec<(&str, &[u8])> = file_list
        .iter()
        .map(|f| (f.name.as_str(), f.data.as_slice()))
        .collect();
    oracle::chart(&chart, &templates, &file_refs);
    std::fs::write(chart.join("values.yaml"), VALUES).expect("values");
    let out = oracle::template(&helm, &chart, args).unwrap_or_else(|e| panic!("helm: {e}"));
    let mut caps = Capabilities::for_template(kube, apis).expect("capabilities");
    caps.helm_version.go_version = String::from_utf8(go_version.stdout).expect("utf-8");
    let ours = ours(&templates, VALUES, caps, Rc::new(TemplateLookup));
    let theirs = theirs(&out);
    assert_eq!(theirs.len(), ours.len(), "{out}");
    for ((tn, tb), (on, ob)) in theirs.iter().zip(&ours) {
        assert_eq!(tn, on);
        let (tb, ob) = (tb.trim(), ob.trim());
        if tb != ob {
            let diff: Vec<String> = tb
                .lines()
                .zip(ob.lines())
                .filter(|(a, b)| a != b)
                .take(6)
                .map(|(a, b)| format!("helm: {a}\nours: {b}"))
                .collect();
            panic!(
                "{tn} differs:\n{}\n--- helm\n{tb}\n--- ours\n{ob}",
                diff.join("\n")
            );
        }
    }
}

#[test]
fn helm_functions_files_and_capabilities_render_as_helm_renders_them() {
    compare(&[], None, &[]);
}

#[test]
fn kube_version_and_api_versions_flags_reach_capabilities_as_in_helm() {
    let apis = ["a/v1".to_string(), "b/v2".to_string()];
    compare(
        &[
            "--kube-version",
            "1.28.3-eks+x",
            "--api-versions",
            "a/v1,b/v2",
        ],
        Some("1.28.3-eks+x"),
        &apis,
    );
}

#[derive(Debug)]
struct FakeCluster;

impl Lookup for FakeCluster {
    fn lookup(&self, v: &str, k: &str, ns: &str, n: &str) -> Result<serde_json::Value, String> {
        match (v, k, ns, n) {
            ("v1", "Secret", "default", "db") => Ok(serde_json::json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "db", "namespace": "default"},
                "data": {"password": "czNjcjN0"}
            })),
            ("v1", "Secret", "default", "") => {
                Ok(serde_json::json!({"items": [{"metadata": {"name": "db"}}]}))
            }
            ("v1", "ConfigMap", _, _) => Err("configmaps is forbidden".to_string()),
            _ => Ok(serde_json::json!({})),
        }
    }
}

#[test]
fn lookup_goes_through_the_callers_trait() {
    let t = r#"{{- $s := lookup "v1" "Secret" "default" "db" }}
{{- $s.data.password | b64dec }} {{ len (lookup "v1" "Secret" "default" "").items }} {{ toJson (lookup "v1" "Secret" "default" "absent") }}
{{- if not (lookup "apps/v1" "Deployment" "x" "y") }} none{{ end }}"#;
    let out = ours(
        &[("l.yaml", t)],
        "{}",
        Capabilities::default(),
        Rc::new(FakeCluster),
    );
    assert_eq!(out[0].1, "s3cr3t 1 {} none");
    let mut set = Set::helm(funcs::helm_funcs(Rc::new(FakeCluster)));
    set.parse("e", r#"{{ lookup "v1" "ConfigMap" "default" "x" }}"#)
        .expect("parse");
    let err = set.execute("e", &Value::Nil).unwrap_err().to_string();
    assert!(
        err.contains("error calling lookup: configmaps is forbidden"),
        "{err}"
    );
}

#[test]
fn must_variants_fail_the_template_where_the_plain_ones_print_nothing() {
    let mut set = Set::helm(funcs::helm_funcs(Rc::new(TemplateLookup)));
    set.parse(
        "t",
        r#"[{{ toYaml (fromJson "{\"a\": \"\u0085\"}") }}][{{ toToml (list (dict "a" 1)) }}]"#,
    )
    .expect("parse");
    set.parse("y", r#"{{ mustToYaml (dict "a\u0085" 1) }}"#)
        .expect("parse");
    set.parse("t2", r#"{{ mustToToml (list (dict "a" 1)) }}"#)
        .expect("parse");
    assert_eq!(
        set.execute("t", &Value::Nil).expect("plain"),
        "[a: ' '][toml: top-level values must be Go maps or structs]"
    );
    let err = set.execute("y", &Value::Nil).unwrap_err().to_string();
    assert!(err.contains("error calling mustToYaml"), "{err}");
    let err = set.execute("t2", &Value::Nil).unwrap_err().to_string();
    assert!(
        err.contains("error calling mustToToml: toml: top-level values"),
        "{err}"
    );
}

/// yaml.v2's syntax error texts are the YAML reader's (values::unmarshal),
/// not all of them Go's word for word yet (`line 1:` where Go names no
/// line, libyaml's wording for tabs): here only their place in the result.
#[test]
fn from_yaml_syntax_errors_land_under_the_error_key() {
    let mut set = Set::helm(funcs::helm_funcs(Rc::new(TemplateLookup)));
    set.parse(
        "t",
        r#"{{ (fromYaml "a: b: c").Error }}|{{ len (fromYaml "a: b: c") }}|{{ index (fromYamlArray "a: [") 0 }}"#,
    )
    .expect("parse");
    let out = set.execute("t", &Value::Nil).expect("execute");
    let parts: Vec<&str> = out.split('|').collect();
    assert!(
        parts[0].starts_with("error converting YAML to JSON: yaml: ")
            && parts[0].contains("mapping values are not allowed in this context"),
        "{out}"
    );
    assert_eq!(parts[1], "1", "only the Error key: {out}");
    assert!(
        parts[2].starts_with("error converting YAML to JSON: yaml: "),
        "{out}"
    );
}

const TOML_DOCS: &[&str] = &[
    "a = 1\nb = -2.5\nc = 'lit'\nd = \"esc\\t\\u00e9\"\ne = true\n",
    "x = 1979-05-27T07:32:00Z\ny = 1979-05-27T00:32:00.999999-07:00\nz = 1979-05-27T07:32:00\nw = 1979-05-27\nv = 07:32:00.5\n",
    "[t]\nk = [1, 2, 3]\n[t.sub]\nq = { inline = 1, s = \"x\" }\n[[arr]]\nn = 1\n[[arr]]\nn = 2\n",
    "big = 9223372036854775807\nhex = 0xff\noct = 0o17\nbin = 0b101\nexp = 1e10\ninf = 1e300\nus = 1_000\n",
    "\"quoted key\" = 1\nbare-key_1 = 2\na.b.c = 3\n",
    "s = \"\"\"\nmulti\nline\"\"\"\nr = '''\nraw\\n'''\n",
    "mixed = [1, \"a\"]\nnested = [[1, 2], [\"x\"]]\n",
    "inline = {\n  a = 1,\n  b = 2,\n}\nesc = \"\\e[1m \\x41\"\nshort = 07:32\nwhen = 1979-05-27 07:32\n",
    "neg = -0.0\npinf = +inf\nlarge = 1.7976931348623157e308\ntiny = 5e-324\n",
    "",
];

#[test]
fn from_toml_decodes_to_what_helm_prints() {
    let Some(helm) = oracle::helm() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let chart = dir.path().join("t");
    let template = "{{- range $i, $d := .Values.docs }}\nd{{ $i }}: {{ toJson (fromToml $d) | b64enc }}\n{{- end }}\nend: here\n";
    oracle::chart(&chart, &[("t.yaml", template)], &[]);
    let mut values = String::from("docs:\n");
    for d in TOML_DOCS {
        values.push_str(&format!("- {}\n", oracle::yaml_quote(d)));
    }
    std::fs::write(chart.join("values.yaml"), values).expect("values");
    let out = oracle::template(&helm, &chart, &[]).unwrap_or_else(|e| panic!("helm: {e}"));
    let theirs = oracle::b64_lines(&out);
    let mut set = Set::helm(funcs::helm_funcs(Rc::new(TemplateLookup)));
    set.parse("t", "{{ toJson (fromToml .) }}").expect("parse");
    for (i, doc) in TOML_DOCS.iter().enumerate() {
        let ours = set.execute("t", &Value::str(*doc)).expect("execute");
        assert_eq!(&ours, &theirs[&format!("d{i}")], "{doc:?}");
    }
}

#[test]
fn from_toml_errors_land_under_the_error_key() {
    for bad in ["a = ", "a = 1\na = 2", "[t]\n[t]", "a = \"open"] {
        let err = funcs::from_toml(bad).unwrap_err();
        assert!(err.starts_with("toml: "), "{bad:?}: {err}");
    }
}

/// A template can nest maps without end (`dict` into itself in a loop, or
/// a map `set` into itself): the serialisers refuse such a value instead
/// of exhausting the stack (Go's recurse on a growing stack; a panic here
/// would take every tenant's renders down).
#[test]
fn serialisers_refuse_values_nested_past_the_bound() {
    let mut set = Set::helm(funcs::helm_funcs(Rc::new(TemplateLookup)));
    let deep = r#"{{- $d := dict }}{{- range until 600 }}{{ $d = dict "a" $d }}{{ end -}}"#;
    let cyclic = r#"{{- $d := dict }}{{- $_ := set $d "self" $d -}}"#;
    for (name, build) in [("deep", deep), ("cyclic", cyclic)] {
        for (f, expect_empty) in [
            ("toYaml", true),
            ("toYamlPretty", true),
            ("toJson", true),
            ("toToml", false),
        ] {
            set.parse(
                &format!("{name}-{f}"),
                &format!("{build}[{{{{ {f} $d }}}}]"),
            )
            .expect("parse");
            let out = set
                .execute(&format!("{name}-{f}"), &Value::Nil)
                .expect("execute");
            if expect_empty {
                assert_eq!(out, "[]", "{name} {f}");
            } else {
                assert!(
                    out.contains("nested deeper than 512 levels"),
                    "{name} {f}: {out}"
                );
            }
        }
        for f in ["mustToYaml", "mustToJson"] {
            set.parse(&format!("{name}-{f}"), &format!("{build}{{{{ {f} $d }}}}"))
                .expect("parse");
            let err = set
                .execute(&format!("{name}-{f}"), &Value::Nil)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(&format!("error calling {f}: value nested deeper")),
                "{err}"
            );
        }
    }
    let deep_json = (0..600).fold(serde_json::json!(1), |v, _| serde_json::json!({ "a": v }));
    assert!(funcs::to_yaml(&deep_json).is_err());
    assert!(funcs::to_yaml_pretty(&deep_json).is_err());
    assert!(funcs::to_toml(&deep_json).is_err());
    let shallow = (0..500).fold(serde_json::json!(1), |v, _| serde_json::json!({ "a": v }));
    assert!(funcs::to_yaml(&shallow).is_ok());
}

/// Shared lists make a value that prints exponentially large: refused by
/// its node count, quickly.
#[test]
fn serialisers_refuse_values_that_print_as_too_many_nodes() {
    let mut set = Set::helm(funcs::helm_funcs(Rc::new(TemplateLookup)));
    let build = r#"{{- $a := list 1 }}{{- range until 40 }}{{ $a = list $a $a }}{{ end -}}"#;
    for f in ["toYaml", "toYamlPretty", "toJson"] {
        set.parse(f, &format!("{build}[{{{{ {f} $a }}}}]"))
            .expect("parse");
        assert_eq!(set.execute(f, &Value::Nil).expect("execute"), "[]", "{f}");
    }
    set.parse("must", &format!("{build}{{{{ mustToJson $a }}}}"))
        .expect("parse");
    let err = set.execute("must", &Value::Nil).unwrap_err().to_string();
    assert!(err.contains("maps, lists and scalars"), "{err}");
}

/// fromJson's syntax check recurses: deep nesting is an error under the
/// `Error` key, not a stack overflow.
#[test]
fn from_json_of_deeply_nested_text_is_an_error_not_a_crash() {
    let deep = "[".repeat(100_000);
    let err = funcs::from_json(&deep).unwrap_err();
    assert_eq!(err, "invalid character '[' exceeded max depth");
    let nested_200 = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    assert!(funcs::from_json_array(&nested_200).is_err());
}

/// `--set` gives int64s (and strings for anything else numeric): the
/// encoders that see Go values directly print them as integers, not as
/// float64s (`1000000`, not `1e+06`; `8080`, not `8080.0`).
#[test]
fn set_integers_serialise_as_integers_as_in_helm() {
    let Some(helm) = oracle::helm() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let chart = dir.path().join("t");
    let template = "y0: {{ toYaml .Values | b64enc }}\np0: {{ toYamlPretty .Values | b64enc }}\nt0: {{ toToml .Values | b64enc }}\nj0: {{ toJson .Values | b64enc }}\nend: here\n";
    oracle::chart(&chart, &[("t.yaml", template)], &[]);
    let sets = [
        "a=8080",
        "b=1000000",
        "c=1.5",
        "d=true",
        "e=str",
        "f[0]=1",
        "g.h=-7",
        "i=9007199254740993",
    ];
    let mut args = Vec::new();
    for s in &sets {
        args.extend(["--set", s]);
    }
    let out = oracle::template(&helm, &chart, &args).unwrap_or_else(|e| panic!("helm: {e}"));
    let theirs = oracle::b64_lines(&out);
    let values = Value::dict(vec![
        ("a".to_string(), Value::Int64(8080)),
        ("b".to_string(), Value::Int64(1_000_000)),
        ("c".to_string(), Value::str("1.5")),
        ("d".to_string(), Value::Bool(true)),
        ("e".to_string(), Value::str("str")),
        ("f".to_string(), Value::iface_list(vec![Value::Int64(1)])),
        (
            "g".to_string(),
            Value::dict(vec![("h".to_string(), Value::Int64(-7))]),
        ),
        ("i".to_string(), Value::Int64(9_007_199_254_740_993)),
    ]);
    let mut set = Set::helm(funcs::helm_funcs(Rc::new(TemplateLookup)));
    for (k, f) in [
        ("y", "toYaml"),
        ("p", "toYamlPretty"),
        ("t", "toToml"),
        ("j", "toJson"),
    ] {
        set.parse(k, &format!("{{{{ {f} .Values }}}}"))
            .expect("parse");
        let dot = Value::dict(vec![("Values".to_string(), values.clone())]);
        let ours = set.execute(k, &dot).expect("execute");
        assert_eq!(&ours, &theirs[&format!("{k}0")], "{f}");
    }
}

/// TOML datetimes are Go `time.Time`s: printed as Go prints them, JSON as
/// RFC 3339, `typeOf` `time.Time`.
#[test]
fn from_toml_datetimes_print_as_go_times() {
    let Some(helm) = oracle::helm() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let chart = dir.path().join("t");
    let template = r#"{{- $t := fromToml "a = 1979-05-27T07:32:00Z\nb = 1979-05-27T00:32:00.999999-07:00\nc = 1979-05-27T07:32:00\nd = 1979-05-27\ne = 07:32:00.5\nf = 1979-05-27T07:32:00+00:00\ng = 1979-05-27T07:32:00+05:30" }}
{{- range $k, $v := $t }}
# {{ $k }}: {{ $v }} | {{ typeOf $v }} | {{ kindOf $v }} | {{ toJson $v }}
{{- end }}
# y: {{ toYaml $t | replace "\n" " ~ " }}
"#;
    oracle::chart(&chart, &[("t.yaml", template)], &[]);
    let out = oracle::template(&helm, &chart, &[]).unwrap_or_else(|e| panic!("helm: {e}"));
    let mut set = Set::helm(funcs::helm_funcs(Rc::new(TemplateLookup)));
    set.parse("t", template).expect("parse");
    let ours = set.execute("t", &Value::Nil).expect("execute");
    assert_eq!(theirs(&out)[0].1.trim(), ours.trim());
}
