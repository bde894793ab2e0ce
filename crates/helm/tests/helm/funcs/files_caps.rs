//! `.Files` and `.Capabilities` of ours against what helm's templates see.

use ferroflux_helm::chart::File;
use ferroflux_helm::funcs::{Capabilities, Files, parse_kube_version};

use super::oracle;

fn chart_files() -> Vec<(&'static str, Vec<u8>)> {
    let long = "word ".repeat(30);
    vec![
        ("a.txt", b"one\ntwo\n".to_vec()),
        ("README.md", b"# readme\r\nline two\r\n".to_vec()),
        ("files/b.yaml", b"key: value\nlist:\n- 1\n".to_vec()),
        ("files/sub/c.conf", b"no trailing newline".to_vec()),
        ("files/sub/deep/d.txt", b"\n\nblank lines\n\n".to_vec()),
        ("config/x.json", b"{\"a\": 1}".to_vec()),
        ("dot.file", b"  leading spaces\ttab\n".to_vec()),
        ("files/e f.txt", format!("{long}\n{long}").into_bytes()),
        (
            "files/\u{fc}n\u{ef}.txt",
            "ünïcödé 中文\n".as_bytes().to_vec(),
        ),
        ("files/[x].txt", b"brackets".to_vec()),
        ("files/{y}.txt", b"braces: yes\n".to_vec()),
        (
            "crds/crd.yaml",
            b"kind: CustomResourceDefinition\n".to_vec(),
        ),
        ("bin/blob.bin", vec![0, 1, 2, 255, 254, b'\n']),
    ]
}

/// Not here: an empty group beside a `*` (`*{`, `*{}`), which gobwas
/// compiles to a tree that never matches at the end of a name, so helm
/// matches nothing where ours matches like `*`.
const PATTERNS: &[&str] = &[
    "*",
    "**",
    "*.txt",
    "files/*",
    "files/**",
    "files/*/*",
    "**.txt",
    "files/**/*.txt",
    "?.txt",
    "files/?.yaml",
    "[a-c].txt",
    "[!a].txt",
    "files/[b-c]*",
    "{a,README}*",
    "files/{b.yaml,sub/c.conf}",
    "{files,config}/**",
    "files/sub/{c,deep/d}.*",
    "[",
    "[a-",
    "\\*",
    "files/\\[x].txt",
    "files/[[]x].txt",
    "a}b",
    "*,*",
    "",
    "files",
    "files/",
    "**/",
    "f*/**/d.txt",
    "{,files/}b.yaml",
    "{}",
    "[]]",
    "[]",
    "{a,{b,c}}*",
    "files/e f.txt",
    "**\u{fc}*",
    "[!]",
    "[a-]]",
    "[z-a]",
    "files/[!b]*",
    "[!/]*",
    "files[/]b.yaml",
    "*/*/*/*",
    "**/*.{txt,md}",
    "a.tx?",
    "{*.txt,crds/*}",
    "[.]*",
];

const TEMPLATE: &str = r#"{{- range $i, $pat := .Values.patterns }}
{{- $names := list }}{{ range $p, $_ := $.Files.Glob $pat }}{{ $names = append $names $p }}{{ end }}
g{{ $i }}: {{ join "\n" $names | b64enc }}
c{{ $i }}: {{ ($.Files.Glob $pat).AsConfig | b64enc }}
s{{ $i }}: {{ ($.Files.Glob $pat).AsSecrets | b64enc }}
{{- end }}
{{- range $i, $name := .Values.names }}
l{{ $i }}: {{ $.Files.Lines $name | toJson | b64enc }}
f{{ $i }}: {{ $.Files.Get $name | b64enc }}
{{- end }}
end: here
"#;

#[test]
fn files_glob_lines_as_config_and_as_secrets_match_helm() {
    let Some(helm) = oracle::helm() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let chart = dir.path().join("t");
    let files = chart_files();
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(p, d)| (*p, d.as_slice())).collect();
    oracle::chart(&chart, &[("t.yaml", TEMPLATE)], &refs);
    let mut names: Vec<&str> = files.iter().map(|(p, _)| *p).collect();
    names.push("missing.txt");
    let mut values = String::from("patterns:\n");
    for p in PATTERNS {
        values.push_str(&format!("- {}\n", oracle::yaml_quote(p)));
    }
    values.push_str("names:\n");
    for n in &names {
        values.push_str(&format!("- {}\n", oracle::yaml_quote(n)));
    }
    let values_path = dir.path().join("values.yaml");
    std::fs::write(&values_path, values).expect("values");
    let rendered = oracle::template(&helm, &chart, &["-f", values_path.to_str().expect("path")])
        .unwrap_or_else(|e| panic!("helm template: {e}"));
    let theirs = oracle::b64_lines(&rendered);

    let ours = Files::new(
        &files
            .iter()
            .map(|(p, d)| File {
                name: p.to_string(),
                data: d.clone(),
            })
            .collect::<Vec<_>>(),
    );
    let mut failures = Vec::new();
    let mut check = |key: String, got: String| {
        let expected = theirs
            .get(&key)
            .unwrap_or_else(|| panic!("helm printed no {key}"));
        if &got != expected {
            failures.push(format!("{key}: helm {expected:?}, ours {got:?}"));
        }
    };
    for (i, pat) in PATTERNS.iter().enumerate() {
        let globbed = ours.glob(pat);
        let listed: Vec<&str> = globbed.0.keys().map(String::as_str).collect();
        check(format!("g{i}"), listed.join("\n"));
        check(format!("c{i}"), globbed.as_config());
        check(format!("s{i}"), globbed.as_secrets());
    }
    for (i, name) in names.iter().enumerate() {
        // A non-UTF-8 file: Go keeps the bytes in its strings (and `toJson`
        // escapes them as `\ufffd`), ours are replaced by U+FFFD; compare
        // only text files.
        if std::str::from_utf8(ours.get_bytes(name)).is_err() {
            continue;
        }
        let lines = ours.lines(name).expect("lines");
        check(
            format!("l{i}"),
            serde_json::to_string(&lines).expect("json"),
        );
        check(format!("f{i}"), ours.get(name));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn lines_of_an_empty_file_is_a_template_error_as_in_helm() {
    let files = Files::new(&[File {
        name: "empty".to_string(),
        data: Vec::new(),
    }]);
    assert_eq!(
        files.lines("empty").unwrap_err(),
        "runtime error: index out of range [-1]"
    );
    assert_eq!(files.lines("absent").unwrap(), Vec::<String>::new());
    let Some(helm) = oracle::helm() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let chart = dir.path().join("t");
    oracle::chart(
        &chart,
        &[("t.yaml", "{{ .Files.Lines \"empty\" }}\n")],
        &[("empty", b"")],
    );
    let err = oracle::template(&helm, &chart, &[]).unwrap_err();
    assert!(err.contains("index out of range [-1]"), "{err}");
}

#[test]
fn glob_of_nothing_is_an_empty_map_and_as_config_prints_braces() {
    let files = Files::new(&[File {
        name: "a".to_string(),
        data: b"x".to_vec(),
    }]);
    assert_eq!(files.glob("nothing*").as_config(), "{}");
    assert_eq!(
        files.glob("[").0.len(),
        1,
        "an invalid pattern matches everything"
    );
}

const CAPS: &str = r#"# kv: {{ .Capabilities.KubeVersion }}|{{ .Capabilities.KubeVersion.Version }}|{{ .Capabilities.KubeVersion.Major }}|{{ .Capabilities.KubeVersion.Minor }}|{{ .Capabilities.KubeVersion.GitVersion }}
{{- range .Capabilities.APIVersions }}
# api: {{ . }}
{{- end }}
"#;

#[test]
fn kube_versions_and_api_versions_match_helm_template_flags() {
    let Some(helm) = oracle::helm() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let chart = dir.path().join("t");
    oracle::chart(&chart, &[("t.yaml", CAPS)], &[]);
    let versions = [
        None,
        Some("1.28"),
        Some("v1.28+"),
        Some("1.33.4-gke.1245000"),
        Some("v1.2.3.4"),
        Some(" v1.30.1 x"),
        Some("1.30.01"),
        Some("2.0"),
        Some("01.2"),
        Some("1"),
        Some("v"),
        Some("x1.2"),
        Some("1.99999999999999999999"),
        Some("1.2.3-rc.1+meta"),
    ];
    for v in versions {
        let mut args = vec![];
        if let Some(v) = v {
            args.push("--kube-version");
            args.push(v);
        }
        args.extend(["--api-versions", "a/v1,b/v2", "--api-versions", "c/v3"]);
        let extra = ["a/v1", "b/v2", "c/v3"].map(String::from);
        let theirs = oracle::template(&helm, &chart, &args);
        let ours = Capabilities::for_template(v, &extra);
        match (theirs, ours) {
            (Ok(out), Ok(caps)) => {
                let kv = &caps.kube_version;
                let line = format!(
                    "# kv: {}|{}|{}|{}|{}",
                    kv.normalized, kv.version, kv.major, kv.minor, kv.version
                );
                assert!(
                    out.contains(&format!("{line}\n")),
                    "{v:?}: {out}\nours: {line}"
                );
                let apis: Vec<&str> = out
                    .lines()
                    .filter_map(|l| l.strip_prefix("# api: "))
                    .collect();
                assert_eq!(apis, caps.api_versions, "{v:?}");
            }
            (Err(e), Err(ours)) => {
                assert_eq!(e.trim_end(), format!("Error: {ours}"), "{v:?}");
            }
            (theirs, ours) => panic!("{v:?}: helm {theirs:?}, ours {ours:?}"),
        }
    }
    assert_eq!(
        parse_kube_version("v1.36.0").expect("valid"),
        Default::default()
    );
}

/// Generated patterns (every piece of gobwas' syntax, well- and
/// ill-formed) over the same files, helm's matches against ours.
#[test]
fn generated_glob_patterns_match_what_helm_matches() {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    let Some(helm) = oracle::helm() else { return };
    let piece = prop::sample::select(vec![
        "*",
        "**",
        "?",
        "[a-c]",
        "[!a]",
        "[ab]",
        "[!.]",
        "{a,b}",
        "{files,config}",
        "{*.txt,*.md}",
        "{",
        "}",
        ",",
        "\\",
        "\\*",
        "[",
        "]",
        "-",
        "/",
        ".",
        "a",
        "b",
        "files",
        "sub",
        "txt",
        "md",
        "conf",
        "d",
        "e f",
        "x",
        "{a,{b,c}}",
        "[z-a]",
        "[a-]",
        "!",
    ]);
    let pattern = prop::collection::vec(piece, 1..6).prop_map(|v| v.concat());
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut patterns: Vec<String> = (0..400)
        .map(|_| pattern.new_tree(&mut runner).expect("sample").current())
        .collect();
    patterns.sort();
    patterns.dedup();
    let dir = tempfile::tempdir().expect("tempdir");
    let chart = dir.path().join("t");
    let files = chart_files();
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(p, d)| (*p, d.as_slice())).collect();
    let template = r#"{{- range $i, $pat := .Values.patterns }}
{{- $names := list }}{{ range $p, $_ := $.Files.Glob $pat }}{{ $names = append $names $p }}{{ end }}
g{{ $i }}: {{ join "\n" $names | b64enc }}
{{- end }}
end: here
"#;
    oracle::chart(&chart, &[("t.yaml", template)], &refs);
    let mut values = String::from("patterns:\n");
    for p in &patterns {
        values.push_str(&format!("- {}\n", oracle::yaml_quote(p)));
    }
    std::fs::write(chart.join("values.yaml"), values).expect("values");
    let out = oracle::template(&helm, &chart, &[]).unwrap_or_else(|e| panic!("helm: {e}"));
    let theirs = oracle::b64_lines(&out);
    let ours = Files::new(
        &files
            .iter()
            .map(|(p, d)| File {
                name: p.to_string(),
                data: d.clone(),
            })
            .collect::<Vec<_>>(),
    );
    let mut failures = Vec::new();
    for (i, p) in patterns.iter().enumerate() {
        let globbed = ours.glob(p);
        let got: Vec<&str> = globbed.0.keys().map(String::as_str).collect();
        let got = got.join("\n");
        let expected = &theirs[&format!("g{i}")];
        if &got != expected {
            failures.push(format!("{p:?}: helm {expected:?}, ours {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {}:\n{}",
        failures.len(),
        patterns.len(),
        failures.join("\n")
    );
}
