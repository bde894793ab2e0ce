//! A seeded generator of policies and tag lists, shared by the oracle run
//! and the property tests. It stays inside what Flux's Go and the oracle's
//! Go agree on: AND groups have a prerelease in all or none of their
//! comparisons (Masterminds 3.2 in Debian vs 3.5 in Flux), numerical tags
//! never parse to NaN (Go's result then depends on order), a filter always
//! has a pattern (the oracle skips a filter with an empty pattern) and no
//! `(?<name>` groups (Go 1.19 in Debian predates them).

use ferroflux_policy::{Choice, Order, Policy, TagFilter};
use serde_json::{Value, json};

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

#[derive(Debug, Clone)]
pub struct Case {
    pub kind: &'static str,
    pub arg: String,
    pub filter: Option<(String, String)>,
    pub tags: Vec<String>,
}

impl Case {
    pub fn policy(&self) -> Result<Policy, ferroflux_policy::Error> {
        let choice = match self.kind {
            "semver" => Choice::Semver {
                range: self.arg.clone(),
            },
            "alphabetical" => Choice::Alphabetical {
                order: Order::from_spec(&self.arg)?,
            },
            _ => Choice::Numerical {
                order: Order::from_spec(&self.arg)?,
            },
        };
        let filter = self.filter.as_ref().map(|(p, e)| TagFilter {
            pattern: p.clone(),
            extract: e.clone(),
        });
        Policy::new(choice, filter)
    }

    pub fn to_json(&self, name: &str) -> Value {
        let key = if self.kind == "semver" {
            "range"
        } else {
            "order"
        };
        let mut v = json!({
            "name": name,
            "policy": { self.kind: { key: self.arg } },
            "tags": self.tags,
        });
        if let Some((p, e)) = &self.filter {
            v["filterTags"] = json!({"pattern": p, "extract": e});
        }
        v
    }
}

const NUMS: &[&str] = &["0", "1", "1", "2", "2", "3", "10", "x", "X", "*", "01"];
const PRES: &[&str] = &[
    "-0", "-rc.1", "-rc.10", "-rc9", "-alpha", "-alpha.1", "-1", "-beta",
];
const OPS: &[&str] = &[
    "", "=", "!=", ">", "<", ">=", "=>", "<=", "=<", "~", "~>", "^", ">= ", "< ", "~ ", "^ ",
];

fn range_version(rng: &mut Rng, with_pre: bool) -> String {
    let v = if rng.chance(10) { "v" } else { "" };
    let parts = 1 + rng.below(3);
    let mut s = v.to_owned();
    for i in 0..parts {
        if i > 0 {
            s.push('.');
        }
        s.push_str(rng.pick(NUMS));
    }
    if with_pre {
        s.push_str(rng.pick(PRES));
    }
    if rng.chance(5) {
        s.push_str("+meta");
    }
    s
}

pub fn range(rng: &mut Rng) -> String {
    if rng.chance(3) {
        return rng
            .pick(&[
                "1x",
                "*-*",
                "a",
                "",
                "1.0.0p",
                ">=1.0 <2 ||",
                "x1",
                "-1",
                "1.2.3.4",
            ])
            .to_owned();
    }
    let groups = 1 + usize::from(rng.chance(25));
    let mut out = Vec::new();
    for _ in 0..groups {
        let with_pre = rng.chance(30);
        let mut group = Vec::new();
        if rng.chance(15) {
            group.push(format!(
                "{} - {}",
                range_version(rng, with_pre),
                range_version(rng, with_pre)
            ));
        } else {
            for _ in 0..1 + rng.below(3) {
                group.push(format!("{}{}", rng.pick(OPS), range_version(rng, with_pre)));
            }
        }
        let sep = rng.pick(&[" ", ", ", ","]);
        out.push(group.join(sep));
    }
    out.join(" || ")
}

pub fn semver_tag(rng: &mut Rng) -> String {
    if rng.chance(8) {
        return rng
            .pick(&[
                "latest", "1.2", "1.2.3.4", "sha-1a2b", "v", "", "1.0.0p", "main",
            ])
            .to_owned();
    }
    let prefix = rng.pick(&["", "", "", "v", "vv", "api-"]);
    let n = |rng: &mut Rng| {
        rng.pick(&["0", "1", "1", "2", "2", "3", "10", "0", "1", "2", "01"])
            .to_owned()
    };
    let mut s = format!("{prefix}{}.{}.{}", n(rng), n(rng), n(rng));
    if rng.chance(25) {
        s.push_str(rng.pick(&[
            "-rc.1", "-rc.2", "-rc.10", "-rc9", "-rc10", "-alpha", "-alpha.1", "-0", "-01", "-a.b",
            "-1.x", "-",
        ]));
    }
    if rng.chance(10) {
        s.push_str(rng.pick(&["+b1", "+x.y", "+a_b", "+"]));
    }
    s
}

pub fn number_tag(rng: &mut Rng) -> String {
    if rng.chance(4) {
        return rng
            .pick(&["1a", "b", "+nan", "0x10", "1__0", "1e400", "1.2.3", ""])
            .to_owned();
    }
    rng.pick(&[
        "0",
        "1",
        "-2",
        "1.5",
        "1e3",
        "1E+3",
        "0x1p4",
        "0x1.8p1",
        "1_000",
        "inf",
        "-Infinity",
        "+5",
        ".5",
        "5.",
        "007",
        "1.0",
        "3",
        "1606364286",
        "-0",
        "4e-400",
        "0x_1p0",
    ])
    .to_owned()
}

pub fn text_tag(rng: &mut Rng) -> String {
    rng.pick(&[
        "a", "b", "B", "ab", "a-1", "a-2", "a-10", "1.2.3", "20.04", "16.10", "latest", "", "zz",
        "é", "rel-100", "rel-99",
    ])
    .to_owned()
}

fn filter(rng: &mut Rng, kind: &str) -> Option<(String, String)> {
    if !rng.chance(40) {
        return None;
    }
    let (p, e) = match kind {
        "semver" => *[
            (r"^v?(\d+\.\d+\.\d+)$", "$1"),
            (r"^(?:api-)?(?P<v>.*)$", "$v"),
            (r"\d+\.\d+", ""),
            (r"^(\d+)\.(\d+)\.(\d+)", "$2.$1.$3"),
            (r"^(?P<all>.*)-rc", "${all}"),
            (r"(\w+)\.(\w+)\.(\w+)", "$1x.$2.$3"),
            (r"\b\d", ""),
            ("[", ""),
            (r"^v", "$0$0"),
        ]
        .get(rng.below(9))?,
        "numerical" => *[
            (r"^(?P<n>-?\d+)", "$n"),
            (r"(\d)(\d)", "$2$1"),
            (r"\.", ""),
            (r"^(?:0x)?(.*)$", "$1"),
            (r"(a)|(\d)", "$1$2"),
        ]
        .get(rng.below(5))?,
        _ => *[
            (r"^(?P<w>[a-z]+)", "$w"),
            (r"-(\d+)$", "$1"),
            (r"\w", ""),
            (r"(.)(.)?", "$2$1"),
            ("a**", ""),
        ]
        .get(rng.below(5))?,
    };
    Some((p.to_owned(), e.to_owned()))
}

pub fn case(rng: &mut Rng) -> Case {
    let kind = *["semver", "semver", "alphabetical", "numerical"]
        .get(rng.below(4))
        .unwrap_or(&"semver");
    let arg = match kind {
        "semver" => range(rng),
        _ => rng
            .pick(&["", "asc", "ASC", "desc", "Desc", "up"])
            .to_owned(),
    };
    let n = rng.below(24);
    let tags = (0..n)
        .map(|_| match kind {
            "semver" => semver_tag(rng),
            "numerical" => number_tag(rng),
            _ => text_tag(rng),
        })
        .collect();
    Case {
        kind,
        arg,
        filter: filter(rng, kind),
        tags,
    }
}
