//! Table-driven tests of the public API. The expected texts were produced by
//! the template oracle (Go text/template + sprig) on the same data, so the
//! error paths are checked without the oracle installed.

use std::collections::BTreeMap;

use super::*;

fn data() -> TemplateData {
    TemplateData {
        automation: AutomationRef {
            name: "apps".into(),
            namespace: "flux-system".into(),
        },
        values: Some(BTreeMap::from([("env".into(), "prod".into())])),
        policies: BTreeMap::from([(
            "flux-system/web".into(),
            LatestRef {
                name: "myorg/web".into(),
                tag: "1.0.1".into(),
                digest: String::new(),
            },
        )]),
        changes: vec![Change {
            file: "web/deploy.yaml".into(),
            object: ObjectRef {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                name: "web".into(),
                namespace: "prod".into(),
            },
            old_value: "myorg/web:1.0.0".into(),
            new_value: "myorg/web:1.0.1".into(),
            setter: "flux-system:web".into(),
        }],
    }
}

const V1BETA2: RenderOptions = RenderOptions {
    api_version: ApiVersion::V1beta2,
};

/// (template, Go's message or `parse: …`/`exec: …` error)
const CASES: &[(&str, Result<&str, &str>)] = &[
    (
        r#"{{ .Foo }}"#,
        Err(
            r#"exec: template: commit message:1:3: executing "commit message" at <.Foo>: can't evaluate field Foo in type source.TemplateData"#,
        ),
    ),
    (
        r#"{{ .Changed.Changes.Foo }}"#,
        Err(
            r#"exec: template: commit message:1:11: executing "commit message" at <.Changed.Changes.Foo>: can't evaluate field Foo in type []update.Change"#,
        ),
    ),
    (
        r#"{{ range .Changed.Changes }}{{ .NewValue }}"#,
        Err(r#"parse: template: commit message:1: unexpected EOF"#),
    ),
    (
        r#"{{ if }}"#,
        Err(r#"parse: template: commit message:1: missing value for if"#),
    ),
    (
        r#"{{ end }}"#,
        Err(r#"parse: template: commit message:1: unexpected {{end}}"#),
    ),
    (
        r#"{{ else }}"#,
        Err(r#"parse: template: commit message:1: unexpected {{else}}"#),
    ),
    (
        r#"{{ nope }}"#,
        Err(r#"parse: template: commit message:1: function "nope" not defined"#),
    ),
    (
        r#"{{ now }}"#,
        Err(r#"parse: template: commit message:1: function "now" not defined"#),
    ),
    (
        r#"{{ $x }}"#,
        Err(r#"parse: template: commit message:1: undefined variable "$x""#),
    ),
    (
        r#"{{ .AutomationObject.String 1 }}"#,
        Err(
            r#"exec: template: commit message:1:20: executing "commit message" at <.AutomationObject.String>: wrong number of args for String: want 0 got 1"#,
        ),
    ),
    (
        r#"{{ .AutomationObject.Name 1 }}"#,
        Err(
            r#"exec: template: commit message:1:20: executing "commit message" at <.AutomationObject.Name>: Name has arguments but cannot be invoked as function"#,
        ),
    ),
    (
        r#"{{ index .Changed.Changes 42 }}"#,
        Err(
            r#"exec: template: commit message:1:3: executing "commit message" at <index .Changed.Changes 42>: error calling index: index out of range: 42"#,
        ),
    ),
    (
        r#"{{ index .Changed.Changes -1 }}"#,
        Err(
            r#"exec: template: commit message:1:3: executing "commit message" at <index .Changed.Changes -1>: error calling index: index out of range: -1"#,
        ),
    ),
    (
        r#"{{ index .Values 1 }}"#,
        Err(
            r#"exec: template: commit message:1:3: executing "commit message" at <index .Values 1>: error calling index: value has type int; should be string"#,
        ),
    ),
    (
        r#"{{ index 3 1 }}"#,
        Err(
            r#"exec: template: commit message:1:3: executing "commit message" at <index 3 1>: error calling index: can't index item of type int"#,
        ),
    ),
    (
        r#"{{ len 3 }}"#,
        Err(
            r#"exec: template: commit message:1:3: executing "commit message" at <len 3>: error calling len: len of type int"#,
        ),
    ),
    (
        r#"{{ printf }}"#,
        Err(
            r#"exec: template: commit message:1:3: executing "commit message" at <printf>: wrong number of args for printf: want at least 1 got 0"#,
        ),
    ),
    (r#"{{ printf "%d" "str" }}"#, Ok(r#"%!d(string=str)"#)),
    (r#"{{ printf "%s %s" "one" }}"#, Ok(r#"one %!s(MISSING)"#)),
    (
        r#"{{ upper 3 }}"#,
        Err(
            r#"exec: template: commit message:1:9: executing "commit message" at <3>: expected string; found 3"#,
        ),
    ),
    (
        r#"{{ 3 | upper }}"#,
        Err(
            r#"exec: template: commit message:1:7: executing "commit message" at <upper>: wrong type for value; expected string; got int"#,
        ),
    ),
    (
        r#"{{ upper .Values.nokey }}"#,
        Err(
            r#"exec: template: commit message:1:16: executing "commit message" at <.Values.nokey>: invalid value; expected string"#,
        ),
    ),
    (
        r#"{{ upper "a" "b" }}"#,
        Err(
            r#"exec: template: commit message:1:3: executing "commit message" at <upper>: wrong number of args for upper: want 1 got 2"#,
        ),
    ),
    (
        r#"{{ eq 1 "a" }}"#,
        Err(
            r#"exec: template: commit message:1:3: executing "commit message" at <eq 1 "a">: error calling eq: incompatible types for comparison: int and string"#,
        ),
    ),
    (
        r#"{{ eq }}"#,
        Err(
            r#"exec: template: commit message:1:3: executing "commit message" at <eq>: wrong number of args for eq: want at least 1 got 0"#,
        ),
    ),
    (
        r#"{{ and }}"#,
        Err(
            r#"exec: template: commit message:1:3: executing "commit message" at <and>: wrong number of args for and: want at least 1 got 0"#,
        ),
    ),
    (
        r#"{{ break }}"#,
        Err(r#"parse: template: commit message:1: {{break}} outside {{range}}"#),
    ),
    (
        r#"{{ template "nope" }}"#,
        Err(
            r#"exec: template: commit message:1:12: executing "commit message" at <{{template "nope"}}>: template "nope" not defined"#,
        ),
    ),
    (
        r#"{{ define "commit message" }}D{{ end }}X"#,
        Err(
            r#"parse: template: commit message:1: template: multiple definition of template "commit message""#,
        ),
    ),
    (
        r#"{{ "x".Foo }}"#,
        Err(r#"parse: template: commit message:1: unexpected . after term "\"x\"""#),
    ),
    (
        r#"{{ nil }}"#,
        Err(
            r#"exec: template: commit message:1:3: executing "commit message" at <nil>: nil is not a command"#,
        ),
    ),
    (
        r#"{{ 1 2 }}"#,
        Err(
            r#"exec: template: commit message:1:3: executing "commit message" at <1>: can't give argument to non-function 1"#,
        ),
    ),
    (
        r#"{{ "unterminated }}"#,
        Err(r#"parse: template: commit message:1: unterminated quoted string"#),
    ),
    (
        r#"{{ 'ab' }}"#,
        Err(r#"parse: template: commit message:1: malformed character constant: 'ab'"#),
    ),
    (
        r#"{{ 3abc }}"#,
        Err(r#"parse: template: commit message:1: bad number syntax: "3a""#),
    ),
    (
        r#"{{ fail "boom" }}"#,
        Err(
            r#"exec: template: commit message:1:3: executing "commit message" at <fail "boom">: error calling fail: boom"#,
        ),
    ),
    (
        r#"{{ div 1 0 }}"#,
        Err(
            r#"exec: template: commit message:1:3: executing "commit message" at <div 1 0>: error calling div: runtime error: integer divide by zero"#,
        ),
    ),
    (
        r#"{{ semver "x" }}"#,
        Err(
            r#"exec: template: commit message:1:3: executing "commit message" at <semver "x">: error calling semver: Invalid Semantic Version"#,
        ),
    ),
    (
        r#"{{ range $a, $b, $c := .Changed.Changes }}{{ end }}"#,
        Err(r#"parse: template: commit message:1: too many declarations in range"#),
    ),
    (
        r#"{{ if .Values.env }}a{{ else }}b{{ else }}c{{ end }}"#,
        Err(r#"parse: template: commit message:1: expected end; found {{else}}"#),
    ),
    (r#"{{ .Updated.Images }}"#, Ok(r#"[myorg/web:1.0.1]"#)),
    (
        r#"{{ .Changed.ImageResult.Files }}"#,
        Err(
            r#"exec: template: commit message:1:11: executing "commit message" at <.Changed.ImageResult.Files>: can't evaluate field ImageResult in type update.Result"#,
        ),
    ),
    (
        r#"{{ range $k, $v := .Changed.Objects }}{{ $k }} {{ $k.Kind }}={{ len $v }}{{ end }}"#,
        Ok(r#"{{{apps/v1 Deployment} {web prod}}} Deployment=1"#),
    ),
    (
        r#"{{ range .Updated.Images }}{{ . }}|{{ .Identifier }}|{{ .Repository }}|{{ .Registry }}|{{ .Name }}|{{ .Policy }}{{ end }}"#,
        Ok(
            r#"myorg/web:1.0.1|1.0.1|myorg/web|index.docker.io|index.docker.io/myorg/web:1.0.1|flux-system/web"#,
        ),
    ),
    (
        r#"{{ .Values.nokey }}|{{ index .Values "nokey" }}|{{ print .Values.nokey }}"#,
        Ok(r#"<no value>||<nil>"#),
    ),
    (
        r#"{{ printf "%q|%5.2f|%-4s|%03d|%x|%v|%+v" "a\"b" 3.14159 "ab" 7 "hi" .AutomationObject (index .Changed.Changes 0) }}"#,
        Ok(
            r#""a\"b"| 3.14|ab  |007|6869|flux-system/apps|{OldValue:myorg/web:1.0.0 NewValue:myorg/web:1.0.1 Setter:flux-system:web}"#,
        ),
    ),
    (
        r#"{{- " trim " -}}  x  {{- /* c */ -}}  y"#,
        Ok(r#" trim xy"#),
    ),
    (
        r#"{{ toJson .Changed.Changes }}|{{ toJson .Values }}|{{ toJson .Changed.Objects }}"#,
        Ok(
            r#"[{"OldValue":"myorg/web:1.0.0","NewValue":"myorg/web:1.0.1","Setter":"flux-system:web"}]|{"env":"prod"}|"#,
        ),
    ),
];

#[test]
fn renders_and_fails_as_go_does() {
    let d = data();
    for (template, want) in CASES {
        let got = render(template, &d, V1BETA2).map_err(|e| match e {
            TemplateError::Parse(p) => format!("parse: {p}"),
            TemplateError::Exec(x) | TemplateError::RemovedField { source: x, .. } => {
                format!("exec: {x}")
            }
            TemplateError::InvalidImageRef(r) => format!("ref: {r}"),
        });
        let got = got.as_deref().map_err(String::as_str);
        assert_eq!(got, *want, "template {template:?}");
    }
}

#[test]
fn empty_template_is_flux_default_message() {
    for api_version in [ApiVersion::V1, ApiVersion::V1beta2, ApiVersion::V1beta1] {
        let msg = render("", &data(), RenderOptions { api_version }).unwrap();
        assert_eq!(msg, "Update from image update automation");
    }
}

#[test]
fn removed_fields_stall_v1_only() {
    let cases = [
        (
            "{{ .Updated.Images }}",
            "template uses removed '.Updated' field. Please use '.Changed' instead. See: https://fluxcd.io/flux/components/image/imageupdateautomations/#message-template",
        ),
        (
            "{{ range .Changed.ImageResult.Files }}{{ end }}",
            "template uses removed '.Changed.ImageResult' field. Please use '.Changed.FileChanges' or '.Changed.Objects' instead. See: https://fluxcd.io/flux/components/image/imageupdateautomations/#message-template",
        ),
    ];
    for (template, want) in cases {
        let err = render(template, &data(), RenderOptions::default()).unwrap_err();
        assert_eq!(err.to_string(), want);
        assert_eq!(err.reason(), REASON_REMOVED_TEMPLATE_FIELD);
        assert!(err.is_stalled());
    }
    assert_eq!(
        render("{{ .Updated.Images }}", &data(), V1BETA2).unwrap(),
        "[myorg/web:1.0.1]"
    );
}

#[test]
fn errors_carry_flux_prefixes_and_reasons() {
    let parse = render("{{ nope }}", &data(), V1BETA2).unwrap_err();
    assert_eq!(
        parse.to_string(),
        "unable to create commit message template from spec: template: commit message:1: function \"nope\" not defined"
    );
    assert_eq!(parse.reason(), REASON_GIT_OPERATION_FAILED);
    assert!(!parse.is_stalled());
    let exec = render("{{ index .Changed.Changes 9 }}", &data(), V1BETA2).unwrap_err();
    assert!(
        exec.to_string()
            .starts_with("failed to run template from spec: template: commit message:1:3:")
    );
    assert_eq!(
        check("{{ if }}").unwrap_err().to_string(),
        "unable to create commit message template from spec: template: commit message:1: missing value for if"
    );
    assert!(check("{{ .Anything.Goes }}").is_ok());

    let mut bad = data();
    bad.policies.get_mut("flux-system/web").unwrap().name = "MyOrg/Web".into();
    let err = render("x", &bad, V1BETA2).unwrap_err();
    assert_eq!(
        err.to_string(),
        "encountered invalid image ref \"MyOrg/Web:1.0.1\": could not parse reference: MyOrg/Web:1.0.1"
    );
    assert_eq!(err.reason(), REASON_UPDATE_FAILED);
}

#[test]
fn mangled_placeholders_are_detected() {
    let cases = [
        (
            "Automated image update\nAutomation name: <!--swig0-->\n",
            Some("1 placeholder(s) <!--swig0-->:"),
        ),
        (
            "<!--swig0--><!--swig1--><!--swig2--><!--swig3-->",
            Some("4 placeholder(s) <!--swig0-->, <!--swig1-->, <!--swig2--> and 1 more"),
        ),
        ("{{ .AutomationObject }} <!--swig0-->", None),
        ("plain message", None),
        ("", None),
    ];
    for (template, want) in cases {
        let got = mangled_placeholders(template);
        match want {
            Some(part) => assert!(
                got.as_deref().is_some_and(|w| w.contains(part)),
                "{template:?}: {got:?}"
            ),
            None => assert_eq!(got, None, "{template:?}"),
        }
    }
}

/// Go ≥ 1.22/1.23 features that Flux's build has and the oracle's Go 1.19 lacks.
#[test]
fn newer_go_constructs() {
    let cases = [
        ("{{ range 3 }}{{ . }}{{ end }}", "012"),
        ("{{ range $i := 2 }}{{ $i }}{{ end }}", "01"),
        (
            "{{ with .Values.nokey }}a{{ else with .Values.env }}{{ . }}{{ end }}",
            "prod",
        ),
        (
            "{{ with .Values.nokey }}a{{ else with .Values.none }}b{{ else }}c{{ end }}",
            "c",
        ),
    ];
    for (template, want) in cases {
        assert_eq!(
            render(template, &data(), V1BETA2).unwrap(),
            want,
            "{template}"
        );
    }
}

/// Deep nesting is an error, never a stack overflow of the controller.
#[test]
fn nesting_is_bounded() {
    let n = parse::MAX_NESTING;
    let ok = |t: &str| render(t, &data(), V1BETA2).map_err(|e| e.to_string());
    let parens = |k: usize| format!("{{{{ {}1{} }}}}", "(".repeat(k), ")".repeat(k));
    let ifs = |k: usize| format!("{}x{}", "{{ if true }}".repeat(k), "{{ end }}".repeat(k));
    assert_eq!(ok(&parens(n)).as_deref(), Ok("1"));
    assert_eq!(ok(&ifs(n)).as_deref(), Ok("x"));
    for deep in [parens(n + 1), parens(100_000)] {
        assert!(
            ok(&deep)
                .unwrap_err()
                .ends_with("max expression depth exceeded")
        );
    }
    for deep in [ifs(n + 1), ifs(100_000)] {
        assert!(
            ok(&deep)
                .unwrap_err()
                .ends_with("max nesting depth exceeded (100)")
        );
    }
    let recursive = r#"{{ define "x" }}{{ template "x" . }}{{ end }}{{ template "x" . }}"#;
    assert!(
        ok(recursive)
            .unwrap_err()
            .ends_with("exceeded maximum template depth (100)")
    );
}

/// Issue 13 item 10: a `messageTemplate` cannot exhaust the process. Go
/// has no such limits; ferroflux's are clear errors: strings a function
/// builds, lists `until`/`untilStep`/`seq` build, the whole output and
/// the iterations of every `range` together.
#[test]
fn resources_are_bounded() {
    let run = |t: &str| render(t, &data(), V1BETA2).map_err(|e| e.to_string());
    let cases = [
        (
            r#"{{ repeat 2000000 "x" }}"#,
            "repeat: the result would be 2000000 bytes",
        ),
        (
            r#"{{ indent 2000000 "a" }}"#,
            "indent: the result would be 2000001 bytes",
        ),
        (
            r#"{{ nindent 600000 "a\nb" }}"#,
            "nindent: the result would be 1200004 bytes",
        ),
        (
            r#"{{ replace "" (repeat 1000 "y") (repeat 2000 "x") }}"#,
            "replace: the result would be 2003000 bytes",
        ),
        ("{{ until 2000000 }}", "until: 2000000 elements"),
        ("{{ until -2000000 }}", "until: 2000000 elements"),
        (
            "{{ untilStep 0 9223372036854775807 1 }}",
            "untilStep: 9223372036854775807 elements",
        ),
        ("{{ seq 1 10000000 }}", "seq: 10000000 elements"),
        (
            "{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}",
            "more than 1000000 range iterations",
        ),
        (
            "{{ range 9223372036854775807 }}{{ end }}",
            "more than 1000000 range iterations",
        ),
        (
            r#"{{ range until 100 }}{{ repeat 100000 "x" }}{{ end }}"#,
            "output over 1048576 bytes",
        ),
    ];
    for (template, want) in cases {
        let err = match run(template) {
            Ok(out) => panic!("{template}: rendered {} bytes", out.len()),
            Err(e) => e,
        };
        assert!(err.contains(want), "{template}: {err}");
        assert!(err.contains("ferroflux's limit"), "{template}: {err}");
    }
    // Near i64::MAX, `seq` stops instead of overflowing.
    assert_eq!(
        run("{{ seq 9223372036854775806 9223372036854775807 }}").as_deref(),
        Ok("9223372036854775806 9223372036854775807")
    );
    assert_eq!(
        run("{{ untilStep 9223372036854775806 9223372036854775807 5 }}").as_deref(),
        Ok("[9223372036854775806]")
    );
}
