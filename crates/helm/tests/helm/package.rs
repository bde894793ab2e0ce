//! `package`: charts written back as `helm package` writes them, checked
//! against the real helm v4.2.4: the same entries (names, modes, sizes,
//! bytes) and header fields but the times, the same gzip header; our
//! package loads back to the same chart and `helm template` renders it as
//! it renders the directory. And source-controller's build: values files
//! merged into `values.yaml`, version metadata.

use std::io::Read;
use std::path::{Path, PathBuf};

use ferroflux_helm::chart::{File, IgnoreRules, load_archive, load_dir};
use ferroflux_helm::package::{self, BuildOptions};
use ferroflux_kustomize::fs::DiskFs;
use ferroflux_testkit::helm::Helm;

/// A chart directory's files as `helm package` reads them: lexical walk,
/// `.helmignore` with its default rule.
fn chart_files(root: &Path) -> Vec<File> {
    let mut rules = match std::fs::read_to_string(root.join(".helmignore")) {
        Ok(t) => IgnoreRules::parse(&t).expect("helmignore"),
        Err(_) => IgnoreRules::default(),
    };
    rules.add_defaults();
    let mut out = Vec::new();
    walk(root, "", &rules, &mut out);
    out
}

fn walk(dir: &Path, rel: &str, rules: &IgnoreRules, out: &mut Vec<File>) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    for name in names {
        let path = dir.join(&name);
        let n = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        if path.is_dir() {
            if !rules.ignore(&n, true) {
                walk(&path, &n, rules, out);
            }
        } else if !rules.ignore(&n, false) {
            let mut data = std::fs::read(&path).expect("file");
            if data.starts_with(&[0xEF, 0xBB, 0xBF]) {
                data.drain(..3);
            }
            out.push(File { name: n, data });
        }
    }
}

/// One tar entry: its 512-byte header and content.
struct Entry {
    header: Vec<u8>,
    name: String,
    data: Vec<u8>,
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .expect("gzip");
    out
}

fn entries(tgz: &[u8]) -> Vec<Entry> {
    let tar = gunzip(tgz);
    let mut out = Vec::new();
    let mut at = 0;
    while at + 512 <= tar.len() && tar[at..at + 512].iter().any(|b| *b != 0) {
        let h = &tar[at..at + 512];
        let field = |r: std::ops::Range<usize>| {
            String::from_utf8_lossy(&h[r])
                .trim_end_matches('\0')
                .to_string()
        };
        let size = usize::from_str_radix(field(124..135).trim(), 8).expect("size");
        let prefix = field(345..500);
        let short = field(0..100);
        let name = if prefix.is_empty() {
            short
        } else {
            format!("{prefix}/{short}")
        };
        out.push(Entry {
            header: h.to_vec(),
            name,
            data: tar[at + 512..at + 512 + size].to_vec(),
        });
        at += 512 + size.div_ceil(512) * 512;
    }
    out
}

/// The gzip header up to the compressed stream (fixed fields, extra,
/// comment).
fn gzip_header(tgz: &[u8]) -> &[u8] {
    let xlen = usize::from(u16::from_le_bytes([tgz[10], tgz[11]]));
    let mut end = 12 + xlen;
    while tgz[end] != 0 {
        end += 1;
    }
    &tgz[..=end]
}

fn test_chart(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/charts")
        .join(name)
}

fn helm_package(helm: &Helm, dir: &Path, out: &Path) -> Vec<u8> {
    let run = helm
        .command()
        .arg("package")
        .arg(dir)
        .arg("-d")
        .arg(out)
        .output()
        .expect("helm package");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    let path = stdout
        .trim()
        .rsplit(": ")
        .next()
        .expect("saved to")
        .to_string();
    std::fs::read(path).expect("package")
}

/// Charts of ours and of Helm's module (`Chart.lock`, a v1 chart with
/// `requirements.yaml`, archived subcharts).
fn package_cases() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = [
        "t-basic",
        "t-deps",
        "t-features",
        "globals",
        "imports",
        "schema",
        "enable",
    ]
    .iter()
    .map(|n| test_chart(n))
    .collect();
    if let Some(module) = Helm::module_dir() {
        for rel in [
            "pkg/chart/v2/util/testdata/frobnitz",
            "pkg/chart/v2/loader/testdata/frobnitz.v1",
            "pkg/cmd/testdata/testcharts/reqtest",
            "pkg/action/testdata/charts/chart-with-compressed-dependencies",
        ] {
            let p = module.join(rel);
            if p.is_dir() {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn packages_hold_what_helm_package_writes() {
    let Some(helm) = Helm::find() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut compared = 0;
    for dir in package_cases() {
        let ours = package::package(chart_files(&dir), 1_700_000_000).expect("package");
        let fs = DiskFs::new(&dir).expect("fs");
        let from_fs = package::package_dir(&fs, &dir, 1_700_000_000).expect("package_dir");
        assert!(
            from_fs.data == ours.data,
            "{}: package_dir differs",
            dir.display()
        );
        let theirs = helm_package(&helm, &dir, tmp.path());
        let what = dir.display();
        assert_eq!(
            gzip_header(&ours.data),
            gzip_header(&theirs),
            "{what}: gzip header"
        );
        let ours_e = entries(&ours.data);
        let mut theirs_e = entries(&theirs);
        assert_eq!(ours_e.len(), theirs_e.len(), "{what}: entry count");
        // Helm orders subcharts by Go map iteration (random): compare each
        // of our entries with helm's of the same name, and the order of the
        // root chart's own entries.
        let root_order = |es: &[Entry]| -> Vec<String> {
            es.iter()
                .map(|e| e.name.clone())
                .filter(|n| !n.split('/').any(|s| s == "charts"))
                .collect()
        };
        assert_eq!(root_order(&ours_e), root_order(&theirs_e), "{what}: order");
        for e in &ours_e {
            let i = theirs_e
                .iter()
                .position(|t| t.name == e.name)
                .unwrap_or_else(|| panic!("{what}: helm has no {}", e.name));
            let t = theirs_e.remove(i);
            assert_eq!(
                String::from_utf8_lossy(&e.data),
                String::from_utf8_lossy(&t.data),
                "{what}: {}",
                e.name
            );
            // Every header byte but mtime (136..148) and checksum (148..156).
            let strip = |h: &[u8]| [&h[..136], &h[156..]].concat();
            assert_eq!(
                strip(&e.header),
                strip(&t.header),
                "{what}: header of {}",
                e.name
            );
        }
        // Our package loads back to the chart helm's package loads to, and
        // to the directory's chart (but for a v1 chart's Chart.yaml
        // `dependencies`, which `helm package` drops as well).
        let fs = DiskFs::new(&dir).expect("fs");
        let from_dir = load_dir(&fs, &dir).expect("dir");
        let from_ours = load_archive(&ours.data).expect("ours loads");
        let from_theirs = load_archive(&theirs).expect("helm's loads");
        assert!(
            from_ours == from_theirs,
            "{what}: reloaded differs from helm's package"
        );
        if from_dir.metadata.api_version != "v1" || from_dir.metadata.dependencies.is_empty() {
            assert!(
                from_ours == from_dir,
                "{what}: reloaded differs from the directory"
            );
        }
        assert_eq!(
            ours.file_name,
            format!("{}-{}.tgz", from_dir.name(), from_dir.metadata.version)
        );
        compared += 1;
    }
    assert!(compared >= 7, "{compared}");
}

#[test]
fn helm_renders_our_package_as_the_directory() {
    let Some(helm) = Helm::find() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    for name in ["t-basic", "t-deps", "t-features", "globals", "imports"] {
        let dir = test_chart(name);
        let ours = package::package(chart_files(&dir), 1_700_000_000).expect("package");
        let tgz = tmp.path().join(&ours.file_name);
        std::fs::write(&tgz, &ours.data).expect("write");
        let a = helm.template(&[Path::new("rel").as_os_str(), dir.as_os_str()]);
        let b = helm.template(&[Path::new("rel").as_os_str(), tgz.as_os_str()]);
        assert!(a.ok, "{name}: {}", a.stderr);
        assert_eq!(b.stdout, a.stdout, "{name}: {}", b.stderr);
    }
}

#[test]
fn build_merges_values_files_as_source_controller() {
    let Some(helm) = Helm::find() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = test_chart("t-basic");
    let mut files = chart_files(&dir);
    files.push(File {
        name: "ci/prod.yaml".into(),
        data: b"replicaCount: 5\nimage:\n  tag: \"9.9\"\nextra: {a: 1}\n".to_vec(),
    });
    let opts = BuildOptions {
        values_files: vec![
            "values.yaml".into(),
            "./ci/prod.yaml".into(),
            "missing.yaml".into(),
        ],
        ignore_missing_values_files: true,
        version_metadata: package::version_metadata(Some("0123456789abcdef0123"), Some(4)),
        mtime: 1_700_000_000,
    };
    let built = package::build(files.clone(), &opts).expect("build");
    assert_eq!(built.values_files, ["values.yaml", "./ci/prod.yaml"]);
    assert_eq!(built.package.version, "0.3.1+0123456789ab.4");
    assert_eq!(built.package.file_name, "t-basic-0.3.1+0123456789ab.4.tgz");
    let chart = load_archive(&built.package.data).expect("loads");
    assert_eq!(chart.metadata.version, "0.3.1+0123456789ab.4");
    assert_eq!(chart.values["replicaCount"], 5.0);
    assert_eq!(chart.values["image"]["tag"], "9.9");
    // The rest of values.yaml is kept, merged under the file.
    assert!(chart.values["image"]["repository"].is_string());
    // helm renders the built package as the directory with both files.
    let tgz = tmp.path().join(&built.package.file_name);
    std::fs::write(&tgz, &built.package.data).expect("write");
    let prod = tmp.path().join("prod.yaml");
    std::fs::write(&prod, &files.last().expect("prod").data).expect("write");
    let a = helm.template(&[
        Path::new("rel").as_os_str(),
        dir.as_os_str(),
        "-f".as_ref(),
        prod.as_os_str(),
    ]);
    let b = helm.template(&[Path::new("rel").as_os_str(), tgz.as_os_str()]);
    assert!(a.ok, "{}", a.stderr);
    assert_eq!(
        b.stdout
            .replace("0.3.1+0123456789ab.4", "0.3.1")
            .replace("0.3.1_0123456789ab.4", "0.3.1"),
        a.stdout
    );

    // Only values.yaml: no merge, no repackaging of values.
    let plain = package::build(
        files.clone(),
        &BuildOptions {
            values_files: vec!["./values.yaml".into()],
            ..BuildOptions::default()
        },
    )
    .expect("build");
    assert!(plain.values_files.is_empty());
    assert_eq!(plain.package.version, "0.3.1");
    // A missing file is an error unless ignored.
    let err = package::build(
        files,
        &BuildOptions {
            values_files: vec!["values.yaml".into(), "nope.yaml".into()],
            ..BuildOptions::default()
        },
    )
    .expect_err("missing");
    assert_eq!(err.message, "no values file found at path 'nope.yaml'");
}

#[test]
fn build_errors_are_source_controllers() {
    let chart = |extra: Vec<File>| {
        let mut files = vec![
            File {
                name: "Chart.yaml".into(),
                data: b"apiVersion: v2\nname: c\nversion: 1.0\n".to_vec(),
            },
            File {
                name: "values.yaml".into(),
                data: b"a: 1\n".to_vec(),
            },
        ];
        files.extend(extra);
        files
    };
    let bad = File {
        name: "bad.yaml".into(),
        data: b"a: [\n".to_vec(),
    };
    let err = package::build(
        chart(vec![bad]),
        &BuildOptions {
            values_files: vec!["bad.yaml".into()],
            ..BuildOptions::default()
        },
    )
    .expect_err("bad yaml");
    assert!(
        err.message
            .starts_with("unmarshaling values from 'bad.yaml' failed: "),
        "{err}"
    );
    // A loose chart version is normalised when metadata is set.
    assert_eq!(
        package::set_version_metadata("v1.0", "abc").as_deref(),
        Ok("1.0.0+abc")
    );
    assert_eq!(
        package::set_version_metadata("1.2.3-rc.1+old", "7").as_deref(),
        Ok("1.2.3-rc.1+7")
    );
    assert!(package::set_version_metadata("1.0.0", "a..b").is_err());
    assert!(package::set_version_metadata("latest", "1").is_err());
    assert_eq!(package::version_metadata(None, None), "");
    assert_eq!(package::version_metadata(Some("abc"), None), "abc");
    assert_eq!(package::version_metadata(None, Some(3)), "3");
    // Without a values.yaml there is nothing to replace.
    let err = package::build(
        vec![
            File {
                name: "Chart.yaml".into(),
                data: b"apiVersion: v2\nname: c\nversion: 1.0.0\n".to_vec(),
            },
            File {
                name: "v.yaml".into(),
                data: b"a: 1\n".to_vec(),
            },
        ],
        &BuildOptions {
            values_files: vec!["v.yaml".into()],
            ..BuildOptions::default()
        },
    )
    .expect_err("no values.yaml");
    assert_eq!(err.message, "failed to locate values file: values.yaml");
    // A schema that is not JSON cannot be packaged (Helm's words).
    let err = package::package(
        chart(vec![File {
            name: "values.schema.json".into(),
            data: b"{nope".to_vec(),
        }]),
        0,
    )
    .expect_err("schema");
    assert_eq!(err.message, "invalid JSON in values.schema.json");
    // A Chart.lock whose time does not parse (helm's loader refuses it too).
    let err = package::package(
        chart(vec![File {
            name: "Chart.lock".into(),
            data: b"generated: yesterday\ndigest: sha256:x\ndependencies: []\n".to_vec(),
        }]),
        0,
    )
    .expect_err("lock");
    assert!(
        err.message
            .starts_with("cannot load Chart.lock: parsing time \"yesterday\""),
        "{err}"
    );
    // A good one is re-marshalled, its entry stamped with `generated`.
    let p = package::package(
        chart(vec![File {
            name: "Chart.lock".into(),
            data: b"digest: sha256:x\ngenerated: \"2020-01-02T03:04:05.6+01:00\"\ndependencies:\n- name: a\n  repository: https://e.com\n  version: 1.0.0\n".to_vec(),
        }]),
        0,
    )
    .expect("lock");
    let lock = entries(&p.data)
        .into_iter()
        .find(|e| e.name == "c/Chart.lock")
        .expect("lock entry");
    assert_eq!(
        String::from_utf8_lossy(&lock.data),
        "dependencies:\n- name: a\n  repository: https://e.com\n  version: 1.0.0\ndigest: sha256:x\ngenerated: \"2020-01-02T03:04:05.6+01:00\"\n"
    );
    // 02:04:05.6 UTC, rounded to the second as Go's tar writer does.
    assert_eq!(
        &lock.header[136..148],
        format!("{:011o}\0", 1_577_930_646u64).as_bytes()
    );
    // A v3 chart directory is refused as helm template refuses it.
    let v3 = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        v3.path().join("Chart.yaml"),
        "apiVersion: v3\nname: c\nversion: 1.0.0\n",
    )
    .expect("write");
    let fs = DiskFs::new(v3.path()).expect("fs");
    assert_eq!(
        package::package_dir(&fs, v3.path(), 0)
            .expect_err("v3")
            .message,
        "invalid chart apiVersion (Chart.yaml)"
    );
    // A chart that does not load is not packaged.
    assert!(package::package(vec![], 0).is_err());
    // Names past USTAR's 255 bytes are refused, not truncated.
    let long = File {
        name: format!("files/{}", "x".repeat(300)),
        data: b"x".to_vec(),
    };
    assert!(
        package::package(chart(vec![long]), 0)
            .expect_err("long")
            .message
            .starts_with("file name too long to package")
    );
    // Long but splittable names use the USTAR prefix and load back.
    let deep = File {
        name: format!("files/{}/{}", "d".repeat(120), "f".repeat(90)),
        data: b"deep".to_vec(),
    };
    let p = package::package(chart(vec![deep.clone()]), 0).expect("prefix");
    let c = load_archive(&p.data).expect("loads");
    assert!(
        c.files
            .iter()
            .any(|f| f.name == deep.name && f.data == deep.data)
    );
}
