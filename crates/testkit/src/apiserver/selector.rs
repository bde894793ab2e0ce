//! Label selectors (`=`, `==`, `!=`, `in`, `notin`, `key`, `!key`) and field
//! selectors (`path=value`, `path!=value` on any dotted JSON path, such as
//! `metadata.name` or `involvedObject.name`), parsed from query strings.

use serde_json::Value;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Error {
    #[error("unable to parse requirement: {requirement:?}: {why}")]
    Requirement {
        requirement: String,
        why: &'static str,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Eq(String),
    NotEq(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    NotExists,
}

#[derive(Debug, Clone, PartialEq)]
struct Requirement {
    key: String,
    op: Op,
}

/// A parsed label or field selector; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selector {
    requirements: Vec<Requirement>,
}

/// Split on commas outside parentheses.
fn split_top(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn set_values(rest: &str, requirement: &str) -> Result<Vec<String>, Error> {
    let rest = rest.trim();
    let inner = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| Error::Requirement {
            requirement: requirement.to_string(),
            why: "expected a parenthesized set of values",
        })?;
    Ok(inner
        .split(',')
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect())
}

fn parse_requirement(raw: &str) -> Result<Requirement, Error> {
    let r = raw.trim();
    let bad = |why| Error::Requirement {
        requirement: r.to_string(),
        why,
    };
    if let Some(key) = r.strip_prefix('!') {
        return Ok(Requirement {
            key: key.trim().to_string(),
            op: Op::NotExists,
        });
    }
    if let Some((k, v)) = r.split_once("!=") {
        return Ok(Requirement {
            key: k.trim().to_string(),
            op: Op::NotEq(v.trim().to_string()),
        });
    }
    if let Some((k, v)) = r.split_once("==").or_else(|| r.split_once('=')) {
        return Ok(Requirement {
            key: k.trim().to_string(),
            op: Op::Eq(v.trim().to_string()),
        });
    }
    let mut words = r.splitn(2, char::is_whitespace);
    let key = words.next().unwrap_or_default().to_string();
    let rest = words.next().unwrap_or_default().trim_start();
    if key.is_empty() {
        return Err(bad("empty key"));
    }
    if rest.is_empty() {
        return Ok(Requirement {
            key,
            op: Op::Exists,
        });
    }
    if let Some(set) = rest.strip_prefix("notin") {
        return Ok(Requirement {
            key,
            op: Op::NotIn(set_values(set, r)?),
        });
    }
    if let Some(set) = rest.strip_prefix("in") {
        return Ok(Requirement {
            key,
            op: Op::In(set_values(set, r)?),
        });
    }
    Err(bad("unknown operator"))
}

impl Selector {
    pub fn parse(s: &str) -> Result<Selector, Error> {
        let requirements = split_top(s)
            .into_iter()
            .filter(|r| !r.trim().is_empty())
            .map(parse_requirement)
            .collect::<Result<_, _>>()?;
        Ok(Selector { requirements })
    }

    /// `lookup(key)` gives the value of a label (or field) if present.
    fn matches_with(&self, lookup: impl Fn(&str) -> Option<String>) -> bool {
        self.requirements.iter().all(|r| {
            let v = lookup(&r.key);
            match &r.op {
                Op::Eq(want) => v.as_deref() == Some(want.as_str()),
                Op::NotEq(want) => v.as_deref() != Some(want.as_str()),
                Op::In(set) => v.is_some_and(|v| set.contains(&v)),
                Op::NotIn(set) => !v.is_some_and(|v| set.contains(&v)),
                Op::Exists => v.is_some(),
                Op::NotExists => v.is_none(),
            }
        })
    }

    /// Match the object's `metadata.labels`.
    pub fn matches_labels(&self, obj: &Value) -> bool {
        let labels = &obj["metadata"]["labels"];
        self.matches_with(|k| labels.get(k).and_then(Value::as_str).map(str::to_string))
    }

    /// Match dotted paths in the object (field selectors).
    pub fn matches_fields(&self, obj: &Value) -> bool {
        self.matches_with(|path| {
            let mut cur = obj;
            for part in path.split('.') {
                cur = cur.get(part)?;
            }
            match cur {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            }
        })
    }
}
