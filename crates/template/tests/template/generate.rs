//! A random generator of templates and run data over the constructs the
//! engine supports, for the differential test. It leaves out what Go 1.19 /
//! sprig 3.2.3 (the oracle) does differently from Flux's build: `range` over
//! an integer, `else with`, and sprig's map-order-dependent `keys`/`values`
//! unless sorted.

use std::collections::BTreeMap;

use ferroflux_template::{AutomationRef, Change, LatestRef, ObjectRef, TemplateData};

use crate::support::Case;

/// SplitMix64: small, deterministic, good enough for picking constructs.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const WORDS: &[&str] = &[
    "a",
    "web",
    "prod",
    "x y",
    "",
    "<&>",
    "Ünï",
    "1.2.3",
    "-",
    "v1.0.0-rc.1",
];
const FILES: &[&str] = &[
    "web/deploy.yaml",
    "a.yaml",
    "z/k.yaml",
    "overlays/prod/p.yaml",
];
const KINDS: &[(&str, &str)] = &[
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("batch/v1", "CronJob"),
    ("kustomize.config.k8s.io/v1beta1", "Kustomization"),
];
const IMAGES: &[&str] = &[
    "myorg/web",
    "redis",
    "ghcr.io/s/podinfo",
    "localhost:5000/app",
    "docker.io/library/nginx",
];
const POLICIES: &[&str] = &["web", "redis", "info", "app"];

pub fn data(r: &mut Rng) -> TemplateData {
    let ns = r.pick(&["flux-system", "apps", ""]).to_string();
    let values = if r.chance(20) {
        None
    } else {
        let mut m = BTreeMap::new();
        for _ in 0..r.below(4) {
            m.insert(
                r.pick(&["env", "cluster", "team", "a b"]).to_string(),
                r.pick(WORDS).to_string(),
            );
        }
        Some(m)
    };
    let mut policies = BTreeMap::new();
    for p in POLICIES {
        if r.chance(70) {
            let digest = if r.chance(25) {
                format!("sha256:{}", "ab12".repeat(16))
            } else {
                String::new()
            };
            let name = if r.chance(2) {
                "Bad/Name".to_string()
            } else {
                r.pick(IMAGES).to_string()
            };
            policies.insert(
                format!("{ns}/{p}"),
                LatestRef {
                    name,
                    tag: r.pick(&["1.0.1", "v2", "latest"]).to_string(),
                    digest,
                },
            );
        }
    }
    let mut changes = Vec::new();
    for _ in 0..r.below(7) {
        let (api_version, kind) = *r.pick(KINDS);
        let policy = r.pick(POLICIES);
        let suffix = r.pick(&["", "", ":tag", ":name", ":digest"]);
        let setter = if r.chance(10) {
            "other:thing".to_string()
        } else {
            format!("{ns}:{policy}{suffix}")
        };
        changes.push(Change {
            file: r.pick(FILES).to_string(),
            object: ObjectRef {
                api_version: api_version.into(),
                kind: kind.into(),
                name: r.pick(&["web", "cache", ""]).to_string(),
                namespace: r.pick(&["prod", ""]).to_string(),
            },
            old_value: r.pick(WORDS).to_string(),
            new_value: if suffix.is_empty() {
                format!("{}:{}", r.pick(IMAGES), r.pick(&["1.0.1", "2"]))
            } else {
                r.pick(WORDS).to_string()
            },
            setter,
        });
    }
    TemplateData {
        automation: AutomationRef {
            name: r.pick(&["apps", "web-app", "x"]).to_string(),
            namespace: ns,
        },
        values,
        policies,
        changes,
    }
}

/// Expressions that give a list or a map (safe to `range` over in Go 1.19).
const RANGEABLE: &[&str] = &[
    ".Changed.Changes",
    ".Changed.Objects",
    ".Changed.FileChanges",
    ".Updated.Images",
    ".Updated.Files",
    ".Updated.Objects",
    ".Values",
    "(list 1 \"b\" 2.5)",
    "(splitList \",\" \"a,b,,c\")",
    "(dict \"k\" 1 \"j\" \"v\")",
    ".Values.nokey",
    "(list)",
];

const FIELDS: &[&str] = &[
    ".AutomationObject",
    ".AutomationObject.Name",
    ".AutomationObject.Namespace",
    ".AutomationObject.String",
    ".Values",
    ".Values.env",
    ".Values.team",
    ".Values.nokey",
    ".Changed",
    ".Changed.Changes",
    ".Changed.Objects",
    ".Changed.FileChanges",
    ".Updated.Images",
    ".Updated.Files",
    ".Updated.Objects",
    ".Foo",
    ".Changed.ImageResult",
    ".Values.env.x",
    "$",
    "$.AutomationObject.Name",
    ".",
];

const LITERALS: &[&str] = &[
    "\"s\"",
    "\"\"",
    "\"a\\tb\\n\"",
    "`raw`",
    "\"<b>&\"",
    "0",
    "1",
    "-2",
    "42",
    "2.5",
    "1e3",
    "'a'",
    "true",
    "false",
];

/// (name, min args, max args)
const FUNCS: &[(&str, usize, usize)] = &[
    ("len", 1, 1),
    ("index", 1, 2),
    ("print", 0, 3),
    ("printf", 1, 3),
    ("println", 0, 2),
    ("eq", 2, 3),
    ("ne", 2, 2),
    ("lt", 2, 2),
    ("le", 2, 2),
    ("and", 1, 3),
    ("or", 1, 3),
    ("not", 1, 1),
    ("html", 1, 2),
    ("js", 1, 1),
    ("urlquery", 1, 2),
    ("upper", 1, 1),
    ("lower", 1, 1),
    ("title", 1, 1),
    ("trim", 1, 1),
    ("trimPrefix", 2, 2),
    ("trimSuffix", 2, 2),
    ("replace", 3, 3),
    ("contains", 2, 2),
    ("hasPrefix", 2, 2),
    ("splitList", 2, 2),
    ("join", 2, 2),
    ("repeat", 2, 2),
    ("substr", 3, 3),
    ("trunc", 2, 2),
    ("abbrev", 2, 2),
    ("indent", 2, 2),
    ("nindent", 2, 2),
    ("quote", 1, 2),
    ("squote", 1, 2),
    ("cat", 1, 3),
    ("wrap", 2, 2),
    ("list", 0, 3),
    ("first", 1, 1),
    ("last", 1, 1),
    ("uniq", 1, 1),
    ("sortAlpha", 1, 1),
    ("append", 2, 2),
    ("has", 2, 2),
    ("without", 2, 3),
    ("compact", 1, 1),
    ("reverse", 1, 1),
    ("dict", 0, 4),
    ("get", 2, 2),
    ("hasKey", 2, 2),
    ("default", 2, 2),
    ("empty", 1, 1),
    ("coalesce", 1, 3),
    ("ternary", 3, 3),
    ("toJson", 1, 1),
    ("toPrettyJson", 1, 1),
    ("add", 1, 3),
    ("sub", 2, 2),
    ("mul", 1, 3),
    ("div", 2, 2),
    ("mod", 2, 2),
    ("max", 1, 3),
    ("min", 1, 3),
    ("b64enc", 1, 1),
    ("b64dec", 1, 1),
    ("sha256sum", 1, 1),
    ("sha1sum", 1, 1),
    ("toString", 1, 1),
    ("int", 1, 1),
    ("atoi", 1, 1),
    ("regexMatch", 2, 2),
    ("regexReplaceAll", 3, 3),
    ("squote", 1, 1),
    ("slice", 1, 3),
    ("kindOf", 1, 1),
];

/// printf formats with their verb counts: calls pass exactly that many
/// arguments, because `%!(EXTRA type=…)` would show the oracle's `main.X`
/// type names (the hand-picked cases cover EXTRA and MISSING).
const FORMATS: &[(&str, usize)] = &[
    ("\"%s\"", 1),
    ("\"%v-%d\"", 2),
    ("\"%q %x\"", 2),
    ("\"%5.2f|%-4s|\"", 2),
    ("\"%+v\"", 1),
    ("\"%03d %t\"", 2),
];

struct Gen<'a> {
    r: &'a mut Rng,
    vars: Vec<String>,
    in_range: bool,
    defines: Vec<String>,
}

impl Gen<'_> {
    fn operand(&mut self, depth: usize) -> String {
        match self.r.below(if depth == 0 { 3 } else { 5 }) {
            0 => self.r.pick(FIELDS).to_string(),
            1 => self.r.pick(LITERALS).to_string(),
            2 if !self.vars.is_empty() => {
                let v = self.r.pick(&self.vars).clone();
                if self.r.chance(30) {
                    format!("{v}.Name")
                } else {
                    v
                }
            }
            2 => self.r.pick(FIELDS).to_string(),
            _ => format!("({})", self.call(depth - 1)),
        }
    }

    fn call(&mut self, depth: usize) -> String {
        let (name, min, max) = *self.r.pick(FUNCS);
        let mut n = min + self.r.below(max - min + 1);
        let mut parts = vec![name.to_string()];
        if name == "printf" {
            let (format, verbs) = *self.r.pick(FORMATS);
            parts.push(format.to_string());
            n = verbs;
        }
        for i in 0..n {
            // b64dec of arbitrary text gives bytes that are not UTF-8, which
            // a Rust string cannot hold
            if name == "b64dec" {
                let inputs = [
                    "(b64enc .Values.env)",
                    "\"aGk=\"",
                    "\"s\"",
                    "\"a=b\"",
                    "\"YQ\"",
                    "\"YQ==x\"",
                ];
                parts.push(self.r.pick(&inputs).to_string());
            // Go's RE2 and Rust's regex disagree on some invalid patterns
            // (a stray `{`) and on which error to report first
            } else if name.starts_with("regex") && i == 0 {
                let patterns = [
                    "\"a+\"",
                    "\"[0-9]\"",
                    "\"(\"",
                    "\"x*\"",
                    "\"^w\"",
                    "\"(e)(b)\"",
                    "\"\\\\d+\"",
                    "\"\\\\w\\\\b\"",
                    "\"a{\"",
                    "\"[[.]\"",
                ];
                parts.push(self.r.pick(&patterns).to_string());
            // index on a string gives a uint8, a type this engine does not model
            } else if name == "index" && i == 0 {
                parts.push(self.r.pick(RANGEABLE).to_string());
            } else {
                parts.push(self.operand(depth));
            }
        }
        parts.join(" ")
    }

    fn pipeline(&mut self, depth: usize) -> String {
        let mut p = if self.r.chance(60) {
            self.call(depth)
        } else {
            self.operand(depth)
        };
        if self.r.chance(25) {
            let (mut name, mut min, mut max) = *self.r.pick(FUNCS);
            if name == "printf" {
                (name, min, max) = ("print", 0, 2);
            }
            let n = min.saturating_sub(1) + self.r.below(max - min.saturating_sub(1));
            let args: Vec<String> = (0..n.min(2)).map(|_| self.operand(0)).collect();
            p = format!("{p} | {name} {}", args.join(" "));
        }
        if self.r.chance(5) {
            p = format!(
                "keys (dict \"b\" 1 \"a\" 2) | sortAlpha | {}",
                self.r.pick(&["join \",\"", "len"])
            );
        }
        p
    }

    fn open(&mut self) -> String {
        const OPEN: &[&str] = &["{{", "{{", "{{- "];
        self.r.pick(OPEN).to_string()
    }

    fn close(&mut self) -> String {
        const CLOSE: &[&str] = &["}}", "}}", " -}}"];
        self.r.pick(CLOSE).to_string()
    }

    fn item(&mut self, depth: usize) -> String {
        let choice = self.r.below(if depth == 0 { 4 } else { 10 });
        let (o, c) = (self.open(), self.close());
        match choice {
            0 => self
                .r
                .pick(&["text ", "\n", "  - ", "a\n\nb", "|"])
                .to_string(),
            1 | 2 => format!("{o} {} {c}", self.pipeline(2)),
            3 => {
                let v = format!("$v{}", self.vars.len());
                let s = format!("{o} {v} := {} {c}", self.pipeline(1));
                self.vars.push(v);
                s
            }
            4 => {
                let cond = self.pipeline(1);
                let body = self.body(depth - 1);
                let mut s = format!("{o} if {cond} {c}{body}");
                if self.r.chance(40) {
                    s += &format!(
                        "{{{{ else if {} }}}}{}",
                        self.pipeline(1),
                        self.body(depth - 1)
                    );
                }
                if self.r.chance(50) {
                    s += &format!("{{{{ else }}}}{}", self.body(depth - 1));
                }
                s + "{{ end }}"
            }
            5 | 6 => {
                let over = self.r.pick(RANGEABLE).to_string();
                let mark = self.vars.len();
                let decl = match self.r.below(3) {
                    0 => String::new(),
                    1 => {
                        self.vars.push("$e".into());
                        "$e := ".into()
                    }
                    _ => {
                        self.vars.push("$k".into());
                        self.vars.push("$e".into());
                        "$k, $e := ".into()
                    }
                };
                let was = std::mem::replace(&mut self.in_range, true);
                let body = self.body(depth - 1);
                self.in_range = was;
                let else_part = if self.r.chance(30) {
                    format!("{{{{ else }}}}{}", self.body(depth - 1))
                } else {
                    String::new()
                };
                self.vars.truncate(mark);
                format!("{o} range {decl}{over} {c}{body}{else_part}{{{{ end }}}}")
            }
            7 => {
                let mark = self.vars.len();
                let s = format!(
                    "{o} with {} {c}{}{{{{ else }}}}{}{{{{ end }}}}",
                    self.pipeline(1),
                    self.body(depth - 1),
                    self.body(depth - 1)
                );
                self.vars.truncate(mark);
                s
            }
            8 if self.in_range => self
                .r
                .pick(&[
                    "{{ break }}",
                    "{{ continue }}",
                    "{{ if true }}{{ break }}{{ end }}",
                ])
                .to_string(),
            8 => "{{/* comment */}}".into(),
            _ => {
                if let Some(d) = self.defines.first().cloned() {
                    format!("{o} template \"{d}\" {} {c}", self.operand(0))
                } else {
                    "{{ template \"missing\" }}".to_string()
                }
            }
        }
    }

    fn body(&mut self, depth: usize) -> String {
        let n = 1 + self.r.below(3);
        let mark = self.vars.len();
        let s: String = (0..n).map(|_| self.item(depth)).collect();
        self.vars.truncate(mark);
        s
    }
}

pub fn template(r: &mut Rng) -> String {
    let mut g = Gen {
        r,
        vars: Vec::new(),
        in_range: false,
        defines: Vec::new(),
    };
    let mut out = String::new();
    if g.r.chance(15) {
        let body = g.body(1);
        out += &format!("{{{{ define \"t1\" }}}}{body}{{{{ end }}}}");
        g.defines.push("t1".into());
    }
    let n = 1 + g.r.below(4);
    for _ in 0..n {
        out += &g.item(3);
    }
    out
}

pub fn case(seed: u64) -> Case {
    let mut r = Rng::new(seed);
    let template = template(&mut r);
    let data = data(&mut r);
    Case {
        name: format!("seed-{seed}"),
        template,
        data,
    }
}
