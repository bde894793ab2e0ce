//! `repo::Index`: chart repository indexes loaded as source-controller
//! loads them (compared with Go's `json.MarshalIndent` of Helm's
//! `repo.IndexFile`, read from Helm v4.2.4's `LoadIndexFile` on the same
//! bytes), indexes `helm repo index` writes, hostile indexes, Flux's
//! version selection and Helm's chart URL resolution.

use std::path::Path;

use ferroflux_helm::repo::{self, GoTime, Index};
use ferroflux_testkit::helm::Helm;

/// An index of our own with the awkward parts: nil and invalid entries,
/// versions to sort, loose versions, offsets, fractions, HTML characters,
/// a duplicated dependency (kept), YAML 1.1 keys in `serverInfo`.
const AWKWARD: &str = r#"
apiVersion: v1
serverInfo:
  contextPath: /v1/helm
  n: 1.5e3
  big: 12345678901234567890
  html: "<a&b>"
entries:
  alpine:
    - name: alpine
      version: 1.0.0
      created: 2016-10-06T16:23:20.499814565-06:00
      urls: [alpine-1.0.0.tgz]
    - name: alpine
      version: v1.2.0
      created: "2016-10-06T16:23:20+00:00"
      urls: ["https://x/alpine-1.2.0.tgz?x=1"]
      description: "tab\there\u2028 <html>"
    -
    - name: alpine
      version: "1.10"
      created: 2016-10-06T16:23:20.100Z
    - name: alpine
      version: not-semver
    - name: alpine
      version: 2.0.0-rc.1
      apiVersion: v2
      removed: true
      deprecated: true
      annotations: {b: "2", a: "1"}
  empty: []
  nullone:
  nodeps:
    - name: nodeps
      version: 0.1.0
      dependencies:
        - name: a
          repository: ""
        - name: a
          repository: "https://x"
          enabled: true
          import-values: [x, {child: c, parent: p}]
generated: 2016-10-06T16:23:20.499029981-06:00
publicKeys: [k1]
annotations: {z: "1"}
"#;

/// Go's `json.MarshalIndent` of Helm v4.2.4's `LoadIndexFile(AWKWARD)`.
const AWKWARD_JSON: &str = r#"
{
  "serverInfo": {
    "big": 12345678901234567000,
    "contextPath": "/v1/helm",
    "false": 1500,
    "html": "\u003ca\u0026b\u003e"
  },
  "apiVersion": "v1",
  "generated": "2016-10-06T16:23:20.499029981-06:00",
  "entries": {
    "alpine": [
      {
        "name": "alpine",
        "version": "2.0.0-rc.1",
        "apiVersion": "v2",
        "deprecated": true,
        "annotations": {
          "a": "1",
          "b": "2"
        },
        "urls": null,
        "created": "0001-01-01T00:00:00Z",
        "removed": true
      },
      {
        "name": "alpine",
        "version": "1.10",
        "apiVersion": "v1",
        "urls": null,
        "created": "2016-10-06T16:23:20.1Z"
      },
      {
        "name": "alpine",
        "version": "v1.2.0",
        "description": "tab here  \u003chtml\u003e",
        "apiVersion": "v1",
        "urls": [
          "https://x/alpine-1.2.0.tgz?x=1"
        ],
        "created": "2016-10-06T16:23:20Z"
      },
      {
        "name": "alpine",
        "version": "1.0.0",
        "apiVersion": "v1",
        "urls": [
          "alpine-1.0.0.tgz"
        ],
        "created": "2016-10-06T16:23:20.499814565-06:00"
      }
    ],
    "empty": [],
    "nodeps": [
      {
        "name": "nodeps",
        "version": "0.1.0",
        "apiVersion": "v1",
        "dependencies": [
          {
            "name": "a",
            "repository": ""
          },
          {
            "name": "a",
            "repository": "https://x",
            "enabled": true,
            "import-values": [
              "x",
              {
                "child": "c",
                "parent": "p"
              }
            ]
          }
        ],
        "urls": null,
        "created": "0001-01-01T00:00:00Z"
      }
    ],
    "nullone": null
  },
  "publicKeys": [
    "k1"
  ],
  "annotations": {
    "z": "1"
  }
}"#;

/// A JSON index: unknown fields ignored (no strict mode), a `null` list.
const JSON_INDEX: &str = r#"{"apiVersion":"v1","entries":{"a":[{"name":"a","version":"1.0.0","created":"2020-01-02T03:04:05.5+01:00","urls":["a-1.0.0.tgz"],"extra":1}],"b":null},"generated":"2020-01-02T03:04:05Z","unknownTop":true}"#;

const JSON_INDEX_JSON: &str = r#"
{
  "apiVersion": "v1",
  "generated": "2020-01-02T03:04:05Z",
  "entries": {
    "a": [
      {
        "name": "a",
        "version": "1.0.0",
        "apiVersion": "v1",
        "urls": [
          "a-1.0.0.tgz"
        ],
        "created": "2020-01-02T03:04:05.5+01:00"
      }
    ],
    "b": null
  }
}"#;

#[test]
fn awkward_index_is_written_as_go_writes_it() {
    let index = Index::load(AWKWARD.as_bytes()).expect("loads");
    assert_eq!(index.to_json(), AWKWARD_JSON.trim_start());
    // Nil entries dropped, the invalid version dropped, newest first.
    let versions: Vec<&str> = index
        .versions("alpine")
        .expect("alpine")
        .iter()
        .map(|cv| cv.version())
        .collect();
    assert_eq!(versions, ["2.0.0-rc.1", "1.10", "v1.2.0", "1.0.0"]);
    // The written artifact loads back to the same bytes.
    let again = Index::load(index.to_json().as_bytes()).expect("reloads");
    assert_eq!(again.to_json(), index.to_json());
}

#[test]
fn json_index_ignores_unknown_fields_and_keeps_null_lists() {
    let index = Index::load(JSON_INDEX.as_bytes()).expect("loads");
    assert_eq!(index.to_json(), JSON_INDEX_JSON.trim_start());
}

#[test]
fn revision_is_the_sha256_of_the_raw_bytes() {
    assert_eq!(
        repo::revision(b""),
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        repo::revision(b"abc"),
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

fn err(data: &str) -> String {
    Index::load(data.as_bytes()).expect_err("must fail").message
}

const UNMARSHAL: &str = "error unmarshaling JSON: while decoding JSON: ";

#[test]
fn broken_indexes_fail_in_helms_words() {
    assert_eq!(err(""), "empty index.yaml file");
    assert_eq!(err("entries: {}\n"), "no API version specified");
    assert_eq!(err("# nothing\n"), "no API version specified");
    assert_eq!(
        err("apiVersion: v1\nfoo: 1\n"),
        format!("{UNMARSHAL}json: unknown field \"foo\"")
    );
    assert_eq!(
        err("- a\n"),
        format!("{UNMARSHAL}json: cannot unmarshal array into Go value of type repo.IndexFile")
    );
    let entry = |body: &str| {
        err(&format!(
            "apiVersion: v1\nentries:\n  a:\n    - name: a\n      version: 1.0.0\n      {body}\n"
        ))
    };
    // The cases below were read from Helm v4.2.4's LoadIndexFile.
    assert_eq!(
        entry("keywords: [1]"),
        format!(
            "{UNMARSHAL}json: cannot unmarshal number into Go struct field \
             ChartVersion.entries.Metadata.keywords of type string"
        )
    );
    assert_eq!(
        entry("maintainers: [{name: 1}]"),
        format!(
            "{UNMARSHAL}json: cannot unmarshal number into Go struct field \
             Maintainer.entries.Metadata.maintainers.name of type string"
        )
    );
    assert_eq!(
        entry("dependencies: [{name: a, version: 1}]"),
        format!(
            "{UNMARSHAL}json: cannot unmarshal number into Go struct field \
             Dependency.entries.Metadata.dependencies.version of type string"
        )
    );
    assert_eq!(
        entry("deprecated: \"yes\""),
        format!(
            "{UNMARSHAL}json: cannot unmarshal string into Go struct field \
             ChartVersion.entries.Metadata.deprecated of type bool"
        )
    );
    assert_eq!(
        entry("created: 5"),
        format!("{UNMARSHAL}Time.UnmarshalJSON: input is not a JSON string")
    );
    assert_eq!(
        entry("created: \"2016-13-06T16:23:20Z\""),
        format!("{UNMARSHAL}parsing time \"2016-13-06T16:23:20Z\": month out of range")
    );
    assert_eq!(
        entry("bogus: 1"),
        format!("{UNMARSHAL}json: unknown field \"bogus\"")
    );
    // A ChartVersion field of its own gets sigs.k8s.io/yaml's conversion.
    let ok = Index::load(
        b"apiVersion: v1\nentries:\n  a:\n    - {name: a, version: 1.0.0, digest: 123}\n",
    )
    .expect("loads");
    assert_eq!(ok.get("a", "").expect("a").digest, "123");
    // ... but not in a JSON index.
    // The messages below were read from Helm v4.2.4's LoadIndexFile.
    assert_eq!(
        err(r#"{"apiVersion":"v1","entries":{"a":[{"name":"a","version":"1.0.0","urls":[1]}]}}"#),
        "json: cannot unmarshal number into Go struct field ChartVersion.entries.urls of type string"
    );
    assert_eq!(
        err(r#"{"apiVersion":"v1","entries":{"a":[{"name":"a","version":1}]}}"#),
        "json: cannot unmarshal number into Go struct field ChartVersion.entries.Metadata.version of type string"
    );
    assert_eq!(
        err(r#""x""#),
        "json: cannot unmarshal string into Go value of type repo.IndexFile"
    );
    assert_eq!(
        err("apiVersion: v1\nentries:\n  a:\n    - {name: a, version: 1.0.0, urls: {}}\n"),
        format!(
            "{UNMARSHAL}json: cannot unmarshal object into Go struct field \
             ChartVersion.entries.urls of type []string"
        )
    );
    let bad_yaml = Index::load(b"apiVersion: v1\nentries: [\n").expect_err("bad yaml");
    assert!(bad_yaml.line.is_some(), "{bad_yaml:?}");
    assert_eq!(
        bad_yaml.message,
        "error converting YAML to JSON: yaml: line 2: did not find expected node content"
    );
    assert_eq!(
        err("apiVersion: v1\nentries:\n  a:\n    - name: a\n      version: 1.0.0\n      name: b\n"),
        "error converting YAML to JSON: yaml: unmarshal errors:\n  line 6: key \"name\" already set in map"
    );
    // A JSON index keeps the last of a repeated key, as encoding/json does.
    let j = Index::load(br#"{"apiVersion":"v0","apiVersion":"v1"}"#).expect("json");
    assert_eq!(j.api_version, "v1");
}

#[test]
fn hostile_indexes_are_bounded() {
    let huge = vec![b' '; repo::MAX_INDEX_SIZE + 1];
    assert_eq!(
        Index::load(&huge).expect_err("too big").message,
        format!(
            "index exceeds the maximum index file size of {} bytes",
            repo::MAX_INDEX_SIZE
        )
    );
    let mut many = String::from("apiVersion: v1\nentries:\n  a:\n");
    for i in 0..11 {
        many.push_str(&format!("    - {{name: a, version: 1.0.{i}}}\n"));
    }
    assert!(Index::load_bounded(many.as_bytes(), 11).is_ok());
    assert_eq!(
        Index::load_bounded(many.as_bytes(), 10)
            .expect_err("bounded")
            .message,
        "index lists more than 10 chart versions"
    );
    // Real indexes are large (Bitnami's was tens of MB): far past the
    // 3 MiB a Kubernetes object may hold, the index still loads.
    let mut large = String::from("apiVersion: v1\nentries:\n  big:\n");
    let mut n = 0;
    while large.len() < 4 << 20 {
        large.push_str(&format!(
            "    - {{name: big, version: 1.0.{n}, description: \"{}\", urls: [big-1.0.{n}.tgz]}}\n",
            "d".repeat(200)
        ));
        n += 1;
    }
    let index = Index::load(large.as_bytes()).expect("a 4 MiB index loads");
    assert_eq!(index.versions("big").map(<[_]>::len), Some(n));
    assert_eq!(
        index.get("big", "").expect("newest").version(),
        format!("1.0.{}", n - 1)
    );
    // Deep nesting and alias bombs are the YAML parser's budgets: errors,
    // never a stack overflow.
    let deep = format!(
        "apiVersion: v1\nserverInfo: {}{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert!(Index::load(deep.as_bytes()).is_err());
    let bomb = "apiVersion: v1\nserverInfo:\n  a: &a [x, x, x, x, x, x, x, x, x]\n  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n  f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n  g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n  h: [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n";
    assert!(Index::load(bomb.as_bytes()).is_err());
    // Invalid UTF-8 and binary garbage: an error, not a panic.
    assert!(Index::load(&[0xff, 0xfe, 0x00, 0x01]).is_err());
}

/// Flux's `getChartVersion` over one chart's versions.
fn pick(yaml_versions: &[(&str, &str)], want: &str) -> Result<String, String> {
    let mut text = String::from("apiVersion: v1\nentries:\n  c:\n");
    for (v, created) in yaml_versions {
        text.push_str(&format!(
            "    - {{name: c, version: \"{v}\", created: \"{created}\", urls: [c-{v}.tgz]}}\n"
        ));
    }
    let index = Index::load(text.as_bytes()).map_err(|e| e.message)?;
    index
        .get("c", want)
        .map(|cv| format!("{}@{}", cv.version(), cv.created.rfc3339_nano()))
        .map_err(|e| e.message)
}

#[test]
fn version_selection_is_fluxs() {
    let t = "2020-01-01T00:00:00Z";
    let later = "2021-01-01T00:00:00Z";
    let set = [
        ("0.1.0", t),
        ("0.2.0", t),
        ("1.0.0", t),
        ("1.1.0-rc.1", t),
        ("v1.0.5", t),
        ("1.2", t),
        ("2.0.0-alpha", t),
    ];
    let cases: &[(&str, &str)] = &[
        // Latest stable: `*` and empty exclude prereleases; `1.2` is not
        // strict semver and is skipped.
        ("", "v1.0.5"),
        ("*", "v1.0.5"),
        // Exact string match first, even for what no constraint would pick.
        ("1.2", "1.2"),
        ("2.0.0-alpha", "2.0.0-alpha"),
        ("v1.0.5", "v1.0.5"),
        // Ranges.
        ("<1.0.0", "0.2.0"),
        ("~0.1", "0.1.0"),
        ("^1.0.0", "v1.0.5"),
        (">=1.1.0-0", "2.0.0-alpha"),
        ("1.0.x", "v1.0.5"),
        ("1.0.5", "v1.0.5"),
    ];
    for (want, got) in cases {
        let r = pick(&set, want).unwrap_or_else(|e| panic!("{want}: {e}"));
        assert_eq!(r.split('@').next(), Some(*got), "version {want:?}");
    }
    assert_eq!(
        pick(&set, ">=3.0.0").expect_err("none"),
        "no 'c' chart with version matching '>=3.0.0' found"
    );
    assert_eq!(
        pick(&set, "not a range!").expect_err("bad range"),
        "improper constraint: not a range!"
    );
    // Equal versions: the later `created` wins, in either order.
    let twins = [("1.0.0+a", t), ("1.0.0+b", later)];
    assert_eq!(
        pick(&twins, "*").expect("picks"),
        format!("1.0.0+b@{later}")
    );
    let twins = [("1.0.0+b", later), ("1.0.0+a", t)];
    assert_eq!(
        pick(&twins, "*").expect("picks"),
        format!("1.0.0+b@{later}")
    );
    // A plain version matches every build of it (metadata is ignored):
    // the newest build wins, wherever it is listed.
    let builds = [
        ("0.1.5+b", "2020-01-01T00:59:00Z"),
        ("0.1.5+a", "2020-01-01T00:00:00Z"),
        ("0.1.5+c", "2020-01-01T01:00:00Z"),
        ("0.2.0", t),
    ];
    assert_eq!(
        pick(&builds, "0.1.5").expect("picks"),
        "0.1.5+c@2020-01-01T01:00:00Z"
    );
    let index = Index::load(b"apiVersion: v1\nentries:\n  e: []\n").expect("loads");
    assert_eq!(
        index.get("e", "").expect_err("empty").message,
        "no chart version found"
    );
    assert_eq!(
        index.get("x", "").expect_err("none").message,
        "no chart name found"
    );
}

#[test]
fn chart_urls_resolve_as_helm_resolves_them() {
    // (repository URL, urls[0], expected): cases of our own in the shape
    // of Helm's and source-controller's tables, each checked against Helm
    // v4.2.4's `ResolveReferenceURL`.
    let cases = [
        (
            "http://example.com",
            "chart-0.1.0.tgz",
            "http://example.com/chart-0.1.0.tgz",
        ),
        (
            "http://example.com/",
            "chart-0.1.0.tgz",
            "http://example.com/chart-0.1.0.tgz",
        ),
        (
            "http://example.com/charts",
            "nginx-0.2.0.tgz",
            "http://example.com/charts/nginx-0.2.0.tgz",
        ),
        (
            "http://example.com/charts/",
            "sub/x.tgz",
            "http://example.com/charts/sub/x.tgz",
        ),
        (
            "http://example.com/charts",
            "/abs/x.tgz",
            "http://example.com/abs/x.tgz",
        ),
        (
            "http://example.com/a/b",
            "../x.tgz",
            "http://example.com/a/x.tgz",
        ),
        (
            "http://example.com/a/b",
            "./x.tgz",
            "http://example.com/a/b/x.tgz",
        ),
        (
            "https://example.com/charts?sig=a%2Fb&se=1",
            "x-1.0.0.tgz",
            "https://example.com/charts/x-1.0.0.tgz?sig=a%2Fb&se=1",
        ),
        // The reference's own query is dropped for the base's.
        (
            "https://example.com/charts",
            "x.tgz?token=1",
            "https://example.com/charts/x.tgz",
        ),
        (
            "https://example.com/charts",
            "https://cdn.example.com/x.tgz?t=1",
            "https://cdn.example.com/x.tgz?t=1",
        ),
        (
            "https://example.com/charts",
            "//cdn.example.com/x.tgz",
            "https://cdn.example.com/x.tgz",
        ),
        (
            "https://user@example.com:8443/charts/",
            "x%20y.tgz",
            "https://user@example.com:8443/charts/x%20y.tgz",
        ),
        ("http://e.com", "x.tgz#frag", "http://e.com/x.tgz#frag"),
        (
            "http://e.com/a/b/",
            "../../../../x.tgz",
            "http://e.com/x.tgz",
        ),
    ];
    for (base, reference, want) in cases {
        assert_eq!(
            repo::resolve_reference_url(base, reference).as_deref(),
            Ok(want),
            "{base} + {reference}"
        );
    }
    assert_eq!(
        repo::resolve_reference_url("http://example.com", ":x").expect_err("bad"),
        "failed to parse :x as URL: parse \":x\": missing protocol scheme"
    );
    assert!(repo::resolve_reference_url("http://exa\u{7f}mple.com", "x.tgz").is_err());
    let index = Index::load(b"apiVersion: v1\nentries:\n  c:\n    - {name: c, version: 1.0.0}\n")
        .expect("loads");
    let cv = index.get("c", "").expect("c");
    assert_eq!(
        repo::chart_url("http://e.com", cv)
            .expect_err("no urls")
            .message,
        "chart 'c' has no downloadable URLs"
    );
}

#[test]
fn go_times_parse_and_print_as_go() {
    for (input, printed) in [
        (
            "2016-10-06T16:23:20.499814565-06:00",
            "2016-10-06T16:23:20.499814565-06:00",
        ),
        ("2016-10-06T16:23:20.100Z", "2016-10-06T16:23:20.1Z"),
        ("2016-10-06T16:23:20+00:00", "2016-10-06T16:23:20Z"),
        ("2016-10-06T16:23:20,5-00:00", "2016-10-06T16:23:20.5Z"),
        ("2024-02-29T23:59:59.0000000001Z", "2024-02-29T23:59:59Z"),
    ] {
        assert_eq!(GoTime::parse(input).expect(input).rfc3339_nano(), printed);
    }
    // Go's words (read from Go 1.26's Time.UnmarshalJSON).
    for (bad, why) in [
        (
            "2016-10-06",
            " as \"2006-01-02T15:04:05Z07:00\": cannot parse \"\" as \"T\"",
        ),
        (
            "bad",
            " as \"2006-01-02T15:04:05Z07:00\": cannot parse \"bad\" as \"2006\"",
        ),
        (
            "2016-10-06 16:23:20Z",
            " as \"2006-01-02T15:04:05Z07:00\": cannot parse \" 16:23:20Z\" as \"T\"",
        ),
        (
            "2016-10-06T16:23:20",
            " as \"2006-01-02T15:04:05Z07:00\": cannot parse \"\" as \"Z07:00\"",
        ),
        (
            "2016-10-06T16:23:20+0100",
            " as \"2006-01-02T15:04:05Z07:00\": cannot parse \"+0100\" as \"Z07:00\"",
        ),
        ("2016-10-06T16:23:20Zx", ": extra text: \"x\""),
        ("2016-13-06T16:23:20Z", ": month out of range"),
        ("2016-10-06T24:00:00Z", ": hour out of range"),
        ("2016-02-30T00:00:00Z", ": day out of range"),
    ] {
        assert_eq!(
            GoTime::parse(bad).expect_err(bad),
            format!("parsing time \"{bad}\"{why}"),
            "{bad}"
        );
    }
    for bad in [
        "2023-02-29T00:00:00Z",
        "2016-10-06",
        "2016-10-06T24:00:00Z",
        "2016-10-06T16:23:20+25:00",
        "2016-10-06T16:23:20",
    ] {
        assert!(GoTime::parse(bad).is_err(), "{bad}");
    }
    let a = GoTime::parse("2020-01-01T01:00:00+01:00").expect("a");
    let b = GoTime::parse("2020-01-01T00:00:00.5Z").expect("b");
    assert!(a.before(&b));
    assert!(GoTime::default().is_zero());
    assert_eq!(GoTime::default().rfc3339_nano(), "0001-01-01T00:00:00Z");
}

/// Packages `charts` with the real helm, indexes them with `helm repo
/// index --url`, and reads the index with ours.
#[test]
fn helm_repo_index_output_loads() {
    let Some(helm) = Helm::find() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let charts = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/charts");
    let mut digests = Vec::new();
    for name in ["t-basic", "t-deps", "t-features", "globals"] {
        let out = helm
            .command()
            .arg("package")
            .arg(charts.join(name))
            .arg("-d")
            .arg(dir.path())
            .output()
            .expect("helm package");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for entry in std::fs::read_dir(dir.path()).expect("dir") {
        let p = entry.expect("entry").path();
        let data = std::fs::read(&p).expect("tgz");
        let name = p.file_name().expect("name").to_string_lossy().to_string();
        digests.push((name, repo::revision(&data)));
    }
    let out = helm
        .command()
        .arg("repo")
        .arg("index")
        .arg(dir.path())
        .arg("--url")
        .arg("https://charts.example.com/sub")
        .output()
        .expect("helm repo index");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let raw = std::fs::read(dir.path().join("index.yaml")).expect("index");
    let index = Index::load(&raw).expect("our load");
    assert_eq!(index.api_version, "v1");
    assert!(!index.generated.is_zero());
    let entries = index.entries.as_ref().expect("entries");
    assert_eq!(entries.len(), digests.len());
    for (file, digest) in &digests {
        let cv = entries
            .values()
            .flatten()
            .find(|cv| format!("{}-{}.tgz", cv.name(), cv.version()) == *file)
            .unwrap_or_else(|| panic!("{file} listed"));
        assert_eq!(format!("sha256:{}", cv.digest), *digest, "{file}");
        assert_eq!(
            repo::chart_url("https://ignored.example.com", cv).expect("url"),
            format!("https://charts.example.com/sub/{file}")
        );
        assert!(!cv.created.is_zero());
    }
    // The artifact reads back as the same index, and as JSON it is what
    // `json.MarshalIndent` writes (`{` first, two-space indents).
    let json = index.to_json();
    assert!(json.starts_with("{\n  \"apiVersion\": \"v1\",\n  \"generated\": \""));
    assert_eq!(Index::load(json.as_bytes()).expect("json").to_json(), json);
    let parsed: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    assert_eq!(
        parsed["entries"]["t-deps"][0]["dependencies"][0]["name"],
        "web"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

    /// Any edit of a real index: an error or an index, never a panic; an
    /// index's artifact JSON loads back to the same bytes.
    #[test]
    fn edited_indexes_never_panic_and_artifacts_round_trip(
        at in 0usize..AWKWARD.len(),
        cut in 0usize..40,
        insert in "[ -~\n\t\"'{}\\[\\]:,&*!|>-]{0,12}",
    ) {
        let mut text = AWKWARD.as_bytes().to_vec();
        let end = (at + cut).min(text.len());
        text.splice(at..end, insert.bytes());
        if let Ok(index) = Index::load(&text) {
            let json = index.to_json();
            let again = Index::load(json.as_bytes()).expect("our artifact loads");
            proptest::prop_assert_eq!(again.to_json(), json);
        }
    }
}
