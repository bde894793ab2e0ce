//! Differential tests against `helm template` (Helm v4.2.4 at
//! `$FERROFLUX_HELM`, built by `.ci/setup.d/56-helm.sh`): each case is a
//! throwaway chart (`t`, values written as JSON, which YAML reads the same),
//! rendered by helm and by a [`Set`] set up as Helm's engine sets its own
//! (files parsed deepest first, `missingkey=zero`, `<no value>` deleted);
//! the printed bytes, or the error text, must be the same.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::rc::Rc;

use ferroflux_template::{
    FuncMap, Object, Param, STACK_PER_LEVEL, Set, Signature, Timestamp, Value,
};

fn helm_bin() -> Option<PathBuf> {
    match std::env::var_os("FERROFLUX_HELM") {
        Some(p) if Path::new(&p).is_file() => Some(PathBuf::from(p)),
        _ => {
            ferroflux_testkit::env::skip_or_fail(
                "FERROFLUX_HELM (see .ci/setup.d/56-helm.sh) is not a built helm",
            );
            None
        }
    }
}

/// One chart: files relative to the chart root, values as JSON, `--set`s.
#[derive(Clone, Debug)]
struct Case {
    name: String,
    values: String,
    set: Vec<String>,
    files: Vec<(String, String)>,
}

/// A case whose one template is `template` as is (its output must be YAML).
fn raw(name: &str, values: &str, template: &str) -> Case {
    Case {
        name: name.into(),
        values: values.into(),
        set: Vec::new(),
        files: vec![("templates/t.yaml".into(), template.into())],
    }
}

/// A case whose template's output is base64-encoded into `out:` (any text
/// is then valid YAML; `<no value>` inside survives, as in an `include`).
fn wrapped(name: &str, values: &str, template: &str) -> Case {
    raw(
        name,
        values,
        &format!(
            "{{{{- define \"body\" }}}}{template}{{{{ end -}}}}\nout: {{{{ include \"body\" . | b64enc }}}}\n"
        ),
    )
}

fn with_set(mut c: Case, set: &[&str]) -> Case {
    c.set = set.iter().map(|s| (*s).to_string()).collect();
    c
}

fn with_file(mut c: Case, path: &str, text: &str) -> Case {
    c.files.push((path.into(), text.into()));
    c
}

const TRAILER: &str = "\n\nUse --debug flag to render out invalid YAML\n";

fn run_helm(bin: &Path, case: &Case) -> Result<String, String> {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("Chart.yaml"),
        "apiVersion: v2\nname: t\nversion: 0.1.0\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("values.yaml"), &case.values).expect("write");
    for (path, text) in &case.files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    let mut cmd = Command::new(bin);
    cmd.env("TZ", "UTC");
    cmd.arg("template").arg("x").arg(dir.path());
    for s in &case.set {
        cmd.arg("--set").arg(s);
    }
    let out = cmd.output().expect("run helm");
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let err = err.strip_prefix("Error: ").unwrap_or(&err);
    Err(err.strip_suffix(TRAILER).unwrap_or(err).to_string())
}

/// sigs.k8s.io/yaml's typing: every number a float64.
fn floats(j: serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match j {
        J::Number(n) => {
            J::Number(serde_json::Number::from_f64(n.as_f64().unwrap_or_default()).expect("finite"))
        }
        J::Array(a) => J::Array(a.into_iter().map(floats).collect()),
        J::Object(o) => J::Object(o.into_iter().map(|(k, v)| (k, floats(v))).collect()),
        other => other,
    }
}

/// The few `--set` forms the cases use: `a.b=v` with v an int64, a bool,
/// `null` or a string.
fn apply_set(values: &Value, arg: &str) {
    let (path, raw) = arg.split_once('=').expect("k=v");
    let val = if let Ok(i) = raw.parse::<i64>() {
        Value::Int64(i)
    } else if raw == "true" || raw == "false" {
        Value::Bool(raw == "true")
    } else if raw == "null" {
        Value::Nil
    } else {
        Value::str(raw)
    };
    let keys: Vec<&str> = path.split('.').collect();
    let mut cur = values.clone();
    for k in &keys[..keys.len() - 1] {
        let next = match cur.get_key(k) {
            Some(v @ Value::Map(_)) => v,
            _ => {
                let m = Value::dict(Vec::new());
                cur.set_key(k, m.clone());
                m
            }
        };
        cur = next;
    }
    cur.set_key(keys[keys.len() - 1], val);
}

/// `.Capabilities` of `helm template` v4.2.4 (client-go v0.36).
#[derive(Debug)]
struct Capabilities;

#[derive(Debug)]
struct KubeVersion;

#[derive(Debug)]
struct VersionSet(Vec<&'static str>);

impl Object for Capabilities {
    fn type_name(&self) -> String {
        "*common.Capabilities".into()
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "KubeVersion" => Some(Value::Object(Rc::new(KubeVersion))),
            "APIVersions" => Some(Value::Object(Rc::new(VersionSet(vec![
                "v1", "apps/v1", "batch/v1",
            ])))),
            _ => None,
        }
    }
}

impl Object for KubeVersion {
    fn type_name(&self) -> String {
        "common.KubeVersion".into()
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Version" => Some(Value::str("v1.36.0")),
            "Major" => Some(Value::str("1")),
            "Minor" => Some(Value::str("36")),
            _ => None,
        }
    }
    fn method(&self, name: &str) -> Option<Signature> {
        (name == "GitVersion" || name == "String").then(|| Signature::new(&[]))
    }
    fn call(&self, _: &str, _: &[Value]) -> Result<Value, String> {
        Ok(Value::str("v1.36.0"))
    }
    fn string(&self) -> Option<String> {
        Some("v1.36.0".into())
    }
}

impl Object for VersionSet {
    fn type_name(&self) -> String {
        "common.VersionSet".into()
    }
    fn method(&self, name: &str) -> Option<Signature> {
        (name == "Has").then(|| Signature::new(&[Param::Str]))
    }
    fn call(&self, _: &str, args: &[Value]) -> Result<Value, String> {
        let want = args[0].as_str().unwrap_or_default();
        Ok(Value::Bool(self.0.contains(&want)))
    }
    fn underlying(&self) -> Option<Value> {
        Some(Value::list(
            "[]string",
            self.0.iter().map(|s| Value::str(*s)).collect(),
        ))
    }
}

/// `.Files`: the chart's other files (`Get`, `GetBytes`, `Glob` with `*`
/// within one path segment, enough for the cases).
#[derive(Debug)]
struct Files(Vec<(String, Vec<u8>)>);

fn glob_match(pattern: &str, path: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (pattern.chars().collect(), path.chars().collect());
    fn m(p: &[char], s: &[char]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some('*'), _) => m(&p[1..], s) || (!s.is_empty() && s[0] != '/' && m(p, &s[1..])),
            (Some(a), Some(b)) if a == b => m(&p[1..], &s[1..]),
            _ => false,
        }
    }
    m(&p, &s)
}

impl Object for Files {
    fn type_name(&self) -> String {
        "engine.files".into()
    }
    fn method(&self, name: &str) -> Option<Signature> {
        matches!(name, "Get" | "GetBytes" | "Glob").then(|| Signature::new(&[Param::Str]))
    }
    fn call(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        let arg = args[0].as_str().unwrap_or_default();
        let found = self
            .0
            .iter()
            .find(|(p, _)| p == arg)
            .map(|(_, d)| d.clone());
        Ok(match name {
            "Get" => Value::str(String::from_utf8_lossy(&found.unwrap_or_default())),
            "GetBytes" => Value::bytes(found.unwrap_or_default()),
            _ => Value::Object(Rc::new(Files(
                self.0
                    .iter()
                    .filter(|(p, _)| glob_match(arg, p))
                    .cloned()
                    .collect(),
            ))),
        })
    }
    fn underlying(&self) -> Option<Value> {
        Some(Value::map(
            "map[string][]uint8",
            Value::bytes(Vec::new()),
            self.0
                .iter()
                .map(|(p, d)| (Value::str(p.as_str()), Value::bytes(d.clone())))
                .collect(),
        ))
    }
}

/// Helm's engine over the case's chart, as `helm template` prints it.
fn run_ours(case: &Case) -> Result<String, String> {
    let values: serde_json::Value = serde_json::from_str(&case.values).expect("values JSON");
    let values = Value::from_json(&floats(values)).with_type_name("common.Values");
    for s in &case.set {
        apply_set(&values, s);
    }
    let mut funcs = FuncMap::helm();
    // a stand-in for helm-funcs' toJson, through the closure API
    funcs.insert("toJson", Signature::new(&[Param::Any]), |a| {
        Ok(Value::str(a[0].to_json_string().unwrap_or_default()))
    });
    // a fixed clock (UTC, as helm runs here) and a xorshift random source
    funcs.set_clock(|| Timestamp {
        unix_secs: 1_765_000_000,
        nanos: 250_000_000,
        offset_secs: 0,
        zone: "UTC".into(),
    });
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    funcs.set_rng(move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    });
    let mut set = Set::helm(funcs);
    let files = Files(
        case.files
            .iter()
            .filter(|(p, _)| !p.starts_with("templates/"))
            .map(|(p, t)| (p.clone(), t.as_bytes().to_vec()))
            .collect(),
    );
    let dot = Value::dict(vec![
        ("Values".into(), values),
        (
            "Release".into(),
            Value::dict(vec![
                ("Name".into(), Value::str("x")),
                ("Namespace".into(), Value::str("default")),
                ("IsInstall".into(), Value::Bool(true)),
                ("IsUpgrade".into(), Value::Bool(false)),
                ("Revision".into(), Value::Int(1)),
                ("Service".into(), Value::str("Helm")),
            ]),
        ),
        (
            "Chart".into(),
            Value::dict(vec![
                ("Name".into(), Value::str("t")),
                ("Version".into(), Value::str("0.1.0")),
                ("APIVersion".into(), Value::str("v2")),
                ("IsRoot".into(), Value::Bool(true)),
            ]),
        ),
        ("Capabilities".into(), Value::Object(Rc::new(Capabilities))),
        ("Files".into(), Value::Object(Rc::new(files))),
    ])
    .with_type_name("common.Values");
    // Helm's order: deepest paths first, then reverse lexical
    let mut names: Vec<(String, &str)> = case
        .files
        .iter()
        .filter(|(p, _)| p.starts_with("templates/"))
        .map(|(p, t)| (format!("t/{p}"), t.as_str()))
        .collect();
    names.sort_by(|a, b| {
        let (ca, cb) = (a.0.matches('/').count(), b.0.matches('/').count());
        cb.cmp(&ca).then(b.0.cmp(&a.0))
    });
    for (name, text) in &names {
        set.parse(name, text).map_err(|e| e.helm_message())?;
    }
    let mut rendered = Vec::new();
    for (name, _) in &names {
        let base = name.rsplit('/').next().unwrap_or_default();
        if base.starts_with('_') {
            continue;
        }
        dot.set_key(
            "Template",
            Value::dict(vec![
                ("Name".into(), Value::str(name.as_str())),
                ("BasePath".into(), Value::str("t/templates")),
            ])
            .with_type_name("common.Values"),
        );
        let out = set.execute(name, &dot).map_err(|e| e.helm_message())?;
        rendered.push((name.clone(), out.replace("<no value>", "")));
    }
    rendered.sort();
    let mut m = String::new();
    for (name, out) in rendered {
        let doc = out.trim_start();
        if doc.trim().is_empty() {
            continue;
        }
        m.push_str(&format!("---\n# Source: {name}\n{doc}\n"));
    }
    Ok(format!("{}\n", m.trim()))
}

/// Decodes the base64 of `out: ...` lines, for a readable failure.
fn explain(s: &str) -> String {
    use base64::Engine as _;
    s.lines()
        .filter_map(|l| l.strip_prefix("out: "))
        .map(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .map(|d| String::from_utf8_lossy(&d).into_owned())
                .unwrap_or_else(|_| b.to_string())
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn check_all(cases: &[Case]) {
    let Some(bin) = helm_bin() else { return };
    let mut failures = Vec::new();
    for case in cases {
        let want = run_helm(&bin, case);
        let got = run_ours(case);
        if want != got {
            failures.push(format!(
                "case {}:\n  helm: {want:?}\n  ours: {got:?}\n  helm decoded: {:?}\n  ours decoded: {:?}",
                case.name,
                explain(want.as_ref().unwrap_or_else(|e| e)),
                explain(got.as_ref().unwrap_or_else(|e| e)),
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from helm:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

const NUMS: &str = r#"{"a": 1000000, "b": 999999, "c": 1234567, "d": 0.0001, "e": 0.00001, "f": 8080, "g": 2.5, "h": -0.0, "i": 1e21, "j": 123456789012, "n": null, "s": "x", "t": true, "l": [1, "a", null, 2.5], "m": {"k": 1, "z": [], "e": {}}}"#;

#[test]
fn printed_values_match_helm() {
    let mut cases = Vec::new();
    for key in [
        "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "n", "s", "t", "l", "m",
    ] {
        cases.push(raw(
            &format!("print {key}"),
            NUMS,
            &format!("v: {{{{ .Values.{key} }}}}\n"),
        ));
        cases.push(wrapped(
            &format!("printf {key}"),
            NUMS,
            &format!(
                "{{{{ printf \"%v|%s|%d|%q|%T\" .Values.{key} .Values.{key} .Values.{key} .Values.{key} .Values.{key} }}}}"
            ),
        ));
        cases.push(wrapped(
            &format!("toString {key}"),
            NUMS,
            &format!("{{{{ toString .Values.{key} }}}}|{{{{ .Values.{key} | toJson }}}}|{{{{ typeOf .Values.{key} }}}}|{{{{ kindOf .Values.{key} }}}}"),
        ));
    }
    // ints from --set are int64 and print plainly
    cases.push(with_set(
        raw("set ints", "{}", "v: {{ .Values.big }} {{ .Values.neg }} {{ typeOf .Values.big }} {{ .Values.bool }} {{ .Values.str }}\n"),
        &["big=1000000", "neg=-5", "bool=true", "str=abc"],
    ));
    cases.push(with_set(
        wrapped("set then add", r#"{"n": 3}"#, "{{ add .Values.n .Values.m }} {{ mul .Values.n 2 }} {{ div .Values.m 3 }} {{ .Values.n | int }} {{ .Values.m | float64 }}"),
        &["m=10"],
    ));
    cases.push(raw(
        "missing keys print nothing",
        NUMS,
        "v: a{{ .Values.nope }}b{{ .Values.m.nope }}c{{ .nothing }}d\n",
    ));
    cases.push(wrapped(
        "missing key inside include is <no value>",
        NUMS,
        "{{ .Values.nope }}|{{ index .Values \"nope\" }}|{{ .Values.n }}",
    ));
    cases.push(raw(
        "missing parent is a nil pointer error",
        NUMS,
        "v: {{ .Values.nope.deeper }}\n",
    ));
    cases.push(raw(
        "null parent is a nil pointer error",
        NUMS,
        "v: {{ .Values.n.deeper }}\n",
    ));
    cases.push(raw(
        "field of a string",
        NUMS,
        "v: {{ .Values.s.deeper }}\n",
    ));
    cases.push(wrapped(
        "range over maps in sorted order",
        r#"{"m": {"zeta": 1, "alpha": 2, "Beta": 3, "_u": 4, "10": 5, "9": 6}}"#,
        "{{ range $k, $v := .Values.m }}{{ $k }}={{ $v }};{{ end }}{{ range .Values.m }}{{ . }},{{ end }}",
    ));
    cases.push(wrapped(
        "range over lists, ints, else",
        NUMS,
        "{{ range $i, $v := .Values.l }}{{ $i }}:{{ $v }};{{ end }}{{ range 3 }}{{ . }}{{ end }}{{ range .Values.nope }}x{{ else }}empty{{ end }}{{ range .Values.m.z }}x{{ else }}none{{ end }}",
    ));
    check_all(&cases);
}

#[test]
fn include_tpl_required_fail_match_helm() {
    let helpers = r#"{{- define "t.name" -}}{{ .Chart.Name | default "t" }}-{{ .Values.s }}{{- end -}}
{{- define "t.labels" -}}
app: {{ include "t.name" . }}
tier: {{ .Values.tier | default "web" }}
{{- end -}}
{{- define "t.deep" -}}{{ include "t.missing" . }}{{- end -}}
{{- define "t.rec" -}}{{ include "t.rec" . }}{{- end -}}
{{- define "t.fails" -}}{{ fail "from a helper" }}{{- end -}}
{{- define "t.nil" -}}{{ .Values.nope.key | trunc 63 }}{{- end -}}
{{- define "t.outer" -}}{{ include "t.nil" . }}{{- end -}}
"#;
    let h = |c: Case| with_file(c, "templates/_helpers.tpl", helpers);
    let values = r#"{"s": "web", "tplv": "name-{{ .Values.s }}", "deftpl": "{{ define \"inner\" }}IN{{ .Values.s }}{{ end }}{{ include \"inner\" . }}", "badtpl": "{{ nofunc }}", "errtpl": "{{ .Values.nope.x }}", "nv": "a{{ .Values.missing }}b", "empty": ""}"#;
    let cases = vec![
        h(raw(
            "include nindent",
            values,
            "metadata:\n  labels:\n    {{- include \"t.labels\" . | nindent 4 }}\n  name: {{ include \"t.name\" . }}\n",
        )),
        h(wrapped(
            "include result is a string",
            values,
            "{{ include \"t.name\" . | upper }}|{{ typeOf (include \"t.name\" .) }}",
        )),
        h(raw(
            "tpl on a value",
            values,
            "v: {{ tpl .Values.tplv . }}\n",
        )),
        h(raw(
            "defines inside tpl reach include",
            values,
            "v: {{ tpl .Values.deftpl . }}\n",
        )),
        h(raw(
            "tpl deletes <no value>",
            values,
            "v: {{ tpl .Values.nv . }}\n",
        )),
        h(raw(
            "tpl parse error",
            values,
            "v: {{ tpl .Values.badtpl . }}\n",
        )),
        h(raw(
            "tpl exec error",
            values,
            "v: {{ tpl .Values.errtpl . }}\n",
        )),
        h(raw(
            "tpl with other dot",
            values,
            "v: {{ tpl \"{{ .s }}-{{ .missing }}\" .Values }}\n",
        )),
        h(raw(
            "include undefined",
            values,
            "v: {{ include \"nope\" . }}\n",
        )),
        h(raw(
            "include undefined, nested",
            values,
            "v: {{ include \"t.deep\" . }}\n",
        )),
        h(raw(
            "nested include trace",
            values,
            "v: {{ include \"t.outer\" . }}\n",
        )),
        h(raw(
            "fail in a helper",
            values,
            "\nv: {{ include \"t.fails\" . }}\n",
        )),
        h(raw("fail", values, "v: {{ fail \"stop here\" }}\n")),
        h(raw(
            "fail inside tpl",
            values,
            "v: {{ tpl \"{{ fail \\\"from tpl: x\\\" }}\" . }}\n",
        )),
        h(raw(
            "required inside tpl inside include",
            values,
            "{{- define \"t.req\" }}{{ tpl \"{{ required \\\"need .x\\\" .x }}\" . }}{{ end }}v: {{ include \"t.req\" . }}\n",
        )),
        h(raw(
            "error inside a template action",
            values,
            "{{- define \"t.bad\" }}{{ .Values.nope.deeper }}{{ end }}v: {{ template \"t.bad\" . }}\n",
        )),
        h(raw(
            "error inside range inside include",
            r#"{"l": [{"a": 1}, "str"]}"#,
            "{{- define \"t.loop\" }}{{ range .Values.l }}{{ .a }}{{ end }}{{ end }}v: {{ include \"t.loop\" . }}\n",
        )),
        h(raw(
            "required missing",
            values,
            "a: 1\nv: {{ required \"s2 is required\" .Values.s2 }}\n",
        )),
        h(raw(
            "required empty string",
            values,
            "v: {{ .Values.empty | required \"empty!\" }}\n",
        )),
        h(raw(
            "required passes zero values",
            r#"{"z": 0, "f": false, "m": {}}"#,
            "v: {{ required \"a\" .Values.z }} {{ required \"b\" .Values.f }} {{ required \"c\" .Values.m }}\n",
        )),
        h(raw(
            "template action",
            values,
            "v: {{ template \"t.name\" . }}\n",
        )),
        h(raw(
            "template undefined",
            values,
            "v: {{ template \"nope\" . }}\n",
        )),
        h(raw(
            "undefined function is a parse error",
            values,
            "a: 1\nv: {{ foo }}\n",
        )),
        h(raw("unclosed action", values, "v: {{ .Values.s \n")),
        h(raw("wrong arg type", values, "v: {{ include 3 . }}\n")),
        h(raw(
            "index out of range",
            r#"{"l": [1]}"#,
            "v: {{ index .Values.l 5 }}\n",
        )),
    ];
    check_all(&cases);
}

#[test]
fn include_recursion_guard_matches_helm() {
    let Some(bin) = helm_bin() else { return };
    let case = with_file(
        raw("recursion", "{}", "v: {{ include \"t.rec\" . }}\n"),
        "templates/_helpers.tpl",
        "{{- define \"t.rec\" -}}{{ include \"t.rec\" . }}{{- end -}}",
    );
    let want = run_helm(&bin, &case);
    // ~1000 nested includes: run where the stack allows it, as the
    // renderer must
    let c = case.clone();
    let got = std::thread::Builder::new()
        .stack_size(1100 * STACK_PER_LEVEL)
        .spawn(move || run_ours(&c))
        .expect("spawn")
        .join()
        .expect("join");
    let (Err(want), Err(got)) = (&want, &got) else {
        panic!("both must fail: helm {want:?}, ours {got:?}");
    };
    assert!(
        want.contains(
            "rendering template has a nested reference name: t.rec: unable to execute template"
        ),
        "{want}"
    );
    assert_eq!(want.len(), got.len());
    assert!(want == got, "recursion error differs");
}

#[test]
fn mutations_are_seen_by_later_files() {
    let cases = vec![
        // b.yaml runs before a.yaml (reverse lexical), so a.yaml sees the set
        with_file(
            with_file(
                raw(
                    "set seen later",
                    r#"{"m": {"k": "v"}}"#,
                    "t: {{ .Values.m.k }}\n",
                ),
                "templates/b.yaml",
                "{{- $_ := set .Values.m \"k\" \"changed\" }}{{ $_ := set .Values \"added\" 1 }}b: {{ .Values.m.k }}\n",
            ),
            "templates/a.yaml",
            "a: {{ .Values.m.k }} {{ .Values.added }} {{ $_ := unset .Values.m \"k\" }}\n",
        ),
        with_file(
            raw(
                "merge into values",
                r#"{"a": {"x": 1}, "b": {"x": 2, "y": 3}}"#,
                "t: {{ .Values.a }}\n",
            ),
            "templates/u.yaml",
            "{{- $_ := merge .Values.a .Values.b }}u: {{ .Values.a }}\n",
        ),
    ];
    check_all(&cases);
}

#[test]
fn objects_match_helm() {
    let files = |c: Case| {
        with_file(
            with_file(
                with_file(c, "files/a.conf", "alpha\n"),
                "files/b.conf",
                "beta",
            ),
            "files/c.txt",
            "hi",
        )
    };
    let cases = vec![
        raw(
            "capabilities",
            "{}",
            "v: {{ .Capabilities.KubeVersion }} {{ .Capabilities.KubeVersion.Version }} {{ .Capabilities.KubeVersion.Major }}.{{ .Capabilities.KubeVersion.Minor }}\nh: {{ .Capabilities.APIVersions.Has \"apps/v1\" }} {{ .Capabilities.APIVersions.Has \"foo/v9\" }}\n",
        ),
        raw(
            "capabilities method arity",
            "{}",
            "h: {{ .Capabilities.APIVersions.Has }}\n",
        ),
        raw(
            "capabilities method arg type",
            "{}",
            "h: {{ .Capabilities.APIVersions.Has 3 }}\n",
        ),
        raw(
            "capabilities unknown field",
            "{}",
            "h: {{ .Capabilities.Nope }}\n",
        ),
        files(wrapped(
            "files",
            "{}",
            "{{ .Files.Get \"files/c.txt\" }}|{{ .Files.GetBytes \"files/c.txt\" }}|{{ .Files.Get \"nope\" }}|{{ range $p, $b := .Files.Glob \"files/*.conf\" }}{{ $p }}={{ $b }}/{{ toString $b }}/{{ printf \"%s\" $b }};{{ end }}|{{ len (.Files.Glob \"files/*\") }}",
        )),
        files(wrapped(
            "bytes functions",
            "{}",
            "{{ .Files.GetBytes \"files/c.txt\" | toString | upper }}|{{ typeOf (.Files.GetBytes \"files/c.txt\") }}|{{ (.Files.GetBytes \"files/c.txt\") | toJson }}",
        )),
        files(raw(
            "bytes to a string parameter",
            "{}",
            "v: {{ .Files.GetBytes \"files/c.txt\" | b64enc }}\n",
        )),
    ];
    check_all(&cases);
}

/// The engine with no helm: API behaviour a renderer relies on.
#[test]
fn set_api_semantics() {
    let mut set = Set::helm(FuncMap::helm());
    set.parse("t/templates/_a.tpl", "{{ define \"x\" }}first{{ end }}")
        .expect("parse");
    set.parse(
        "t/templates/_b.tpl",
        "{{ define \"x\" }}second{{ end }}{{ define \"y\" }}{{ end }}",
    )
    .expect("parse");
    set.parse("t/templates/_c.tpl", "{{ define \"x\" }}{{ end }}")
        .expect("parse");
    set.parse(
        "t/templates/t.yaml",
        "{{ template \"x\" }}|{{ include \"x\" . }}",
    )
    .expect("parse");
    // a later define replaces an earlier one; an empty one replaces nothing
    assert_eq!(
        set.execute("t/templates/t.yaml", &Value::Nil).expect("run"),
        "second|second"
    );
    // undefined functions fail at parse time, with Go's and Helm's texts
    let e = set
        .parse("t/templates/u.yaml", "a\n{{ nope 1 }}")
        .expect_err("undefined");
    assert_eq!(
        e.to_string(),
        "template: t/templates/u.yaml:2: function \"nope\" not defined"
    );
    assert_eq!(
        e.helm_message(),
        "parse error at (t/templates/u.yaml:2): function \"nope\" not defined"
    );
    // a registered closure overrides a builtin of the same name
    let mut funcs = FuncMap::helm();
    let calls = Rc::new(RefCell::new(0));
    let c2 = Rc::clone(&calls);
    funcs.insert("upper", Signature::new(&[Param::Str]), move |a| {
        *c2.borrow_mut() += 1;
        Ok(Value::str(format!(
            "<{}>",
            a[0].as_str().unwrap_or_default()
        )))
    });
    funcs.insert("boom", Signature::new(&[]), |_| Err("it broke".into()));
    let mut set = Set::helm(funcs);
    set.parse("t", "{{ upper \"a\" }}").expect("parse");
    set.parse("u", "{{ boom }}").expect("parse");
    assert_eq!(set.execute("t", &Value::Nil).expect("run"), "<a>");
    assert_eq!(*calls.borrow(), 1);
    let e = set.execute("u", &Value::Nil).expect_err("boom");
    assert_eq!(
        e.to_string(),
        "template: u:1:3: executing \"u\" at <boom>: error calling boom: it broke"
    );
    // unknown template
    let e = set.execute("nope", &Value::Nil).expect_err("no template");
    assert_eq!(
        e.to_string(),
        "template: no template \"nope\" associated with template \"gotpl\""
    );
    // without a clock or a random source, their functions fail clearly
    let mut set = Set::helm(FuncMap::helm());
    set.parse("n", "{{ now }}").expect("parse");
    set.parse("r", "{{ randAlphaNum 3 }}").expect("parse");
    let e = set.execute("n", &Value::Nil).expect_err("no clock");
    assert!(e.to_string().contains("error calling now: no clock"), "{e}");
    let e = set.execute("r", &Value::Nil).expect_err("no rng");
    assert!(
        e.to_string()
            .contains("error calling randAlphaNum: no source of randomness"),
        "{e}"
    );
    // ferroflux's bound on generated strings
    let mut funcs = FuncMap::helm();
    funcs.set_rng(|| 7);
    let mut set = Set::helm(funcs);
    set.parse("big", "{{ randAlphaNum 100000000 }}")
        .expect("parse");
    let e = set.execute("big", &Value::Nil).expect_err("too big");
    assert!(e.to_string().contains("ferroflux's limit"), "{e}");
    // the certificate generators need the random source and the clock
    let mut set = Set::helm(FuncMap::helm());
    set.parse("ca", "{{ genCA \"x\" 365 }}").expect("parse");
    let e = set.execute("ca", &Value::Nil).expect_err("no rng");
    assert!(
        e.to_string()
            .contains("error calling genCA: no source of randomness"),
        "{e}"
    );
    // env/expandenv are not in Helm's map
    let mut set = Set::helm(FuncMap::helm());
    assert!(set.parse("e", "{{ env \"HOME\" }}").is_err());
    assert!(set.parse("e", "{{ expandenv \"$HOME\" }}").is_err());
}

#[test]
fn values_from_and_to_json() {
    let j: serde_json::Value = serde_json::from_str(
        r#"{"f": 1000000.0, "i": 5, "b": [1.5, null, true], "s": "<&>", "m": {}}"#,
    )
    .expect("json");
    let v = Value::from_json(&j);
    assert_eq!(
        v.get_key("f").map(|x| x.type_name()),
        Some("float64".into())
    );
    assert_eq!(v.get_key("i").map(|x| x.type_name()), Some("int64".into()));
    assert_eq!(v.get_key("f").map(|x| x.to_string()), Some("1e+06".into()));
    assert_eq!(v.type_name(), "map[string]interface {}");
    assert_eq!(
        v.to_json_string().expect("json"),
        r#"{"b":[1.5,null,true],"f":1000000,"i":5,"m":{},"s":"\u003c\u0026\u003e"}"#
    );
    assert_eq!(Value::bytes(b"hi".to_vec()).to_string(), "[104 105]");
    assert_eq!(
        Value::bytes(b"hi".to_vec()).to_json_string().expect("json"),
        "\"aGk=\""
    );
    assert_eq!(
        Value::Float(f64::NAN).to_json_string().expect_err("nan"),
        "json: unsupported value: NaN"
    );
}

/// Every function that needs the clock, the random source or that sprig's
/// hermetic map lacks, and a sweep of sprig over Helm's value types.
#[test]
fn sprig_functions_match_helm() {
    let w = |name: &str, t: &str| wrapped(name, NUMS, t);
    let d = "(toDate \"2006-01-02 15:04:05\" \"2017-12-31 13:14:15\")";
    let cases = vec![
        w(
            "case conversions",
            "{{ range list \"HTTPServer_fooBar baz-qux\" \"FirstName\" \"GO_PATH\" \"http2xx\" \"Bld4Floor3rd\" \"some-words here\" \"_lead__double\" \"a.b:c\" \"ÄpfelBaum\" \"x\" \"\" }}{{ snakecase . }}|{{ kebabcase . }}|{{ camelcase . }};{{ end }}",
        ),
        w(
            "base32",
            "{{ \"NBSWY3DPEE======\" | b32dec }}|{{ \"hello\" | b32enc }}|{{ \"NBSWY3D!\" | b32dec }}|{{ \"NBSW\" | b32dec }}",
        ),
        w(
            "mustFromJson",
            "{{ mustFromJson \"{\\\"a\\\":1,\\\"b\\\":[true,null]}\" }}|{{ typeOf (mustFromJson \"[1]\") }}",
        ),
        w("mustFromJson eof", "{{ mustFromJson \"{\" }}"),
        w("mustFromJson bad char", "{{ mustFromJson \"x\" }}"),
        w(
            "urlParse",
            "{{ urlParse \"https://user:pa%20ss@host.example:8080/p/a%20th?q=1&r=2#fr%20ag\" | toJson }}|{{ urlParse \"mailto:x@y.z\" | toJson }}|{{ urlParse \"/rel/path?x\" | toJson }}",
        ),
        w(
            "urlJoin",
            "{{ urlJoin (dict \"scheme\" \"https\" \"host\" \"h:1\" \"path\" \"/a b\" \"query\" \"x=1\" \"fragment\" \"f g\") }}|{{ urlJoin (dict \"scheme\" \"mailto\" \"opaque\" \"x@y\") }}|{{ urlJoin (dict \"path\" \"a:b\") }}|{{ urlJoin (dict \"host\" \"h\" \"path\" \"p\" \"userinfo\" \"u:p w\") }}",
        ),
        w("urlJoin bad type", "{{ urlJoin (dict \"host\" 1) }}"),
        w(
            "dates from toDate",
            &format!(
                "{{{{ {d} | date \"02/01/2006 15:04:05.000 MST Mon Jan _2 3PM -07:00 Z07:00\" }}}}|{{{{ {d} | unixEpoch }}}}|{{{{ {d} }}}}|{{{{ {d}.Year }}}}|{{{{ {d} | toJson }}}}|{{{{ typeOf {d} }}}}"
            ),
        ),
        w(
            "date arithmetic",
            &format!(
                "{{{{ {d} | date_modify \"1.5h\" | date \"2006-01-02T15:04:05Z07:00\" }}}}|{{{{ dateModify \"-90m\" {d} | htmlDate }}}}|{{{{ dateModify \"bad\" {d} | unixEpoch }}}}|{{{{ mustDateModify \"24h\" {d} | htmlDate }}}}"
            ),
        ),
        w(
            "mustDateModify error",
            &format!("{{{{ mustDateModify \"2x\" {d} }}}}"),
        ),
        w(
            "dates from numbers",
            "{{ date \"2006-01-02 15:04\" 1500000000 }}|{{ htmlDate 0 }}|{{ dateInZone \"2006-01-02 15:04 MST\" 1500000000 \"UTC\" }}|{{ htmlDateInZone 86400 \"UTC\" }}|{{ date_in_zone \"15:04\" 60 \"Local\" }}",
        ),
        w(
            "toDate failures",
            "{{ toDate \"2006-01-02\" \"2017-1-31\" }}|{{ toDate \"2006-01-02\" \"2017-02-30\" | unixEpoch }}",
        ),
        w(
            "mustToDate error",
            "{{ mustToDate \"2006-01-02\" \"2017-1-31\" }}",
        ),
        w(
            "mustToDate range error",
            "{{ mustToDate \"2006-01-02\" \"2017-02-30\" }}",
        ),
        w("unixEpoch wrong type", "{{ unixEpoch \"x\" }}"),
        w(
            "durations",
            "{{ durationRound \"2h10m\" }}|{{ durationRound \"95s\" }}|{{ durationRound 3000000000 }}|{{ durationRound (int64 3000000000) }}|{{ durationRound \"800h\" }}|{{ durationRound \"9000h\" }}|{{ durationRound \"x\" }}|{{ duration 95 }}|{{ duration \"3700\" }}",
        ),
        w(
            "now",
            "{{ now | date \"2006\" | len }}|{{ typeOf now }}|{{ ago now }}|{{ now | unixEpoch | len }}|{{ kindOf now }}|{{ durationRound now }}",
        ),
        w(
            "random",
            "{{ randAlphaNum 10 | len }}|{{ regexMatch \"^[a-zA-Z0-9]{12}$\" (randAlphaNum 12) }}|{{ regexMatch \"^[a-zA-Z]{12}$\" (randAlpha 12) }}|{{ regexMatch \"^[0-9]{12}$\" (randNumeric 12) }}|{{ regexMatch \"^[ -~]{12}$\" (randAscii 12) }}|{{ randAlpha -1 }}|{{ randAlpha 0 }}|{{ randInt 5 6 }}|{{ randBytes 12 | len }}|{{ regexMatch \"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$\" uuidv4 }}|{{ shuffle \"aaa\" }}|{{ shuffle \"ab\" | len }}",
        ),
        w(
            "aes",
            "{{ decryptAES \"k3y\" \"re8cI+eKthiEtix8A6cLDdDTnQRk00qY0CHKl+koq1CAJKkQ9abmAn1vy6JC4uZv\" }}|{{ encryptAES \"a much longer password than thirty-two bytes\" \"round trip\" | decryptAES \"a much longer password than thirty-two bytes\" }}|{{ encryptAES \"k\" \"0123456789abcdef\" | len }}|{{ encryptAES \"k\" \"\" }}|{{ decryptAES \"k\" \"\" }}",
        ),
        w("decryptAES base64 error", "{{ decryptAES \"k\" \"!!\" }}"),
        w("decryptAES too short", "{{ decryptAES \"k\" \"AAAA\" }}"),
        w(
            "decryptAES no block",
            "{{ decryptAES \"k\" \"AAAAAAAAAAAAAAAAAAAAAA==\" }}",
        ),
        w(
            "decryptAES partial block",
            "{{ decryptAES \"k\" \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\" }}",
        ),
        w(
            "decryptAES bad padding",
            "{{ decryptAES \"k\" \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\" }}",
        ),
        w(
            "bcrypt and htpasswd",
            "{{ regexMatch \"^\\\\$2a\\\\$10\\\\$[./A-Za-z0-9]{53}$\" (bcrypt \"secret\") }}|{{ regexMatch \"^user:\\\\$2a\\\\$10\\\\$[./A-Za-z0-9]{53}$\" (htpasswd \"user\" \"pw\") }}|{{ htpasswd \"a:b\" \"pw\" }}|{{ bcrypt \"0123456789012345678901234567890123456789012345678901234567890123456789012\" }}",
        ),
        w(
            "derivePassword",
            "{{ derivePassword 1 \"long\" \"password\" \"user\" \"example.com\" }}|{{ derivePassword 2 \"pin\" \"p\" \"u\" \"s\" }}|{{ derivePassword 1 \"nope\" \"p\" \"u\" \"s\" }}",
        ),
        w("randInt empty range", "{{ randInt 5 5 }}"),
        w("randBytes negative", "{{ randBytes -1 }}"),
        w(
            "dig into common.Values",
            "{{ dig \"m\" \"k\" \"def\" .Values }}",
        ),
        w(
            "types of the top-level objects",
            "{{ typeOf . }}|{{ typeOf .Values }}|{{ typeOf .Release }}|{{ typeOf .Chart }}|{{ typeOf .Template }}|{{ typeOf .Values.m }}|{{ typeOf .Release.Revision }}|{{ kindOf .Values }}",
        ),
        w("getHostByName", "{{ getHostByName \"localhost\" }}"),
        w(
            "numbers from values",
            "{{ .Values.f | int }}|{{ .Values.g | int64 }}|{{ .Values.g | int }}|{{ .Values.a | quote }}|{{ .Values.f | squote }}|{{ add .Values.f 1 }}|{{ add1 .Values.g }}|{{ sub .Values.f .Values.g }}|{{ mul .Values.g 2 }}|{{ div .Values.f 3 }}|{{ mod .Values.f 7 }}|{{ max .Values.f 10 .Values.a }}|{{ min .Values.g 1 }}|{{ addf .Values.g 1 }}|{{ mulf .Values.g .Values.g }}|{{ divf .Values.f 3 }}|{{ round 2.567 2 }}|{{ floor .Values.g }}|{{ ceil .Values.g }}|{{ .Values.a | toString }}|{{ .Values.c | toString }}|{{ toDecimal \"0777\" }}|{{ atoi \"12\" }}|{{ .Values.a | float64 }}",
        ),
        w(
            "printf of values",
            "{{ printf \"%d\" .Values.f }}|{{ .Values.f | int | printf \"%d\" }}|{{ printf \"%.2f\" .Values.g }}|{{ printf \"%s\" .Values.f }}|{{ printf \"%v %v\" .Values.l .Values.m }}|{{ printf \"%05.1f|%x|%e\" .Values.g .Values.f .Values.a }}|{{ print .Values.a .Values.s 1 2 }}|{{ println .Values.t }}",
        ),
        w(
            "defaults and emptiness",
            "{{ default 5 .Values.nope }}|{{ default \"d\" .Values.s }}|{{ default 1 .Values.h }}|{{ empty .Values.h }}|{{ empty .Values.m.z }}|{{ empty .Values.m.e }}|{{ empty .Values.n }}|{{ coalesce .Values.n .Values.h .Values.s }}|{{ ternary \"a\" \"b\" .Values.t }}|{{ all .Values.s .Values.f }}|{{ any .Values.h .Values.n }}|{{ required \"x\" .Values.h }}",
        ),
        w(
            "lists and dicts of values",
            "{{ .Values.l | first }}|{{ .Values.l | last }}|{{ .Values.l | rest }}|{{ .Values.l | initial }}|{{ .Values.l | reverse }}|{{ .Values.l | compact }}|{{ .Values.l | uniq }}|{{ has 1.0 .Values.l }}|{{ has 1 .Values.l }}|{{ without .Values.l \"a\" }}|{{ append .Values.l 3 }}|{{ prepend .Values.l 0 }}|{{ concat .Values.l (list 9) }}|{{ slice .Values.l 1 3 }}|{{ chunk 2 .Values.l }}|{{ .Values.m | keys | sortAlpha }}|{{ values .Values.m | len }}|{{ dig \"k\" \"def\" .Values.m }}|{{ dig \"q\" \"def\" .Values.m }}|{{ dig \"m\" \"k\" \"def\" (dict \"m\" .Values.m) }}|{{ hasKey .Values \"f\" }}|{{ get .Values \"s\" }}|{{ pluck \"k\" .Values.m (dict \"k\" 2) }}|{{ pick .Values.m \"k\" }}|{{ omit .Values.m \"k\" }}|{{ deepCopy .Values.m | toJson }}|{{ list 1 2.5 \"x\" nil | toJson }}|{{ dict \"b\" 1 \"a\" (list) | toJson }}|{{ mergeOverwrite (dict \"a\" 1 \"c\" (dict \"x\" 1)) (dict \"a\" 2 \"c\" (dict \"y\" 2)) | toJson }}|{{ merge (dict \"a\" 1) (dict \"a\" 2 \"b\" 3) | toJson }}|{{ until 3 }}|{{ untilStep 0 10 3 }}|{{ seq 3 }}|{{ sortAlpha (list \"b\" \"a\" 10 2) }}|{{ join \",\" .Values.l }}|{{ splitList \",\" \"a,b\" }}|{{ split \",\" \"a,b\" }}|{{ toStrings .Values.l }}|{{ tuple 1 \"a\" }}",
        ),
        w(
            "strings and regexes",
            "{{ .Values.s | repeat 3 }}|{{ \"Hello World\" | trunc 5 }}|{{ \"Hello World\" | trunc -5 }}|{{ \"  x  \" | trim }}|{{ trimAll \"$\" \"$5.00$\" }}|{{ \"hello\" | title }}|{{ \"Hello\" | untitle }}|{{ substr 1 3 \"hello\" }}|{{ \"hello\" | nospace }}|{{ abbrev 5 \"hello world\" }}|{{ abbrevboth 5 10 \"1234 5678 9123\" }}|{{ initials \"First Try\" }}|{{ swapcase \"AbC\" }}|{{ wrap 5 \"hello world again\" }}|{{ wrapWith 5 \"\\t\" \"hello world\" }}|{{ contains \"ell\" \"hello\" }}|{{ hasPrefix \"he\" \"hello\" }}|{{ cat \"a\" 1 nil .Values.g }}|{{ indent 2 \"a\\nb\" }}|{{ replace \"l\" \"L\" \"hello\" }}|{{ plural \"one\" \"many\" 2 }}|{{ regexReplaceAll \"a(x*)b\" \"-ab-axxb-\" \"${1}W\" }}|{{ regexReplaceAllLiteral \"a(x*)b\" \"-ab-\" \"$1\" }}|{{ regexFindAll \"[0-9]+\" \"a1b22c333\" -1 }}|{{ regexFind \"[0-9]+\" \"a1b22\" }}|{{ regexSplit \",\" \"a,b,c\" 2 }}|{{ regexQuoteMeta \"a.b*c\" }}|{{ quote \"a\" nil 1 }}|{{ squote .Values.s }}|{{ sha256sum \"x\" }}|{{ sha1sum \"x\" }}|{{ sha512sum \"x\" | trunc 16 }}|{{ adler32sum \"x\" }}|{{ b64enc \"x\" }}|{{ b64dec \"eA==\" }}|{{ b64dec \"!\" }}|{{ base \"a/b.c\" }}|{{ dir \"a/b.c\" }}|{{ ext \"a/b.c\" }}|{{ clean \"a//b/../c\" }}|{{ isAbs \"/a\" }}|{{ html \"<a>\" }}|{{ js \"'x'\" }}|{{ urlquery \"a b&c\" }}",
        ),
        w(
            "reflection and semver",
            "{{ kindIs \"map\" .Values.m }}|{{ kindIs \"slice\" .Values.l }}|{{ typeIs \"float64\" .Values.f }}|{{ typeIsLike \"float64\" .Values.f }}|{{ kindOf .Values.n }}|{{ typeOf .Values.n }}|{{ deepEqual .Values.l .Values.l }}|{{ semverCompare \">=1.20-0\" .Capabilities.KubeVersion.Version }}|{{ semverCompare \"<1.20\" \"1.19.3\" }}|{{ (semver \"1.2.3-beta.1+b\").Prerelease }}|{{ (semver \"v1.2.3\").Major }}|{{ semver \"1.2.3\" | toJson }}",
        ),
        w("semver error", "{{ semver \"x.y\" }}"),
        w("semver empty", "{{ semver \"\" }}"),
        w("semver leading zero", "{{ semver \"1.2.3-01\" }}"),
        w(
            "semverCompare bad version",
            "{{ semverCompare \">1\" \"x\" }}",
        ),
        w(
            "semverCompare ranges",
            "{{ semverCompare \"^1.2\" \"1.9.0\" }}|{{ semverCompare \"~1.2\" \"1.3.0\" }}|{{ semverCompare \">=1.0.0-0\" \"1.0.0-rc1\" }}|{{ semverCompare \">=1.0.0\" \"1.0.0-rc1\" }}|{{ semverCompare \"1.x\" \"1.4.2\" }}|{{ semverCompare \"1.2 - 1.4\" \"1.4.9\" }}|{{ semverCompare \">1, <2 || 3\" \"3.0.1\" }}|{{ semverCompare \"!=1.2.3\" \"1.2.3\" }}|{{ semverCompare \"^0.0.1\" \"0.0.2\" }}|{{ semverCompare \"*\" \"1.0.0-alpha\" }}",
        ),
        w("semverCompare error", "{{ semverCompare \"x\" \"1.0.0\" }}"),
        w("sprig panic", "{{ first .Values.s }}"),
        w(
            "index of a map with a float",
            "{{ index .Values.m \"k\" }}|{{ index .Values.l 1 }}",
        ),
        w("wrong type for int param", "{{ repeat .Values.f \"x\" }}"),
    ];
    check_all(&cases);
}

/// A generated differential test: every unary pipeline stage below applied
/// to every kind of value Helm's templates see (YAML floats, `--set`
/// int64s, strings, bools, null, lists, maps, a missing key). A chart per
/// stage; when helm fails on it (the first error stops helm), a chart per
/// value, so every value's outcome is compared. (`keys` and `values` are
/// left out: Go returns them in map order, which is random.)
#[test]
fn generated_stages_over_values_match_helm() {
    let Some(bin) = helm_bin() else { return };
    const STAGES: &[&str] = &[
        "toString",
        "quote",
        "squote",
        "int",
        "int64",
        "float64",
        "toJson",
        "toRawJson",
        "toPrettyJson",
        "typeOf",
        "kindOf",
        "empty",
        "not",
        "len",
        "first",
        "last",
        "rest",
        "initial",
        "reverse",
        "uniq",
        "compact",
        "sortAlpha",
        "toStrings",
        "deepCopy",
        "default \"d\"",
        "upper",
        "title",
        "trim",
        "nospace",
        "kebabcase",
        "b64enc",
        "sha256sum",
        "toDecimal",
        "atoi",
        "add1",
        "add 1",
        "mul 2",
        "ceil",
        "floor",
        "round 1",
        "addf 0.5",
        "print",
        "printf \"%v|%q|%d|%s|%x|%5.2f\"",
        "html",
        "js",
        "urlquery",
        "join \",\"",
        "trunc 3",
        "indent 2",
        "nindent 2",
        "repeat 2",
        "ternary \"a\" \"b\"",
        "list",
        "has 1.0",
        "durationRound",
        "duration",
        "semver",
        "b32enc",
        "cat \"x\"",
        "eq 1.0",
        "lt 2.0",
        "toDate \"2006\"",
        "index \"k\"",
        "coalesce 0",
        "splitList \",\"",
    ];
    const KEYS: &[&str] = &[
        "a", "f", "g", "h", "i", "n", "s", "t", "l", "m", "e0", "es", "nope", "int", "num",
    ];
    const VALUES: &str = r#"{"a": 1000000, "f": 8080, "g": 2.5, "h": -0.0, "i": 1e21, "n": null, "s": "x,y", "t": true, "l": [1, "a", null, 2.5], "m": {"k": 1, "z": []}, "e0": [], "es": ""}"#;
    fn case_for(stage: &str, keys: &[&str]) -> Case {
        let values = VALUES;
        let body: String = keys
            .iter()
            .map(|k| format!("{k}={{{{ .Values.{k} | {stage} }}}};"))
            .collect();
        with_set(
            wrapped(&format!("{stage} over {keys:?}"), values, &body),
            &["int=42", "num=-3"],
        )
    }
    // helm runs in parallel: each stage on its own thread, four at a time
    let results: Vec<(usize, Vec<String>)> = STAGES
        .chunks(STAGES.len().div_ceil(4))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|chunk| {
            let bin = bin.clone();
            std::thread::spawn(move || {
                let mut failures = Vec::new();
                let mut compared = 0;
                for stage in chunk {
                    let all = case_for(stage, KEYS);
                    let want = run_helm(&bin, &all);
                    let cases = if want.is_ok() {
                        vec![(all, want)]
                    } else {
                        KEYS.iter()
                            .map(|k| {
                                let c = case_for(stage, &[k]);
                                let w = run_helm(&bin, &c);
                                (c, w)
                            })
                            .collect()
                    };
                    for (case, want) in cases {
                        compared += 1;
                        let got = run_ours(&case);
                        if want != got {
                            failures.push(format!(
                                "case {}:\n  helm: {:?}\n  ours: {:?}",
                                case.name,
                                want.as_ref()
                                    .map(|o| explain(o))
                                    .unwrap_or_else(|e| e.clone()),
                                got.as_ref()
                                    .map(|o| explain(o))
                                    .unwrap_or_else(|e| e.clone()),
                            ));
                        }
                    }
                }
                (compared, failures)
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().expect("worker"))
        .collect();
    let compared: usize = results.iter().map(|r| r.0).sum();
    let failures: Vec<String> = results.into_iter().flat_map(|r| r.1).collect();
    assert!(
        failures.is_empty(),
        "{} of {compared} charts differ from helm:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Hostile nesting ends in an error, never a stack overflow, on a thread
/// of `max_depth * STACK_PER_LEVEL` bytes (the renderer's rule).
#[test]
fn deep_recursion_is_an_error_not_an_overflow() {
    let depth = ferroflux_template::Options::HELM.max_depth;
    let run = || {
        let mut set = Set::helm(FuncMap::helm());
        let defs = r#"{{- define "tmpl" }}{{ template "tmpl" . }}{{ end -}}
{{- define "tpl" }}{{ tpl "{{ include \"tpl\" . }}" . }}{{ end -}}
{{- define "mixed" }}{{ if . }}{{ range list 1 }}{{ with $ }}{{ include "mixed" (dict "a" (list .)) | upper | trim }}{{ end }}{{ end }}{{ end }}{{ end -}}"#;
        set.parse("t/templates/_r.tpl", defs).expect("parse");
        set.parse("t/templates/a.yaml", "{{ template \"tmpl\" . }}")
            .expect("parse");
        set.parse("t/templates/b.yaml", "{{ include \"tpl\" . }}")
            .expect("parse");
        set.parse("t/templates/c.yaml", "{{ include \"mixed\" . }}")
            .expect("parse");
        let dot = Value::dict(vec![("x".into(), Value::Int(1))]);
        ["a", "b", "c"].map(|f| {
            set.execute(&format!("t/templates/{f}.yaml"), &dot)
                .map_err(|e| e.to_string())
        })
    };
    let results = std::thread::Builder::new()
        .stack_size(depth * STACK_PER_LEVEL)
        .spawn(run)
        .expect("spawn")
        .join()
        .expect("no overflow");
    for r in &results {
        let e = r.as_ref().expect_err("too deep");
        assert!(
            e.contains(&format!("exceeded maximum template depth ({depth})"))
                || e.contains("rendering template has a nested reference name"),
            "{e}"
        );
    }
}

/// The benchmark's chart (ingress-nginx's shape, `benches/chart/`) renders
/// as helm renders it.
#[test]
fn bench_chart_matches_helm() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/chart");
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).expect("bench chart");
    let env: Vec<String> = (0..20)
        .map(|i| format!(r#"{{"name": "var_{i}", "value": {}}}"#, f64::from(i) * 1.5))
        .collect();
    let args: Vec<String> = (0..20)
        .map(|i| format!(r#""flag-{i}": "value-{i}""#))
        .collect();
    let values = format!(
        r#"{{"component": "controller", "replicaCount": 3, "image": {{"repository": "registry.k8s.io/ingress-nginx/controller", "tag": "v1.11.0"}}, "extraArgs": {{{}}}, "env": [{}], "ports": [{{"name": "http", "port": 80}}, {{"name": "https", "port": 443}}], "resources": {{"requests": {{"cpu": "100m"}}}}, "nodeSelector": {{"kubernetes.io/os": "linux"}}, "commonLabels": {{"team": "edge"}}}}"#,
        args.join(", "),
        env.join(", ")
    );
    let mut case = raw("bench chart", &values, &read("deployment.yaml"));
    case = with_file(case, "templates/_helpers.tpl", &read("_helpers.tpl"));
    for i in 1..4 {
        case = with_file(
            case,
            &format!("templates/t{i}.yaml"),
            &read("deployment.yaml"),
        );
    }
    // toJson is Helm's own: the harness registers an equivalent
    check_all(&[case]);
}

/// text/template's own semantics over Helm's value types: comparisons of
/// YAML floats with integer literals (the classic trap), truth, `len`,
/// `index`, `slice`, `with`/`else with`, `range` with `break`/`continue`,
/// variables, comments and trim markers.
#[test]
fn go_template_semantics_match_helm() {
    let w = |name: &str, t: &str| with_set(wrapped(name, NUMS, t), &["int=42"]);
    let cases = vec![
        w("eq float with int literal", "{{ eq .Values.f 8080 }}"),
        w(
            "eq float with float literal",
            "{{ eq .Values.f 8080.0 }}|{{ eq .Values.g 2.5 }}|{{ ne .Values.s \"x\" }}|{{ eq .Values.s \"a\" \"x\" }}",
        ),
        w(
            "eq int64 from --set with int literal",
            "{{ eq .Values.int 42 }}|{{ lt .Values.int 50 }}|{{ ge .Values.int 42 }}",
        ),
        w("lt float with int literal", "{{ lt .Values.g 3 }}"),
        w(
            "eq missing with string",
            "{{ eq .Values.nope \"x\" }}|{{ eq .Values.n nil }}",
        ),
        w("eq with a map", "{{ eq .Values.m .Values.m }}"),
        w(
            "and or not",
            "{{ and .Values.t .Values.s }}|{{ or .Values.h .Values.nope \"d\" }}|{{ not .Values.m.z }}|{{ and 1 0 2 }}|{{ or 0 \"\" }}",
        ),
        w(
            "len and index",
            "{{ len .Values.l }}|{{ len .Values.m }}|{{ len .Values.s }}|{{ index .Values.l 1 }}|{{ index .Values.m \"k\" }}|{{ index .Values.m \"nope\" }}|{{ index .Values \"m\" \"k\" }}|{{ slice .Values.l 1 2 }}|{{ slice .Values.s 0 1 }}",
        ),
        w("len of a number", "{{ len .Values.f }}"),
        w("index with a float", "{{ index .Values.l 1.0 }}"),
        w(
            "with and else with",
            "{{ with .Values.nope }}a{{ else with .Values.m.e }}b{{ else with .Values.s }}{{ . }}{{ end }}|{{ with .Values.m }}{{ .k }}-{{ $.Values.s }}{{ end }}",
        ),
        w(
            "range break continue",
            "{{ range $i, $v := .Values.l }}{{ if eq $i 1 }}{{ continue }}{{ end }}{{ if eq $i 3 }}{{ break }}{{ end }}{{ $i }}={{ $v }};{{ end }}",
        ),
        w(
            "range over a string",
            "{{ range .Values.s }}{{ . }}{{ end }}",
        ),
        w(
            "range over a float",
            "{{ range .Values.g }}{{ . }}{{ end }}",
        ),
        w(
            "variables",
            "{{ $x := 1 }}{{ range .Values.l }}{{ $x = . }}{{ end }}{{ $x }}|{{ $m := .Values.m }}{{ $m.k }}|{{- /* a comment */ -}} x",
        ),
        w(
            "if else if",
            "{{ if .Values.h }}h{{ else if .Values.nope }}n{{ else if .Values.e }}e{{ else }}none{{ end }}",
        ),
        w(
            "printf of maps and lists",
            "{{ printf \"%v %s %d\" .Values.m .Values.l .Values.l }}|{{ print .Values.m.z .Values.n }}",
        ),
        w("call a non-function", "{{ call .Values.s }}"),
        w("field on a list", "{{ .Values.l.x }}"),
        w("method args on a map field", "{{ .Values.m.k 1 }}"),
    ];
    check_all(&cases);
}

/// Helm's own vectors for the trace of nested includes
/// (`TestNestedHelpersProducesMultilineStacktrace`,
/// `TestMultilineNoTemplateAssociatedError` in pkg/engine/engine_test.go),
/// with the templates named and ordered as Helm's engine does.
#[test]
fn helm_engine_trace_vectors() {
    let values = Value::dict(vec![(
        "Values".into(),
        Value::dict(Vec::new()).with_type_name("common.Values"),
    )])
    .with_type_name("common.Values");
    let mut set = Set::helm(FuncMap::helm());
    for (name, text) in [
        (
            "NestedHelperFunctions/charts/common/templates/_helpers_2.tpl",
            r#"{{- define "common.names.get_name" -}}{{- .Values.nonexistant.key | trunc 63 | trimSuffix "-" -}}{{- end -}}"#,
        ),
        (
            "NestedHelperFunctions/templates/svc.yaml",
            r#"name: {{ include "nested_helper.name" . }}"#,
        ),
        (
            "NestedHelperFunctions/templates/_helpers_1.tpl",
            r#"{{- define "nested_helper.name" -}}{{- include "common.names.get_name" . -}}{{- end -}}"#,
        ),
    ] {
        set.parse(name, text).expect("parse");
    }
    let e = set
        .execute("NestedHelperFunctions/templates/svc.yaml", &values)
        .expect_err("fails");
    assert_eq!(
        e.helm_message(),
        r#"NestedHelperFunctions/templates/svc.yaml:1:9
  executing "NestedHelperFunctions/templates/svc.yaml" at <include "nested_helper.name" .>:
    error calling include:
NestedHelperFunctions/templates/_helpers_1.tpl:1:39
  executing "nested_helper.name" at <include "common.names.get_name" .>:
    error calling include:
NestedHelperFunctions/charts/common/templates/_helpers_2.tpl:1:49
  executing "common.names.get_name" at <.Values.nonexistant.key>:
    nil pointer evaluating interface {}.key"#
    );
    let mut set = Set::helm(FuncMap::helm());
    set.parse(
        "multiline/templates/svc.yaml",
        r#"name: {{ include "nested_helper.name" . }}"#,
    )
    .expect("parse");
    let e = set
        .execute("multiline/templates/svc.yaml", &values)
        .expect_err("fails");
    assert_eq!(
        e.helm_message(),
        r#"multiline/templates/svc.yaml:1:9
  executing "multiline/templates/svc.yaml" at <include "nested_helper.name" .>:
    error calling include:
template: no template "nested_helper.name" associated with template "gotpl""#
    );
}

fn openssl(args: &[&str], dir: &Path) -> Option<String> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    Some(format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// Two RSA keys made by openssl (PKCS #8 and PKCS #1), as JSON values.
fn openssl_keys(dir: &Path) -> Option<String> {
    openssl(&["genrsa", "-out", "k8.pem", "2048"], dir)?;
    openssl(&["genrsa", "-traditional", "-out", "k1.pem", "2048"], dir)?;
    let k8 = std::fs::read_to_string(dir.join("k8.pem")).ok()?;
    let k1 = std::fs::read_to_string(dir.join("k1.pem")).ok()?;
    Some(serde_json::json!({"pk8": k8, "pk1": k1}).to_string())
}

/// sprig's certificate generators: the same shapes and errors as helm's
/// (the bytes are random in both).
#[test]
fn certificates_match_helm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(values) = openssl_keys(dir.path()) else {
        ferroflux_testkit::env::skip_or_fail("openssl (Debian package openssl) is not installed");
        return;
    };
    let w = |name: &str, t: &str| wrapped(name, &values, t);
    let cases = vec![
        w(
            "certificates",
            r#"{{- $ca := genCA "my-ca" 365 -}}
{{- $leaf := genSignedCert "leaf" (list "10.0.0.1" "::1") (list "a.example" "b.example") 30 $ca -}}
{{- $self := genSelfSignedCert "self" nil (list "x") 10 -}}
{{- $wk := genCAWithKey "ca2" 10 .Values.pk8 -}}
{{- $wk1 := genSelfSignedCertWithKey "s2" nil nil 10 .Values.pk1 -}}
{{- $wk2 := genSignedCertWithKey "l2" nil nil 10 $ca .Values.pk8 -}}
{{- $c := buildCustomCert ($ca.Cert | b64enc) ($ca.Key | b64enc) -}}
{{ typeOf $ca }}|{{ range (list $ca $leaf $self $wk $wk1 $wk2 $c) }}{{ hasPrefix "-----BEGIN CERTIFICATE-----\n" .Cert }},{{ hasSuffix "-----END CERTIFICATE-----\n" .Cert }},{{ hasPrefix "-----BEGIN RSA PRIVATE KEY-----\n" .Key }};{{ end }}|{{ eq $c.Cert $ca.Cert }}|{{ eq $wk2.Key .Values.pk8 }}|{{ eq $wk1.Key .Values.pk1 }}"#,
        ),
        w(
            "private keys",
            r#"{{ genPrivateKey "ecdsa" | hasPrefix "-----BEGIN EC PRIVATE KEY-----\n" }}|{{ genPrivateKey "ecdsa" | len }}|{{ genPrivateKey "ed25519" | hasPrefix "-----BEGIN PRIVATE KEY-----\n" }}|{{ genPrivateKey "ed25519" | len }}|{{ genPrivateKey "foo" }}"#,
        ),
        w(
            "bad ip",
            r#"{{ genSelfSignedCert "x" (list "nope") nil 1 }}"#,
        ),
        w(
            "ip not a string",
            r#"{{ genSelfSignedCert "x" (list 1) nil 1 }}"#,
        ),
        w(
            "dns not a string",
            r#"{{ genSelfSignedCert "x" nil (list 1) 1 }}"#,
        ),
        w("key not PEM", r#"{{ genCAWithKey "x" 1 "junk" }}"#),
        w(
            "key of another type",
            r#"{{ genSelfSignedCertWithKey "x" nil nil 1 "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n" }}"#,
        ),
        w("custom cert not base64", r#"{{ buildCustomCert "!!" "" }}"#),
        w("custom key not base64", r#"{{ buildCustomCert "" "!!" }}"#),
        w(
            "custom cert not PEM",
            r#"{{ buildCustomCert (b64enc "x") (b64enc "y") }}"#,
        ),
    ];
    check_all(&cases);
}

/// The certificates are valid X.509: openssl verifies the chain, reads the
/// names and checks the keys.
#[test]
fn certificates_verify_with_openssl() {
    let dir = tempfile::tempdir().expect("tempdir");
    if openssl(&["version"], dir.path()).is_none() {
        ferroflux_testkit::env::skip_or_fail("openssl (Debian package openssl) is not installed");
        return;
    }
    let mut funcs = FuncMap::helm();
    funcs.set_clock(|| Timestamp {
        unix_secs: 1_765_000_000,
        nanos: 0,
        offset_secs: 0,
        zone: "UTC".into(),
    });
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    funcs.set_rng(move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    });
    let mut set = Set::helm(funcs);
    set.parse(
        "t",
        r#"{{- $ca := genCA "my-ca" 365 -}}
{{- $leaf := genSignedCert "leaf" (list "10.0.0.1" "::1") (list "a.example") 30 $ca -}}
{{- $self := genSelfSignedCert "self" nil (list "x.example") 10 -}}
{{ $ca.Cert }}{{ $ca.Key }}{{ $leaf.Cert }}{{ $leaf.Key }}{{ $self.Cert }}{{ genPrivateKey "ecdsa" }}{{ genPrivateKey "ed25519" }}"#,
    )
    .expect("parse");
    let out = set.execute("t", &Value::Nil).expect("render");
    let blocks: Vec<String> = out
        .split_inclusive("-----\n")
        .collect::<String>()
        .split("-----BEGIN ")
        .filter(|b| !b.is_empty())
        .map(|b| format!("-----BEGIN {b}"))
        .collect();
    assert_eq!(blocks.len(), 7, "{out}");
    let names = [
        "ca.pem", "ca.key", "leaf.pem", "leaf.key", "self.pem", "ec.key", "ed.key",
    ];
    for (n, b) in names.iter().zip(&blocks) {
        std::fs::write(dir.path().join(n), b).expect("write");
    }
    let d = dir.path();
    // verified at the render's own clock, plus an hour
    let at = ["verify", "-attime", "1765003600"];
    let verify =
        openssl(&[&at[..], &["-CAfile", "ca.pem", "leaf.pem"]].concat(), d).expect("openssl");
    assert!(verify.contains("leaf.pem: OK"), "{verify}");
    let verify =
        openssl(&[&at[..], &["-CAfile", "self.pem", "self.pem"]].concat(), d).expect("openssl");
    assert!(verify.contains("self.pem: OK"), "{verify}");
    let text = openssl(&["x509", "-in", "leaf.pem", "-noout", "-text"], d).expect("openssl");
    for want in [
        "Issuer: CN = my-ca",
        "Subject: CN = leaf",
        "DNS:a.example",
        "IP Address:10.0.0.1",
        "IP Address:0:0:0:0:0:0:0:1",
        "TLS Web Server Authentication, TLS Web Client Authentication",
        "Not Before: Dec  6 05:46:40 2025 GMT",
        "Not After : Jan  5 05:46:40 2026 GMT",
        "Public-Key: (2048 bit)",
    ] {
        assert!(text.contains(want), "{want} missing from:\n{text}");
    }
    let ca = openssl(&["x509", "-in", "ca.pem", "-noout", "-text"], d).expect("openssl");
    assert!(ca.contains("CA:TRUE"), "{ca}");
    assert!(ca.contains("Certificate Sign"), "{ca}");
    for (args, want) in [
        (
            vec!["rsa", "-check", "-noout", "-in", "leaf.key"],
            "RSA key ok",
        ),
        (
            vec!["ec", "-check", "-noout", "-in", "ec.key"],
            "read EC key",
        ),
        (
            vec!["pkey", "-noout", "-text", "-in", "ed.key"],
            "ED25519 Private-Key",
        ),
    ] {
        let got = openssl(&args, d).expect("openssl");
        assert!(got.contains(want), "{args:?}: {got}");
    }
}
