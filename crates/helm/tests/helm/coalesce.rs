//! Values coalescing and dependency processing (helm-semantics.md §2.5,
//! §3.4–§3.6) against helm on the charts under `tests/charts/`: every
//! rendered chart's `.Values` and `.Chart` (root and subcharts, aliases,
//! conditions, tags, globals, null deletion, import-values, exports), with
//! several user value sets each.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ferroflux_helm::chart::{Chart, File, load_dir, load_files};
use ferroflux_helm::values::{self, Options, prepare};
use ferroflux_kustomize::fs::DiskFs;
use ferroflux_testkit::helm::Helm;
use serde_json::{Map, Value, json};

use crate::common::numbers_as_f64;

fn charts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/charts")
}

/// What each template printed, by its `# Source:` path.
fn split_sources(stdout: &str) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for doc in stdout.split("---\n").filter(|d| !d.trim().is_empty()) {
        let mut lines = doc.lines();
        let source = lines
            .next()
            .and_then(|l| l.strip_prefix("# Source: "))
            .expect("a # Source: line")
            .to_string();
        let body: String = lines.collect::<Vec<_>>().join("\n");
        let v: Value = serde_json::from_str(&body).expect("JSON");
        out.insert(source, v);
    }
    out
}

/// Ours: each chart of the prepared tree with its `.Values` and `.Chart`,
/// keyed as helm names the template.
fn ours(
    chart: &Chart,
    values: &Map<String, Value>,
    prefix: &str,
    root: bool,
) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let path = format!("{prefix}{}", chart.name());
    let mut md = Value::Object(chart.metadata.go_map.clone());
    md["IsRoot"] = json!(root);
    out.insert(
        format!("{path}/templates/v.yaml"),
        json!({"values": Value::Object(values.clone()), "chart": md}),
    );
    for sub in &chart.dependencies {
        let sv = match values.get(sub.name()) {
            Some(Value::Object(m)) => m.clone(),
            _ => Map::new(),
        };
        out.extend(ours(sub, &sv, &format!("{path}/charts/"), false));
    }
    out
}

fn compare(helm: &Helm, chart: &str, flags: &[(&str, &str)]) {
    let dir = charts_dir().join(chart);
    let mut args = vec![dir.display().to_string()];
    let mut opts = Options::default();
    for (i, (flag, v)) in flags.iter().enumerate() {
        match *flag {
            "-f" => {
                let name = helm.home.path().join(format!("{chart}-{i}.yaml"));
                std::fs::write(&name, v).expect("write");
                args.extend(["-f".to_string(), name.display().to_string()]);
                opts.values_files
                    .push((name.display().to_string(), v.to_string()));
                continue;
            }
            "--set" => opts.set.push(v.to_string()),
            "--set-string" => opts.set_string.push(v.to_string()),
            "--set-json" => opts.set_json.push(v.to_string()),
            other => panic!("{other}"),
        }
        args.push(format!("{flag}={v}"));
    }
    let run = helm.template(&args);
    let user = opts.merge(&mut |_| Err("no files".into())).expect("flags");
    let fs = DiskFs::new(&dir).expect("chart dir");
    let loaded = load_dir(&fs, &dir).expect("load");
    match prepare(loaded, user) {
        Ok((tree, vals)) => {
            assert!(run.ok, "{chart} {flags:?}: helm failed: {}", run.stderr);
            let theirs = split_sources(&run.stdout);
            // helm names the root by the directory it loaded.
            let ours = ours(&tree, &vals, "", true);
            let ours: BTreeMap<String, Value> = ours
                .into_iter()
                .map(|(k, v)| (k, numbers_as_f64(&v)))
                .collect();
            let theirs: BTreeMap<String, Value> = theirs
                .into_iter()
                .map(|(k, v)| (k, numbers_as_f64(&v)))
                .collect();
            assert_eq!(
                ours.keys().collect::<Vec<_>>(),
                theirs.keys().collect::<Vec<_>>(),
                "{chart} {flags:?}: rendered charts"
            );
            for (k, v) in &ours {
                assert_eq!(
                    v["values"], theirs[k]["values"],
                    "{chart} {flags:?}: .Values of {k}"
                );
                assert_eq!(
                    v["chart"], theirs[k]["chart"],
                    "{chart} {flags:?}: .Chart of {k}"
                );
            }
        }
        Err(e) => {
            assert!(!run.ok, "{chart} {flags:?}: we failed ({e}), helm did not");
            // helm logs the error once more before it: the last line is the error.
            let last = run.stderr.trim_end().lines().last().unwrap_or("");
            assert_eq!(last, format!("Error: {e}"), "{chart} {flags:?}");
        }
    }
}

#[test]
fn globals_nulls_and_subchart_scoping_match_helm() {
    let Some(helm) = Helm::find() else { return };
    for flags in [
        vec![],
        vec![(
            "--set",
            "global.a=9,top=null,deep.gone=null,sub1.own=null,sub1.sub2.mine=null",
        )],
        vec![(
            "-f",
            "global:\n  nested: {x: 5, y: {q: 1}}\n  table: {k2: v2}\nsub1:\n  global: {b: 7, a: 8}\n  obj: null\nlist:\n  items: null\n  m: {b: 2}\nnew: null\n",
        )],
        vec![
            (
                "--set-json",
                "sub1={\"sub2\":{\"global\":{\"c\":5}},\"del\":2}",
            ),
            ("--set", "list.m=scalar"),
        ],
        vec![("--set", "global=scalar")],
        vec![("--set", "sub1=scalar")],
    ] {
        compare(&helm, "globals", &flags);
    }
}

#[test]
fn conditions_tags_and_aliases_match_helm() {
    let Some(helm) = Helm::find() else { return };
    for flags in [
        vec![],
        vec![("--set", "tags.front=false,tags.back=true")],
        vec![("--set", "a.enabled=false,b2.on=true,d.enabled=false")],
        vec![("--set", "a.aa.enabled=false,tags.front=null")],
        vec![("--set", "tags=null,a=null")],
        vec![("--set-string", "a.enabled=false")],
        vec![(
            "-f",
            "tags:\n  back: true\nc:\n  who: user\nb1:\n  who: one\n",
        )],
    ] {
        compare(&helm, "enable", &flags);
    }
}

#[test]
fn import_values_and_exports_match_helm() {
    let Some(helm) = Helm::find() else { return };
    for flags in [
        vec![],
        vec![(
            "--set",
            "d1=user,twins.d1=user2,child.exports.data.d1=ignored",
        )],
        vec![("-f", "fromchild:\n  deep: null\nt1: null\n")],
    ] {
        compare(&helm, "imports", &flags);
    }
}

fn file(name: &str, data: &str) -> File {
    File {
        name: name.into(),
        data: data.as_bytes().to_vec(),
    }
}

#[test]
fn coalesce_rules_without_helm() {
    let chart = load_files(vec![
        file("Chart.yaml", "apiVersion: v2\nname: p\nversion: 1.0.0\n"),
        file(
            "values.yaml",
            "a: 1\nm: {x: 1, q: 2, n: null}\nl: [1, 2]\nn: null\ns: {k: 1}\n",
        ),
        file(
            "charts/sub/Chart.yaml",
            "apiVersion: v2\nname: sub\nversion: 1.0.0\n",
        ),
        file(
            "charts/sub/values.yaml",
            "global: {g: sub, only: sub}\nv: sub\n",
        ),
    ])
    .unwrap();
    let user = json!({"a": null, "m": {"q": null, "z": 3}, "l": [9], "u": null, "s": "flat",
                      "global": {"g": "user"}});
    let Value::Object(user) = user else {
        unreachable!()
    };
    let (_, vals) = prepare(chart, user).unwrap();
    assert_eq!(
        numbers_as_f64(&Value::Object(vals)),
        numbers_as_f64(&json!({
            "m": {"x": 1, "z": 3}, "l": [9], "u": null, "s": "flat",
            "global": {"g": "user"},
            "sub": {"global": {"g": "user", "only": "sub"}, "v": "sub"}
        }))
    );
    // A subchart key holding a scalar is Helm's type mismatch.
    let chart = load_files(vec![
        file("Chart.yaml", "apiVersion: v2\nname: p\nversion: 1.0.0\n"),
        file(
            "charts/sub/Chart.yaml",
            "apiVersion: v2\nname: sub\nversion: 1.0.0\n",
        ),
    ])
    .unwrap();
    let Value::Object(user) = json!({"sub": "x"}) else {
        unreachable!()
    };
    assert_eq!(
        values::coalesce_values(&chart, user).unwrap_err().message,
        "type mismatch on sub: %!t(string=x)"
    );
}

/// User values generated over the globals chart's keys: nulls, scalars,
/// lists and tables at paths that exist in the defaults (and some that do
/// not), 40 files, each compared with helm.
#[test]
fn generated_user_values_match_helm() {
    let Some(helm) = Helm::find() else { return };
    const PATHS: &[&str] = &[
        "top",
        "del",
        "deep.keep",
        "deep.gone",
        "deep.inner.n",
        "deep.inner.m",
        "deep",
        "nulled",
        "sub1.fromparent",
        "sub1.del",
        "sub1.obj.p",
        "sub1.obj.q",
        "sub1.obj.r",
        "sub1.obj",
        "sub1.own",
        "sub1.sub2.mine",
        "sub1.sub2.fromsub1",
        "sub1.sub2.global.c",
        "list.items",
        "list.m.a",
        "list.m",
        "global.a",
        "global.nested.x",
        "global.nested.y.z",
        "global.nested.y",
        "global.table.k",
        "global.table",
        "sub1.global.b",
        "sub1.global.nested.w",
        "sub1.global.nested.y.extra",
        "new.key",
    ];
    let leaves = [
        json!(null),
        json!(1),
        json!("s"),
        json!({}),
        json!({"k": "v", "n": null}),
        json!([1, {"a": null}]),
        json!(true),
    ];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..40 {
        let mut root = Map::new();
        let n = 1 + (next() % 6) as usize;
        for _ in 0..n {
            let path = PATHS[(next() % PATHS.len() as u64) as usize];
            let leaf = leaves[(next() % leaves.len() as u64) as usize].clone();
            let mut cur = &mut root;
            let segs: Vec<&str> = path.split('.').collect();
            for seg in &segs[..segs.len() - 1] {
                let slot = cur.entry(seg.to_string()).or_insert_with(|| json!({}));
                if !slot.is_object() {
                    *slot = json!({});
                }
                cur = slot.as_object_mut().expect("just made a map");
            }
            cur.insert(segs[segs.len() - 1].to_string(), leaf);
        }
        let text = serde_json::to_string(&Value::Object(root)).expect("json");
        // A subchart key that is not a table is compared as an error.
        compare(&helm, "globals", &[("-f", &text)]);
    }
}

/// Tags and conditions generated: true, false, strings, nulls and tables
/// at the paths the enable chart's dependencies look at.
#[test]
fn generated_conditions_and_tags_match_helm() {
    let Some(helm) = Helm::find() else { return };
    const PATHS: &[&str] = &[
        "tags.front",
        "tags.back",
        "tags",
        "a.enabled",
        "a.aa.enabled",
        "a",
        "b2.active",
        "nope.enabled",
        "d.enabled",
        "e.enabled",
        "b1",
        "c.enabled",
    ];
    let leaves = ["true", "false", "\"true\"", "null", "1", "{}"];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..30 {
        let n = 1 + (next() % 4) as usize;
        let sets: Vec<String> = (0..n)
            .map(|_| {
                let p = PATHS[(next() % PATHS.len() as u64) as usize];
                let l = leaves[(next() % leaves.len() as u64) as usize];
                format!("{p}: {l}")
            })
            .collect();
        // One document per setting, merged as helm merges documents.
        let text = sets
            .iter()
            .map(|s| {
                let (path, leaf) = s.split_once(": ").expect("pair");
                let segs: Vec<&str> = path.split('.').collect();
                let mut out = String::new();
                for (i, seg) in segs.iter().enumerate() {
                    out.push_str(&"  ".repeat(i));
                    out.push_str(seg);
                    out.push(':');
                    out.push(if i + 1 == segs.len() { ' ' } else { '\n' });
                }
                format!("{out}{leaf}\n")
            })
            .collect::<Vec<_>>()
            .join("---\n");
        compare(&helm, "enable", &[("-f", &text)]);
    }
}

/// The probes' documents only (tgz subcharts render their own templates).
fn probe_sources(stdout: &str) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for doc in stdout.split("---\n") {
        let mut lines = doc.lines();
        let Some(source) = lines.next().and_then(|l| l.strip_prefix("# Source: ")) else {
            continue;
        };
        if source.ends_with("/templates/v.yaml") {
            let body: String = lines.collect::<Vec<_>>().join("\n");
            out.insert(
                source.to_string(),
                serde_json::from_str(&body).expect("probe JSON"),
            );
        }
    }
    out
}

/// Copies `src` to `dst`, replacing every directory chart's `templates/`
/// (the root's and those under `charts/`) by the probe template.
fn copy_with_probes(src: &Path, dst: &Path, is_chart: bool) {
    std::fs::create_dir_all(dst).expect("mkdir");
    let mut names: Vec<_> = std::fs::read_dir(src)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    names.sort();
    for name in names {
        let (s, d) = (src.join(&name), dst.join(&name));
        let n = name.to_string_lossy();
        if is_chart && n == "templates" {
            continue;
        }
        if s.is_dir() {
            let sub_is_chart =
                src.file_name().is_some_and(|f| f == "charts") && s.join("Chart.yaml").is_file();
            copy_with_probes(&s, &d, sub_is_chart);
        } else {
            std::fs::copy(&s, &d).expect("copy");
        }
    }
    if is_chart {
        std::fs::create_dir_all(dst.join("templates")).expect("mkdir");
        std::fs::write(
            dst.join("templates/v.yaml"),
            "{{ dict \"values\" .Values \"chart\" .Chart | toJson }}\n",
        )
        .expect("write");
    }
}

/// Helm's own test charts (directories), their templates replaced by the
/// probe: every chart helm renders has our `.Values` and `.Chart`.
#[test]
fn helm_test_charts_values_match_helm() {
    let Some(helm) = Helm::find() else { return };
    let Some(module) = Helm::module_dir() else {
        return;
    };
    let mut compared = 0;
    for base in [
        "pkg/chart/v2/util/testdata",
        "pkg/cmd/testdata/testcharts",
        "pkg/chart/v2/loader/testdata",
    ] {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(module.join(base))
            .expect("testdata")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.join("Chart.yaml").is_file())
            .collect();
        dirs.sort();
        for src in dirs {
            let name = src.file_name().expect("name").to_string_lossy().to_string();
            let dst = helm.home.path().join("probes").join(&name);
            copy_with_probes(&src, &dst, true);
            let run = helm.template(&[dst.as_os_str()]);
            let fs = DiskFs::new(&dst).expect("dir");
            let Ok(loaded) = load_dir(&fs, &dst) else {
                assert!(!run.ok, "{name}: helm rendered what we could not load");
                continue;
            };
            let prepared = ferroflux_helm::chart::check_installable(&loaded)
                .and_then(|()| ferroflux_helm::chart::check_dependencies(&loaded))
                .map_err(|e| e.message)
                .and_then(|()| prepare(loaded, Map::new()).map_err(|e| e.message));
            let (tree, vals) = match prepared {
                Ok(p) => p,
                Err(e) => {
                    let last = run
                        .stderr
                        .trim_end()
                        .lines()
                        .last()
                        .unwrap_or("")
                        .to_string();
                    assert_eq!(last, format!("Error: {e}"), "{name}");
                    continue;
                }
            };
            if !run.ok {
                // Failing for a reason after values (a tgz subchart's own
                // templates, a schema): nothing to compare.
                continue;
            }
            let theirs = probe_sources(&run.stdout);
            let dir_name = dst.file_name().expect("name").to_string_lossy().to_string();
            let ours = ours(&tree, &vals, "", true);
            for (k, v) in theirs
                .iter()
                .filter(|(k, _)| k.ends_with("/templates/v.yaml"))
            {
                // helm names the root by its directory, we by Chart.yaml's name.
                let key = k.replacen(&dir_name, tree.name(), 1);
                let mine = ours
                    .get(&key)
                    .unwrap_or_else(|| panic!("{name}: {k} not rendered by us"));
                assert_eq!(
                    numbers_as_f64(&mine["values"]),
                    numbers_as_f64(&v["values"]),
                    "{name}: {k}"
                );
                assert_eq!(mine["chart"], v["chart"], "{name}: {k}");
                compared += 1;
            }
        }
    }
    eprintln!("helm test charts: .Values and .Chart of {compared} charts compared");
    assert!(compared > 40, "{compared}");
}
