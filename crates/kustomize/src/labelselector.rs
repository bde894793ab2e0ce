//! Kubernetes label selectors (`app=web,tier!=db,env in (a,b),!legacy`), as
//! kustomize matches them against labels or annotations in `select` and
//! `reject` of replacements.

/// Longest selector accepted.
pub const MAX_LEN: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    Exists,
    NotExists,
    Equals(String),
    NotEquals(String),
    In(Vec<String>),
    NotIn(Vec<String>),
}

/// One parsed selector: every requirement must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector(Vec<(String, Op)>);

impl Selector {
    /// Parse a selector; the empty selector selects everything.
    pub fn parse(text: &str) -> Result<Selector, String> {
        if text.len() > MAX_LEN {
            return Err(format!("a selector is longer than {MAX_LEN} bytes"));
        }
        let mut out = Vec::new();
        for req in split_top(text)? {
            let req = req.trim();
            if req.is_empty() {
                if text.trim().is_empty() {
                    continue;
                }
                return Err(format!(
                    "unable to parse requirement: empty requirement in {text:?}"
                ));
            }
            out.push(requirement(req).map_err(|e| format!("unable to parse requirement: {e}"))?);
        }
        Ok(Selector(out))
    }

    /// Does a set of (key, value) pairs satisfy the selector?
    pub fn matches(&self, pairs: &[(String, String)]) -> bool {
        let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v);
        self.0.iter().all(|(key, op)| match op {
            Op::Exists => get(key).is_some(),
            Op::NotExists => get(key).is_none(),
            Op::Equals(v) => get(key) == Some(v),
            Op::NotEquals(v) => get(key) != Some(v),
            Op::In(set) => get(key).is_some_and(|v| set.contains(v)),
            Op::NotIn(set) => get(key).is_none_or(|v| !set.contains(v)),
        })
    }
}

/// Split on commas outside parentheses.
fn split_top(text: &str) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| format!("unbalanced ')' in {text:?}"))?;
            }
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(format!("unbalanced '(' in {text:?}"));
    }
    parts.push(&text[start..]);
    Ok(parts)
}

fn valid_key(k: &str) -> Result<String, String> {
    let ok = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if ok {
        Ok(k.to_string())
    } else {
        Err(format!("invalid label key {k:?}"))
    }
}

fn valid_value(v: &str) -> Result<String, String> {
    let v = v.trim();
    if v.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        Ok(v.to_string())
    } else {
        Err(format!("invalid label value {v:?}"))
    }
}

fn set(rest: &str) -> Result<Vec<String>, String> {
    let inner = rest
        .trim()
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| format!("expected a set in parentheses, found {rest:?}"))?;
    inner.split(',').map(valid_value).collect()
}

fn requirement(req: &str) -> Result<(String, Op), String> {
    if let Some(key) = req.strip_prefix('!') {
        return Ok((valid_key(key.trim())?, Op::NotExists));
    }
    if let Some((k, v)) = req.split_once("!=") {
        return Ok((valid_key(k.trim())?, Op::NotEquals(valid_value(v)?)));
    }
    if let Some((k, v)) = req.split_once("==") {
        return Ok((valid_key(k.trim())?, Op::Equals(valid_value(v)?)));
    }
    if let Some((k, v)) = req.split_once('=') {
        return Ok((valid_key(k.trim())?, Op::Equals(valid_value(v)?)));
    }
    let mut words = req.splitn(2, char::is_whitespace);
    let key = valid_key(words.next().unwrap_or("").trim())?;
    let rest = words.next().unwrap_or("").trim();
    if rest.is_empty() {
        return Ok((key, Op::Exists));
    }
    if let Some(r) = rest.strip_prefix("notin") {
        return Ok((key, Op::NotIn(set(r)?)));
    }
    if let Some(r) = rest.strip_prefix("in") {
        return Ok((key, Op::In(set(r)?)));
    }
    Err(format!("unexpected {rest:?} after the key {key:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_operator_matches_as_kubernetes_does() {
        let labels = pairs(&[("app", "web"), ("tier", "front")]);
        for (sel, want) in [
            ("", true),
            ("app=web", true),
            ("app==web", true),
            ("app!=web", false),
            ("db!=x", true),
            ("app", true),
            ("!app", false),
            ("!db", true),
            ("tier in (front, back)", true),
            ("tier notin (front)", false),
            ("db notin (x)", true),
            ("app=web,tier=back", false),
        ] {
            let s = Selector::parse(sel).expect(sel);
            assert_eq!(s.matches(&labels), want, "{sel}");
        }
    }

    #[test]
    fn malformed_selectors_are_refused() {
        for sel in [
            "app=(",
            "a b c",
            "tier in front",
            "x,",
            "(a",
            "a)",
            "bad key=1",
        ] {
            assert!(Selector::parse(sel).is_err(), "{sel}");
        }
        assert!(Selector::parse(&"a".repeat(MAX_LEN + 1)).is_err());
    }
}
