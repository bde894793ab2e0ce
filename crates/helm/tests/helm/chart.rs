//! Chart loading (helm-semantics.md §2): Helm's own test charts (read in
//! place from the module cache) loaded by ours and by `helm show chart`,
//! each loading or failing alike with the same metadata; `.Chart` as the
//! renderer sees it; the `.helmignore` matcher rule by rule; archives with
//! hostile paths and sizes; file classification.

use std::path::{Path, PathBuf};

use ferroflux_helm::chart::{
    self, Chart, File, IgnoreRules, go_match, load_archive, load_dir, load_files,
};
use ferroflux_kustomize::fs::{DiskFs, MemFs};
use ferroflux_testkit::helm::Helm;
use serde_json::{Map, Value, json};

use crate::common::numbers_as_f64;

fn file(name: &str, data: &str) -> File {
    File {
        name: name.to_string(),
        data: data.as_bytes().to_vec(),
    }
}

const CHART_YAML: &str = "apiVersion: v2\nname: c\nversion: 0.1.0\n";

/// Helm's metadata JSON (`json` tags, `omitempty`), what `helm show chart`
/// prints.
pub fn metadata_json(c: &Chart) -> Value {
    let md = &c.metadata;
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        let empty = match &v {
            Value::String(s) => s.is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Bool(b) => !b,
            Value::Null => true,
            Value::Object(o) => o.is_empty(),
            Value::Number(_) => false,
        };
        if !empty {
            m.insert(k.to_string(), v);
        }
    };
    put("name", json!(md.name));
    put("home", json!(md.home));
    put("sources", json!(md.sources));
    put("version", json!(md.version));
    put("description", json!(md.description));
    put("keywords", json!(md.keywords));
    put(
        "maintainers",
        Value::Array(
            md.maintainers
                .iter()
                .map(|mt| {
                    let mut o = Map::new();
                    for (k, v) in [("name", &mt.name), ("email", &mt.email), ("url", &mt.url)] {
                        if !v.is_empty() {
                            o.insert(k.into(), json!(v));
                        }
                    }
                    Value::Object(o)
                })
                .collect(),
        ),
    );
    put("icon", json!(md.icon));
    put("apiVersion", json!(md.api_version));
    put("condition", json!(md.condition));
    put("tags", json!(md.tags));
    put("appVersion", json!(md.app_version));
    put("deprecated", json!(md.deprecated));
    put("annotations", json!(md.annotations));
    put("kubeVersion", json!(md.kube_version));
    put(
        "dependencies",
        Value::Array(
            md.dependencies
                .iter()
                .map(|d| {
                    let mut o = Map::new();
                    o.insert("name".into(), json!(d.name));
                    o.insert("repository".into(), json!(d.repository));
                    for (k, v) in [
                        ("version", &d.version),
                        ("condition", &d.condition),
                        ("alias", &d.alias),
                    ] {
                        if !v.is_empty() {
                            o.insert(k.into(), json!(v));
                        }
                    }
                    if !d.tags.is_empty() {
                        o.insert("tags".into(), json!(d.tags));
                    }
                    if d.enabled {
                        o.insert("enabled".into(), json!(true));
                    }
                    if !d.import_values.is_empty() {
                        o.insert("import-values".into(), json!(d.import_values));
                    }
                    Value::Object(o)
                })
                .collect(),
        ),
    );
    put("type", json!(md.kind));
    Value::Object(m)
}

/// Every chart directory and archive at the top of Helm's testdata
/// folders.
fn helm_test_charts(module: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in [
        "pkg/chart/v2/loader/testdata",
        "pkg/chart/v2/util/testdata",
        "pkg/cmd/testdata/testcharts",
    ] {
        let Ok(entries) = std::fs::read_dir(module.join(dir)) else {
            panic!("{dir} missing in {}", module.display())
        };
        let mut paths: Vec<PathBuf> = entries.map(|e| e.expect("dir entry").path()).collect();
        paths.sort();
        for p in paths {
            let name = p.file_name().expect("name").to_string_lossy().to_string();
            if p.join("Chart.yaml").is_file() || name.ends_with(".tgz") || name.ends_with(".tar.gz")
            {
                out.push(p);
            }
        }
    }
    out
}

fn load_path(p: &Path) -> Result<Chart, chart::ChartError> {
    if p.is_dir() {
        let fs = DiskFs::new(p).expect("chart dir");
        load_dir(&fs, p)
    } else {
        load_archive(&std::fs::read(p).expect("archive"))
    }
}

#[test]
fn helm_test_charts_load_as_helm_show_chart_loads_them() {
    let Some(helm) = Helm::find() else { return };
    let Some(module) = Helm::module_dir() else {
        return;
    };
    let charts = helm_test_charts(&module);
    assert!(charts.len() > 50, "{}", charts.len());
    let (mut loaded, mut failed) = (0, 0);
    for p in &charts {
        let out = helm
            .command()
            .args(["show", "chart"])
            .arg(p)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).trim_end().to_string();
        let ours = load_path(p);
        match ours {
            Ok(c) => {
                assert!(
                    out.status.success(),
                    "{}: helm failed: {stderr}",
                    p.display()
                );
                let text = String::from_utf8_lossy(&out.stdout);
                let theirs = ferroflux_helm::values::unmarshal(&text).unwrap();
                assert_eq!(
                    numbers_as_f64(&metadata_json(&c)),
                    numbers_as_f64(&theirs),
                    "{}",
                    p.display()
                );
                assert_eq!(c.metadata.go_map["Name"], json!(c.metadata.name));
                loaded += 1;
            }
            Err(e) => {
                assert!(!out.status.success(), "{}: we failed: {e}", p.display());
                // YAML syntax errors are worded by our parser, not yaml.v2:
                // the text up to `yaml: line` is compared.
                let ours = format!("Error: {}", e.message);
                match ours.find("yaml: line ") {
                    Some(i) => {
                        assert_eq!(stderr[..i.min(stderr.len())], ours[..i], "{}", p.display())
                    }
                    None => assert_eq!(stderr, ours, "{}", p.display()),
                }
                failed += 1;
            }
        }
    }
    assert!(
        loaded > 40 && failed >= 3,
        "loaded {loaded}, failed {failed}"
    );
}

#[test]
fn frobnitz_is_classified_as_helm_classifies_it() {
    let Some(module) = Helm::module_dir() else {
        return;
    };
    for p in [
        "pkg/chart/v2/loader/testdata/frobnitz",
        "pkg/chart/v2/loader/testdata/frobnitz-1.2.3.tgz",
        "pkg/chart/v2/loader/testdata/frobnitz_backslash-1.2.3.tgz",
        "pkg/chart/v2/loader/testdata/frobnitz_with_bom.tgz",
        "pkg/chart/v2/loader/testdata/frobnitz_with_bom",
    ] {
        let c = load_path(&module.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
        assert!(c.name().starts_with("frobnitz"), "{p}");
        assert_eq!(c.metadata.api_version, "v1", "{p}");
        // Helm's loader tests: templates, files, subcharts.
        let templates: Vec<&str> = c.templates.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(templates, ["templates/template.tpl"], "{p}");
        let deps: Vec<&str> = c.dependencies.iter().map(Chart::name).collect();
        assert_eq!(deps, ["alpine", "mariner"], "{p}");
        let alpine = &c.dependencies[0];
        let sub: Vec<&str> = alpine.dependencies.iter().map(Chart::name).collect();
        assert_eq!(sub, ["mast1", "mast2"], "{p}");
        assert_eq!(
            c.values["section"]["name"],
            json!("Name in a section"),
            "{p}"
        );
        let names: Vec<&str> = c.files.iter().map(|f| f.name.as_str()).collect();
        for want in [
            "INSTALL.txt",
            "LICENSE",
            "README.md",
            "docs/README.md",
            "icon.svg",
        ] {
            assert!(names.contains(&want), "{p}: {want} not in {names:?}");
        }
        assert!(
            !names.iter().any(|n| n.starts_with("ignore/")),
            "{p}: .helmignore'd files loaded: {names:?}"
        );
        for f in c.files.iter().chain(&c.templates) {
            assert!(
                !f.data.starts_with(&[0xEF, 0xBB, 0xBF]),
                "{p}: BOM in {}",
                f.name
            );
        }
        let requirements = c.files.iter().any(|f| f.name == "requirements.yaml");
        assert!(!requirements, "{p}");
    }
}

#[test]
fn dot_chart_map_matches_helm() {
    let Some(helm) = Helm::find() else { return };
    let dir = helm.home.path().join("meta");
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(dir.join("templates/c.yaml"), "{{ toJson .Chart }}\n").unwrap();
    for extra in [
        "",
        "appVersion: 1.10\nkeywords: [1, yes, ~, 1.10]\nannotations: {a: 1.5, b: yes, d: ~, e: 10000000}\n",
        "maintainers: [{Name: x, url: u, extra: 1}, {}]\nhome: 1e7\nicon: ~\ncondition: 12\n",
        "NAME: z\nname: y\ndeprecated: yes\nTags: a,b\nsources: [s]\n",
        "description: \"a\\tb\\u200bc\\u00a0d\\u0007\"\nkubeVersion: '>= 1.0'\ntype: application\n",
        "version: v1.2\nkind: x\n",
    ] {
        let chart_yaml = format!("apiVersion: v2\nname: meta\nversion: 1.0.0\n{extra}");
        std::fs::write(dir.join("Chart.yaml"), &chart_yaml).unwrap();
        let run = helm.template(&[dir.as_os_str()]);
        assert!(run.ok, "{extra}: {}", run.stderr);
        let body: String = run
            .stdout
            .lines()
            .filter(|l| !l.starts_with("---") && !l.starts_with("# Source:"))
            .collect();
        let mut theirs: Value = serde_json::from_str(&body).unwrap();
        theirs.as_object_mut().unwrap().remove("IsRoot");
        let ours = load_files(vec![
            file("Chart.yaml", &chart_yaml),
            file("templates/c.yaml", "{{ toJson .Chart }}\n"),
        ])
        .unwrap();
        assert_eq!(
            Value::Object(ours.metadata.go_map.clone()),
            theirs,
            "{extra}"
        );
    }
}

#[test]
fn chart_yaml_errors_are_helms() {
    for (extra, want) in [
        (
            "version: [1]\n",
            "cannot load Chart.yaml: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go struct field Metadata.version of type string",
        ),
        (
            "maintainers: [x]\n",
            "cannot load Chart.yaml: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal string into Go struct field Metadata.maintainers of type v2.Maintainer",
        ),
        (
            "maintainers: [{name: [1]}]\n",
            "cannot load Chart.yaml: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go struct field Maintainer.maintainers.name of type string",
        ),
        (
            "dependencies: [{name: a, tags: x}]\n",
            "cannot load Chart.yaml: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal string into Go struct field Dependency.dependencies.tags of type []string",
        ),
        (
            "annotations: {a: [1]}\n",
            "cannot load Chart.yaml: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go struct field Metadata.annotations of type string",
        ),
        (
            "deprecated: 1\n",
            "cannot load Chart.yaml: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal number into Go struct field Metadata.deprecated of type bool",
        ),
        (
            "x: .inf\n",
            "cannot load Chart.yaml: error converting YAML to JSON: json: unsupported value: +Inf",
        ),
        (
            "maintainers: [null]\n",
            "validation: maintainers must not contain empty or null nodes",
        ),
        (
            "dependencies: [null]\n",
            "validation: dependencies must not contain empty or null nodes",
        ),
        (
            "type: foo\n",
            "validation: chart.metadata.type must be application or library",
        ),
        (
            "dependencies: [{name: a, alias: \"b c\"}]\n",
            "validation: dependency \"a\" has disallowed characters in the alias",
        ),
        (
            "dependencies: [{name: a}, {name: b, alias: a}]\n",
            "validation: more than one dependency with name or alias \"a\"",
        ),
    ] {
        let err =
            load_files(vec![file("Chart.yaml", &format!("{CHART_YAML}{extra}"))]).expect_err(extra);
        assert_eq!(err.message, want, "{extra}");
        assert_eq!(err.file.as_deref(), Some("Chart.yaml"));
    }
    for (yaml, want) in [
        ("name: c\nversion: 1\n", None),
        (
            "apiVersion: v2\nversion: 1\n",
            Some("validation: chart.metadata.name is required"),
        ),
        (
            "apiVersion: v2\nname: a/b\nversion: 1\n",
            Some("validation: chart.metadata.name \"a/b\" is invalid"),
        ),
        (
            "apiVersion: v2\nname: .\nversion: 1\n",
            Some("validation: chart.metadata.name \".\" is not allowed"),
        ),
        (
            "apiVersion: v2\nname: c\n",
            Some("validation: chart.metadata.version is required"),
        ),
        (
            "apiVersion: v2\nname: c\nversion: one\n",
            Some("validation: chart.metadata.version \"one\" is invalid"),
        ),
        (
            "apiVersion: v2\nname: c\nversion: 1.0.0-01\n",
            Some("validation: chart.metadata.version \"1.0.0-01\" is invalid"),
        ),
    ] {
        let got = load_files(vec![file("Chart.yaml", yaml)]);
        match want {
            None => assert_eq!(got.unwrap().metadata.api_version, "v1"),
            Some(w) => assert_eq!(got.unwrap_err().message, w, "{yaml}"),
        }
    }
    let err = load_files(vec![file("values.yaml", "a: 1\n")]).unwrap_err();
    assert_eq!(err.message, "Chart.yaml file is missing");
    let err = load_files(vec![
        file("Chart.yaml", CHART_YAML),
        file("values.yaml", "a: 1\nb: [\n"),
    ])
    .unwrap_err();
    assert!(
        err.message
            .starts_with("cannot load values.yaml: cannot unmarshal yaml document"),
        "{err}"
    );
    assert_eq!(
        (err.file.as_deref(), err.line.is_some()),
        (Some("values.yaml"), true)
    );
}

#[test]
fn files_are_classified() {
    let c = load_files(vec![
        file("templates/a.yaml", "a"),
        file("Chart.yaml", CHART_YAML),
        file("values.yaml", "x: 1\n---\ny: 2\n"),
        file("values.schema.json", "{}"),
        file("templates/sub/_h.tpl", "h"),
        file("crds/a.yaml", "crd"),
        file("crds/b.txt", "no"),
        file("README.md", "r"),
        file(
            "charts/sub/Chart.yaml",
            "apiVersion: v2\nname: sub\nversion: 1.0.0\n",
        ),
        file("charts/sub/templates/x.yaml", "x"),
        file("charts/_skip/Chart.yaml", "not yaml: ["),
        file("charts/.hidden/Chart.yaml", "not yaml: ["),
        file("charts/x.prov", "sig"),
        file("Chart.lock", "dependencies: []\n"),
    ])
    .unwrap();
    let names = |fs: &[File]| fs.iter().map(|f| f.name.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&c.templates),
        ["templates/a.yaml", "templates/sub/_h.tpl"]
    );
    assert_eq!(
        names(&c.files),
        ["crds/a.yaml", "crds/b.txt", "README.md", "charts/x.prov"]
    );
    assert_eq!(
        c.crds().map(|f| f.name.as_str()).collect::<Vec<_>>(),
        ["crds/a.yaml"]
    );
    assert_eq!(c.schema.as_deref(), Some(&b"{}"[..]));
    assert_eq!(c.values.len(), 2);
    assert_eq!(c.dependencies.len(), 1);
    assert_eq!(c.dependencies[0].name(), "sub");
    assert_eq!(names(&c.dependencies[0].templates), ["templates/x.yaml"]);
    // A plain file in charts/ is a subchart without a Chart.yaml, as in Helm.
    let err = load_files(vec![
        file("Chart.yaml", CHART_YAML),
        file("charts/loose", "x"),
    ])
    .unwrap_err();
    assert_eq!(
        err.message,
        "error unpacking subchart loose in c: Chart.yaml file is missing"
    );
}

#[test]
fn subchart_errors_are_wrapped_and_name_the_file() {
    let err = load_files(vec![
        file("Chart.yaml", CHART_YAML),
        file("charts/sub/Chart.yaml", "apiVersion: v2\nname: sub\n"),
    ])
    .unwrap_err();
    assert_eq!(
        err.message,
        "error unpacking subchart sub in c: validation: chart.metadata.version is required"
    );
    assert_eq!(err.file.as_deref(), Some("charts/sub/Chart.yaml"));
    let err = load_files(vec![
        file("Chart.yaml", CHART_YAML),
        file("charts/sub.tgz/x", "nested"),
    ])
    .unwrap_err();
    assert_eq!(
        err.message,
        "error unpacking subchart tar in c: expected sub.tgz, got sub.tgz/x"
    );
    let err = load_files(vec![
        file("Chart.yaml", CHART_YAML),
        file("charts/sub.tgz", "plain"),
    ])
    .unwrap_err();
    assert_eq!(
        err.message,
        "error unpacking subchart sub.tgz in c: gzip: invalid header"
    );
}

/// A tar stream (ustar headers) gzipped, for hostile-archive tests.
pub fn tgz(entries: &[(&str, u8, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut tar = Vec::new();
    for (name, typeflag, data) in entries {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..107].copy_from_slice(b"0000644");
        h[108..115].copy_from_slice(b"0000000");
        h[116..123].copy_from_slice(b"0000000");
        h[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
        h[136..147].copy_from_slice(b"00000000000");
        h[156] = *typeflag;
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        tar.extend_from_slice(&h);
        tar.extend_from_slice(data);
        tar.resize(tar.len().div_ceil(512) * 512, 0);
    }
    tar.extend_from_slice(&[0u8; 1024]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).expect("gzip");
    gz.finish().expect("gzip")
}

#[test]
fn archives_refuse_hostile_paths_and_sizes() {
    let chart = CHART_YAML.as_bytes();
    let ok = load_archive(&tgz(&[
        ("c/", b'5', b""),
        ("c/Chart.yaml", b'0', chart),
        ("c/templates/a.yaml", b'0', b"\xEF\xBB\xBFa"),
        ("c\\templates\\b.yaml", b'0', b"b"),
    ]));
    // The backslash entry makes its own delimiter: `templates/b.yaml`.
    let c = ok.unwrap();
    let names: Vec<&str> = c.templates.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["templates/a.yaml", "templates/b.yaml"]);
    assert_eq!(c.templates[0].data, b"a");
    for (entries, want) in [
        (
            vec![("c//etc/passwd", b'0', &b"x"[..])],
            "chart illegally contains absolute paths",
        ),
        (
            vec![("c/../../x", b'0', &b"x"[..])],
            "chart illegally references parent directory",
        ),
        (
            vec![("c/.", b'0', &b"x"[..])],
            "chart illegally contains content outside the base directory: \"c/.\"",
        ),
        (
            vec![("Chart.yaml", b'0', chart)],
            "chart illegally contains content outside the base directory: \"Chart.yaml\"",
        ),
        (
            vec![("Chart.yaml/x", b'0', chart)],
            "chart yaml not in base directory",
        ),
        (
            vec![("c/c:/x", b'0', &b"x"[..])],
            "chart contains illegally named files",
        ),
        (vec![("c/", b'5', &b""[..])], "no files in chart archive"),
    ] {
        assert_eq!(load_archive(&tgz(&entries)).unwrap_err().message, want);
    }
    let big = vec![b'a'; 5 * 1024 * 1024 + 1];
    assert_eq!(
        load_archive(&tgz(&[("c/big", b'0', &big)]))
            .unwrap_err()
            .message,
        "decompressed chart file \"c/big\" is larger than the maximum file size 5242880"
    );
    assert_eq!(
        load_archive(b"not gzip at all").unwrap_err().message,
        "gzip: invalid header"
    );
    let mut truncated = tgz(&[("c/Chart.yaml", b'0', chart)]);
    truncated.truncate(truncated.len() / 2);
    assert!(load_archive(&truncated).is_err());
}

#[test]
fn helmignore_rules_one_by_one() {
    let r = |text: &str| {
        let mut r = IgnoreRules::parse(text).unwrap();
        r.add_defaults();
        r
    };
    // Base-name rules match at any depth; `*` never crosses `/`.
    let rules = r("*.txt\n");
    assert!(rules.ignore("a.txt", false) && rules.ignore("docs/a.txt", false));
    assert!(!rules.ignore("a.yaml", false));
    // A rule with `/` matches the whole path.
    let rules = r("docs/*.md\n");
    assert!(rules.ignore("docs/a.md", false) && !rules.ignore("x/docs/a.md", false));
    // Leading `/`: from the root.
    let rules = r("/secret\n");
    assert!(rules.ignore("secret", false) && !rules.ignore("a/secret", false));
    // Trailing `/`: directories only.
    let rules = r("build/\n");
    assert!(rules.ignore("build", true) && !rules.ignore("build", false));
    // Negation ignores everything it does not match (not gitignore).
    let rules = r("!keep.txt\n");
    assert!(rules.ignore("other.txt", false));
    assert!(!rules.ignore("keep.txt", false));
    let rules = r("!dir/\n");
    assert!(rules.ignore("file", false) && !rules.ignore("dir", true));
    // Comments, blanks, BOM and spaces.
    let rules = r("\u{FEFF}# c\n\n  *.bak  \r\n");
    assert!(rules.ignore("x.bak", false) && !rules.ignore("# c", false));
    // Defaults: hidden files directly in templates/.
    let rules = r("");
    assert!(rules.ignore("templates/.hidden", false));
    assert!(!rules.ignore("templates/visible", false));
    assert!(!rules.ignore("templates/sub/.hidden", false));
    assert!(!rules.ignore(".", true) && !rules.ignore("", true));
    // Character classes.
    let rules = r("[a-c]?.log\n[^x]y\n");
    assert!(rules.ignore("b1.log", false) && !rules.ignore("d1.log", false));
    assert!(rules.ignore("zy", false) && !rules.ignore("xy", false));
    // Errors.
    assert_eq!(
        IgnoreRules::parse("ok\n**/x\n").unwrap_err().message,
        "double-star (**) syntax is not supported"
    );
    let err = IgnoreRules::parse("a\n[x\n").unwrap_err();
    assert_eq!(
        (err.line, err.message.as_str()),
        (2, "syntax error in pattern")
    );
    assert_eq!(
        go_match("a[", "b"),
        None,
        "the rest is checked after a mismatch"
    );
    assert_eq!(go_match("a\\*", "a*"), Some(true));
    assert_eq!(go_match("*", "a/b"), Some(false));
}

#[test]
fn load_dir_applies_helmignore_and_limits() {
    let mut fs = MemFs::new();
    fs.add("/c/Chart.yaml", CHART_YAML)
        .add("/c/.helmignore", "*.bak\nsecret/\n")
        .add("/c/templates/a.yaml", "a")
        .add("/c/templates/.swp", "hidden")
        .add("/c/templates/a.yaml.bak", "bak")
        .add("/c/secret/key", "k")
        .add(
            "/c/charts/sub/Chart.yaml",
            "apiVersion: v2\nname: sub\nversion: 1.0.0\n",
        )
        .add("/c/charts/sub/x.bak", "parent rules apply to subcharts")
        .add("/c/values.yaml", "\u{FEFF}a: 1\n");
    let c = load_dir(&fs, Path::new("/c")).unwrap();
    let names: Vec<&str> = c.templates.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["templates/a.yaml"]);
    let files: Vec<&str> = c.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(files, [".helmignore"]);
    assert!(c.dependencies[0].files.is_empty());
    assert_eq!(c.values["a"], json!(1.0));
    let mut fs = MemFs::new();
    fs.add("/c/Chart.yaml", CHART_YAML)
        .add("/c/big", vec![b'x'; 5 * 1024 * 1024 + 1]);
    let err = load_dir(&fs, Path::new("/c")).unwrap_err();
    assert_eq!(
        err.message,
        "chart file \"big\" is larger than the maximum file size 5242880"
    );
    let mut fs = MemFs::new();
    fs.add("/c/Chart.yaml", CHART_YAML)
        .add("/c/.helmignore", "a/**\n");
    let err = load_dir(&fs, Path::new("/c")).unwrap_err();
    assert_eq!(err.message, "double-star (**) syntax is not supported");
    assert_eq!(
        (err.file.as_deref(), err.line),
        (Some(".helmignore"), Some(1))
    );
}

#[test]
fn load_dir_refuses_irregular_files_unless_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("c");
    std::fs::create_dir_all(c.join("templates")).unwrap();
    std::fs::write(c.join("Chart.yaml"), CHART_YAML).unwrap();
    let fifo = c.join("templates/pipe");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let fs = DiskFs::new(dir.path()).unwrap();
    // Helm refuses it without opening it (a FIFO would block the read).
    let err = load_dir(&fs, &c).unwrap_err();
    assert_eq!(
        err.message,
        format!(
            "cannot load irregular file {} as it has file mode type bits set",
            fifo.display()
        )
    );
    assert_eq!(err.file.as_deref(), Some("templates/pipe"));
    std::fs::write(c.join(".helmignore"), "pipe\n").unwrap();
    let chart = load_dir(&fs, &c).unwrap();
    assert!(chart.templates.is_empty());
}

#[test]
fn root_dispatch_and_render_time_checks() {
    let mut fs = MemFs::new();
    fs.add("/c/Chart.yaml", "apiVersion: v3\nname: c\nversion: 1.0.0\n");
    assert_eq!(
        load_dir(&fs, Path::new("/c")).unwrap_err().message,
        "invalid chart apiVersion"
    );
    let mut fs = MemFs::new();
    fs.add("/c/Chart.yaml", "apiVersion: v9\nname: c\nversion: 1.0.0\n");
    assert_eq!(
        load_dir(&fs, Path::new("/c")).unwrap_err().message,
        "unsupported chart version"
    );
    let mut fs = MemFs::new();
    fs.add("/c/values.yaml", "a: 1\n");
    assert_eq!(
        load_dir(&fs, Path::new("/c")).unwrap_err().message,
        "unable to detect chart at /c/Chart.yaml: open /c/Chart.yaml: no such file or directory"
    );
    let c = load_files(vec![file(
        "Chart.yaml",
        "apiVersion: v2\nname: c\nversion: 1.0.0\nkubeVersion: '>= 1.40.0'\ntype: library\n\
         dependencies: [{name: a, version: 1.0.0}, {name: b}]\n",
    )])
    .unwrap();
    assert_eq!(
        chart::check_dependencies(&c).unwrap_err().message,
        "an error occurred while checking for chart dependencies. You may need to run 'helm \
         dependency build' to fetch missing dependencies: found in Chart.yaml, but missing in \
         charts/ directory: a, b"
    );
    assert_eq!(
        chart::check_installable(&c).unwrap_err().message,
        "library charts are not installable"
    );
    assert_eq!(
        chart::check_kube_version(&c, "v1.36.0", "v1.36.0")
            .unwrap_err()
            .message,
        "chart requires kubeVersion: >= 1.40.0 which is incompatible with Kubernetes v1.36.0"
    );
    assert!(chart::check_kube_version(&c, "v1.41.0", "v1.41.0-gke.1").is_ok());
}

#[test]
fn render_time_checks_match_helm_on_its_test_charts() {
    let Some(helm) = Helm::find() else { return };
    let Some(module) = Helm::module_dir() else {
        return;
    };
    for name in [
        "chart-missing-deps",
        "lib-chart",
        "chart-bad-type",
        "alpine",
    ] {
        let p = module.join("pkg/cmd/testdata/testcharts").join(name);
        let run = helm.template(&[p.as_os_str()]);
        let ours = load_path(&p).and_then(|c| {
            chart::check_installable(&c)?;
            chart::check_dependencies(&c)
        });
        match ours {
            Ok(()) => assert!(run.ok, "{name}: {}", run.stderr),
            Err(e) => {
                let last = run
                    .stderr
                    .trim_end()
                    .lines()
                    .last()
                    .unwrap_or("")
                    .to_string();
                assert_eq!(last, format!("Error: {}", e.message), "{name}");
            }
        }
    }
}

#[test]
fn lock_files_are_decoded() {
    for (lock, want) in [
        (
            "- 1\n",
            Some(
                "cannot load Chart.lock: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type v2.Lock",
            ),
        ),
        (
            "a: [\n",
            Some("cannot load Chart.lock: error converting YAML to JSON: yaml: line "),
        ),
        ("digest: 5\ndependencies: [{name: a}]\n", None),
    ] {
        let got = load_files(vec![
            file("Chart.yaml", CHART_YAML),
            file("Chart.lock", lock),
        ]);
        match want {
            None => assert!(got.is_ok(), "{lock}"),
            Some(w) => {
                let e = got.unwrap_err();
                assert!(e.message.starts_with(w), "{lock}: {e}");
                assert_eq!(e.file.as_deref(), Some("Chart.lock"));
            }
        }
    }
}

#[test]
fn archives_read_pax_and_gnu_long_names_and_refuse_bad_headers() {
    let chart = CHART_YAML.as_bytes();
    let long = format!("c/templates/{}.yaml", "x".repeat(120));
    let record = |k: &str, v: &str| {
        // "<len> k=v\n", the length counting itself.
        let body = format!(" {k}={v}\n");
        let mut len = body.len() + 1;
        if (len + body.len()).to_string().len() > 1 {
            len = body.len() + (body.len() + 3).to_string().len();
        }
        format!("{len}{body}")
    };
    let pax = record("path", &long);
    let c = load_archive(&tgz(&[
        ("c/Chart.yaml", b'0', chart),
        ("PaxHeaders/x", b'x', pax.as_bytes()),
        ("c/templates/short.yaml", b'0', b"pax"),
        ("././@LongLink", b'L', format!("{long}\0").as_bytes()),
        ("c/templates/other.yaml", b'0', b"gnu"),
        ("pax_global_header", b'g', b"9 a=bcd\n"),
    ]))
    .unwrap();
    let names: Vec<&str> = c.templates.iter().map(|f| f.name.as_str()).collect();
    let want = &long["c/".len()..];
    assert_eq!(names, [want, want], "PAX path and GNU long name both apply");
    assert_eq!(c.templates[0].data, b"pax");
    // A header whose checksum does not add up.
    let mut bad = Vec::new();
    {
        use std::io::{Read, Write};
        let good = tgz(&[("c/Chart.yaml", b'0', chart)]);
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(&good[..])
            .read_to_end(&mut tar)
            .unwrap();
        tar[0] = b'd';
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        bad.extend(gz.finish().unwrap());
    }
    assert_eq!(
        load_archive(&bad).unwrap_err().message,
        "archive/tar: invalid header"
    );
}

#[test]
fn chart_yaml_errors_name_the_line() {
    for (extra, line) in [
        ("version: [1]\n", 4),
        ("home: x\nmaintainers:\n- name: a\n- name: [1]\n", 7),
        ("keywords:\n- a\n- {b: 1}\n", 6),
        ("x: 1\ny: .inf\n", 5),
        ("z: [\n", 5),
    ] {
        let err =
            load_files(vec![file("Chart.yaml", &format!("{CHART_YAML}{extra}"))]).expect_err(extra);
        assert_eq!(err.line, Some(line), "{extra}: {err}");
        assert!(
            err.to_string().contains(&format!("(Chart.yaml:{line})")),
            "{err}"
        );
    }
}

#[test]
fn non_archives_are_named_as_helm_names_them() {
    let cases: [(&str, &[u8], &str); 5] = [
        (
            "x.yaml",
            b"a: 1\n",
            "file 'x.yaml' seems to be a YAML file, but expected a gzipped archive",
        ),
        (
            "x.tgz",
            b"hello",
            "file 'x.tgz' does not appear to be a gzipped archive; got 'application/octet-stream'",
        ),
        (
            "z.tgz",
            b"<html><body>",
            "file 'z.tgz' does not appear to be a gzipped archive; got 'text/html; charset=utf-8'",
        ),
        (
            "w.tgz",
            b"PK\x03\x04zip",
            "file 'w.tgz' does not appear to be a gzipped archive; got 'application/zip'",
        ),
        (
            "t.tgz",
            &[b'a'; 600],
            "file 't.tgz' does not appear to be a gzipped archive; got 'text/plain; charset=utf-8'",
        ),
    ];
    for (name, data, want) in cases {
        assert_eq!(chart::ensure_archive(name, data).unwrap_err().message, want);
    }
    assert!(
        chart::ensure_archive(
            "c.tgz",
            &tgz(&[("c/Chart.yaml", b'0', CHART_YAML.as_bytes())])
        )
        .is_ok()
    );
}
