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
    for (i, doc) in TOML_DOCS.iter().enumerate() {
        let ours = funcs::from_toml(doc).expect("valid TOML");
        let ours = Value::from_json(&ours).to_json_string().expect("json");
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
