//! Generated differential test (values × templates): random values trees
//! (every YAML 1.1 scalar trap, nesting, lists) rendered through a pool of
//! template snippets (printing with `%v`, `toYaml`, `toJson`, `range`,
//! `default`, `quote`, `typeOf`, `tpl`, `include`, `index`, comparisons),
//! sometimes with `--set` values on top, by helm v4.2.4 and by ours; the
//! bytes (or the error texts) must be the same. Fixed seeds in CI;
//! `FERROFLUX_HELM_GEN_SEED` and `FERROFLUX_HELM_GEN_CASES` explore more.

use std::fmt::Write as _;
use std::path::Path;

use ferroflux_testkit::helm::Helm;

use crate::common::{helm_template, ours_template};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const KEYS: &[&str] = &[
    "a",
    "b",
    "name",
    "enabled",
    "port",
    "list",
    "dotted.key",
    "y",
    "on",
    "1",
    "a10",
    "a2",
    "_x",
    "Upper",
    "with space",
    "image",
    "tag",
    "replicas",
];

const SCALARS: &[&str] = &[
    "0",
    "1",
    "8080",
    "1000000",
    "1234567",
    "0.5",
    "1.5e-7",
    "-3",
    "3.0",
    "\"hello world\"",
    "yes",
    "\"yes\"",
    "\"010\"",
    "010",
    "0x1F",
    "\"\"",
    "'a: b'",
    "'- x'",
    "'#c'",
    "' lead'",
    "\"multi\\nline\\n\"",
    "üñí",
    "true",
    "false",
    "null",
    "~",
    "\"this is a long string with spaces that goes well past the eighty column limit of yaml v2 emitters\"",
    "2001-01-01",
    "\"2001-01-01\"",
    "1_000",
    "\"<tag>&\"",
    "nginx:1.25",
    "[]",
    "{}",
];

/// A values tree as YAML text, and the paths of its leaves and maps.
struct Tree {
    yaml: String,
    leaves: Vec<Vec<String>>,
    maps: Vec<Vec<String>>,
    lists: Vec<Vec<String>>,
}

fn tree(rng: &mut Rng) -> Tree {
    let mut t = Tree {
        yaml: String::new(),
        leaves: Vec::new(),
        maps: Vec::new(),
        lists: Vec::new(),
    };
    map(rng, &mut t, 0, &mut Vec::new());
    t
}

fn map(rng: &mut Rng, t: &mut Tree, depth: usize, path: &mut Vec<String>) {
    let n = 1 + rng.below(if depth == 0 { 6 } else { 4 });
    let mut used = Vec::new();
    for _ in 0..n {
        let key = *rng.pick(KEYS);
        if used.contains(&key) {
            continue;
        }
        used.push(key);
        let indent = "  ".repeat(depth);
        let yaml_key = if key.contains([' ', '.']) || key == "1" || key == "y" || key == "on" {
            format!("\"{key}\"")
        } else {
            key.to_string()
        };
        path.push(key.to_string());
        match (rng.below(10), depth < 3) {
            (0..=2, true) => {
                let _ = writeln!(t.yaml, "{indent}{yaml_key}:");
                t.maps.push(path.clone());
                map(rng, t, depth + 1, path);
            }
            (3, true) => {
                let _ = writeln!(t.yaml, "{indent}{yaml_key}:");
                t.lists.push(path.clone());
                for _ in 0..1 + rng.below(3) {
                    let _ = writeln!(t.yaml, "{indent}- {}", rng.pick(SCALARS));
                }
            }
            _ => {
                let _ = writeln!(t.yaml, "{indent}{yaml_key}: {}", rng.pick(SCALARS));
                t.leaves.push(path.clone());
            }
        }
        path.pop();
    }
}

/// `.Values.a.b`, or `index` where a key is not an identifier.
fn access(path: &[String]) -> String {
    let ident = |k: &str| {
        k.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    if path.iter().all(|k| ident(k)) {
        format!(".Values.{}", path.join("."))
    } else {
        let keys: Vec<String> = path.iter().map(|k| format!("{k:?}")).collect();
        format!("(index .Values {})", keys.join(" "))
    }
}

fn snippet(rng: &mut Rng, t: &Tree) -> String {
    let leaf = if t.leaves.is_empty() {
        ".Values.nothing".to_string()
    } else {
        access(rng.pick::<Vec<String>>(&t.leaves))
    };
    let any_map = if t.maps.is_empty() {
        ".Values".to_string()
    } else {
        access(rng.pick::<Vec<String>>(&t.maps))
    };
    let list = if t.lists.is_empty() {
        "(list 1 2)".to_string()
    } else {
        access(rng.pick::<Vec<String>>(&t.lists))
    };
    match rng.below(22) {
        0 => "{{ toYaml .Values }}".to_string(),
        1 => "{{ toJson .Values }}".to_string(),
        2 => format!("{{{{ {leaf} }}}}"),
        3 => format!("{{{{ {leaf} | quote }}}}"),
        4 => format!("{{{{ default \"dflt\" {leaf} }}}}"),
        5 => format!("{{{{ if {leaf} }}}}truthy{{{{ else }}}}falsy{{{{ end }}}}"),
        6 => format!("{{{{ typeOf {leaf} }}}} {{{{ kindOf {leaf} }}}}"),
        7 => format!(
            "{{{{- range $k, $v := {any_map} }}}}\n{{{{ $k }}}}={{{{ $v }}}}\n{{{{- end }}}}"
        ),
        8 => format!("{{{{ toYaml {any_map} }}}}"),
        9 => format!("{{{{ {any_map} }}}}"),
        10 => format!(
            "{{{{- range $i, $e := {list} }}}}\n{{{{ $i }}}}: {{{{ $e | toString | quote }}}}\n{{{{- end }}}}"
        ),
        11 => format!("{{{{ len {list} }}}} {{{{ first {list} }}}} {{{{ toJson {list} }}}}"),
        12 => format!("{{{{ {leaf} | toString | upper | trunc 20 }}}}"),
        13 => format!("{{{{ printf \"%v|%s|%T\" {leaf} ({leaf} | toString) {leaf} }}}}"),
        14 => format!("{{{{ tpl (toYaml {any_map}) . }}}}"),
        15 => format!("{{{{ include \"gen.helper\" {leaf} }}}}"),
        16 => format!("{{{{ eq ({leaf} | toString) \"1\" }}}} {{{{ empty {leaf} }}}}"),
        17 => format!("{{{{ toYamlPretty {any_map} }}}}"),
        18 => format!("{{{{ {any_map} | toJson | fromJson | toYaml }}}}"),
        19 => format!(
            "{{{{ hasKey {any_map} \"a\" }}}} {{{{ keys {any_map} | sortAlpha | join \",\" }}}}"
        ),
        20 => format!(
            "{{{{ $d := deepCopy {any_map} }}}}{{{{ $_ := set $d \"added\" 1 }}}}{{{{ toJson $d }}}}"
        ),
        _ => format!("{{{{ {leaf} | b64enc }}}} {{{{ {leaf} | toString | sha256sum | trunc 8 }}}}"),
    }
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

fn case(rng: &mut Rng, dir: &Path, i: usize) -> Vec<String> {
    let t = tree(rng);
    write(
        dir,
        "Chart.yaml",
        &format!("apiVersion: v2\nname: gen{i}\nversion: 0.1.{i}\n"),
    );
    write(dir, "values.yaml", &t.yaml);
    write(
        dir,
        "templates/_helpers.tpl",
        "{{- define \"gen.helper\" -}}[{{ . }}|{{ typeOf . }}]{{- end -}}\n",
    );
    for j in 0..4 {
        let s = snippet(rng, &t);
        write(
            dir,
            &format!("templates/{j}.yaml"),
            &format!(
                "{{{{- define \"snip{j}\" -}}}}\n{s}\n{{{{- end -}}}}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gen-{j}\ndata:\n  out: |\n    {{{{- include \"snip{j}\" . | nindent 4 }}}}\n"
            ),
        );
    }
    let mut args = vec!["rel".to_string()];
    if rng.below(3) == 0 && !t.leaves.is_empty() {
        let path = rng.pick::<Vec<String>>(&t.leaves).join(".");
        if !path.contains([' ', '\\']) {
            let v = *rng.pick(&["7", "true", "x y", "null", "010", "1.5", "{a,b}"]);
            args.push("--set".into());
            args.push(format!("{path}={v}"));
        }
    }
    args.push(dir.display().to_string());
    args
}

#[test]
fn generated_values_and_templates_render_as_helm_renders_them() {
    let Some(helm) = Helm::find() else { return };
    let seed = std::env::var("FERROFLUX_HELM_GEN_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_f00d_u64);
    let cases = std::env::var("FERROFLUX_HELM_GEN_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let mut rng = Rng(seed);
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut failures = Vec::new();
    for i in 0..cases {
        let dir = tmp.path().join(format!("c{i}"));
        let args = case(&mut rng, &dir, i);
        let want = helm_template(&helm, &args);
        let got = ours_template(&args);
        if want != got {
            let values = std::fs::read_to_string(dir.join("values.yaml")).unwrap_or_default();
            let mut templates = String::new();
            for j in 0..4 {
                templates.push_str(
                    &std::fs::read_to_string(dir.join(format!("templates/{j}.yaml")))
                        .unwrap_or_default(),
                );
            }
            failures.push(format!(
                "case {i} ({}):\nvalues.yaml:\n{values}\ntemplates:\n{templates}\n--- helm:\n{}\n--- ours:\n{}",
                args.join(" "),
                want.unwrap_or_else(|e| format!("ERROR: {e}")),
                got.unwrap_or_else(|e| format!("ERROR: {e}")),
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} generated cases differ (seed {seed:#x}):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
