//! `values.schema.json`: the coalesced values checked against each
//! chart's schema as Helm v4 checks them (santhosh-tekuri/jsonschema v6,
//! drafts 4, 6, 7, 2019-09 and 2020-12), with that library's messages
//! (helm-semantics.md §2.6):
//!
//! ```text
//! mychart:
//! - at '': missing property 'email'
//! - at '/age': minimum: got -5, want 0
//! ```
//!
//! Where the library's order follows Go's random map order (several
//! properties failing in one object, additional property names), ours is
//! sorted by name. References resolve inside the schema document
//! (`#/definitions/...`, `#/$defs/...`, `$id`-less JSON pointers); a
//! reference to another document is refused by name (Helm fetches
//! `http(s)://` ones; a pure renderer does no IO). Formats are asserted for
//! drafts before 2019-09 (as the library does): `email`, `hostname`,
//! `ipv4`, `ipv6`, `uuid`, `date`; others pass.

use serde_json::{Map, Value};

use crate::chart::Chart;

/// Deepest nesting of schemas followed (references included) before the
/// validation gives up: bounds a schema that refers to itself forever.
const MAX_DEPTH: usize = 256;

/// Checks `values` against the chart's schema, then each subchart's values
/// against its schema; `Err` holds Helm's per-chart report.
pub fn validate(chart: &Chart, values: &Map<String, Value>) -> Result<(), String> {
    let mut report = String::new();
    check_chart(chart, values, &mut report);
    if report.is_empty() {
        Ok(())
    } else {
        Err(report)
    }
}

fn check_chart(chart: &Chart, values: &Map<String, Value>, report: &mut String) {
    if let Some(schema) = &chart.schema {
        if let Err(e) = validate_one(schema, values) {
            report.push_str(&format!("{}:\n{e}", chart.metadata.name));
        }
    }
    for sub in &chart.dependencies {
        match values.get(&sub.metadata.name) {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => check_chart(sub, m, report),
            Some(other) => report.push_str(&format!(
                "{}:\ninvalid type for values: expected object (map), got {}\n",
                sub.metadata.name,
                go_type(other)
            )),
        }
    }
}

fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        _ => "map[string]interface {}",
    }
}

/// One schema against one values map: the library's error lines (without
/// its `jsonschema validation failed with ...` first line) and a final
/// newline, as Helm's `JSONSchemaValidationError` prints them.
pub fn validate_one(schema: &[u8], values: &Map<String, Value>) -> Result<(), String> {
    let doc: Value = serde_json::from_slice(schema)
        .map_err(|e| format!("values.schema.json: invalid JSON: {e}\n"))?;
    let draft = match doc.get("$schema").and_then(Value::as_str) {
        Some(s) if s.contains("draft-04") => 4,
        Some(s) if s.contains("draft-06") => 6,
        Some(s) if s.contains("draft-07") => 7,
        Some(s) if s.contains("2019-09") => 2019,
        _ => 2020,
    };
    let v = Validator { root: &doc, draft };
    let instance = Value::Object(values.clone());
    let errors = v.validate(&doc, &instance, &mut Vec::new(), 0)?;
    if errors.is_empty() {
        return Ok(());
    }
    let mut out = String::new();
    for e in &errors {
        e.display(&mut out, 1);
    }
    // The library's text starts with its own line, which Helm strips.
    Err(format!("{}\n", out.trim_start_matches('\n')))
}

/// One failure: where in the values, what, and the failures under it.
#[derive(Debug)]
struct Failure {
    at: Vec<String>,
    message: String,
    causes: Vec<Failure>,
    /// A `$ref` with one cause prints only the cause (the library's
    /// `skip`).
    transparent: bool,
}

impl Failure {
    fn display(&self, out: &mut String, indent: usize) {
        let mut indent = indent;
        if !self.transparent {
            out.push('\n');
            for _ in 0..indent.saturating_sub(1) {
                out.push_str("  ");
            }
            out.push_str("- ");
            out.push_str(&format!(
                "at {}: {}",
                quote(&pointer(&self.at)),
                self.message
            ));
            indent += 1;
        }
        for c in &self.causes {
            c.display(out, indent);
        }
    }
}

fn pointer(tokens: &[String]) -> String {
    tokens
        .iter()
        .map(|t| format!("/{}", t.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// The library's `quote`: Go's `%q` with `"` unescaped and `'` escaped,
/// in single quotes.
fn quote(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// `display` of a primitive: strings quoted, containers as `value`.
fn display(v: &Value) -> String {
    match v {
        Value::String(s) => quote(s),
        Value::Array(_) | Value::Object(_) => "value".to_string(),
        Value::Null => "<nil>".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number(n),
    }
}

/// A number as the library prints it through golang.org/x/text's English
/// printer: Go's `%v` with thousands grouped (`1,000`).
fn number(n: &serde_json::Number) -> String {
    let plain = match (n.as_i64(), n.as_f64()) {
        (Some(i), _) if !n.is_f64() => i.to_string(),
        (_, Some(f)) => crate::values::go_format_float(f),
        _ => n.to_string(),
    };
    group(&plain)
}

fn float(f: f64) -> String {
    group(&crate::values::go_format_float(f))
}

fn group(plain: &str) -> String {
    if plain.contains(['e', 'N', 'I']) {
        return plain.to_string();
    }
    let (sign, rest) = match plain.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", plain),
    };
    let (int, frac) = match rest.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn is_integer(v: &Value) -> bool {
    match v {
        Value::Number(n) => {
            n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        _ => false,
    }
}

/// JSON values equal as the library compares them (numbers by value).
fn equals(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| equals(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| equals(v, w)))
        }
        _ => a == b,
    }
}

struct Validator<'s> {
    root: &'s Value,
    draft: u32,
}

type Found = Result<Vec<Failure>, String>;

impl<'s> Validator<'s> {
    fn fail(&self, at: &[String], message: String) -> Failure {
        Failure {
            at: at.to_vec(),
            message,
            causes: Vec::new(),
            transparent: false,
        }
    }

    /// A value against a (sub)schema at the instance location `at`: the
    /// failures found there. Several failures stay a list here; the caller
    /// groups them ("validation failed") when they belong to one value.
    fn validate(&self, schema: &'s Value, v: &Value, at: &mut Vec<String>, depth: usize) -> Found {
        if depth > MAX_DEPTH {
            return Err(format!(
                "values.schema.json: schemas nest deeper than {MAX_DEPTH} (a reference cycle?)"
            ));
        }
        let s = match schema {
            Value::Bool(true) => return Ok(Vec::new()),
            Value::Bool(false) => return Ok(vec![self.fail(at, "false schema".into())]),
            Value::Object(s) => s,
            _ => return Ok(Vec::new()),
        };
        let mut errors = Vec::new();
        // type
        if let Some(t) = s.get("type") {
            let want: Vec<&str> = match t {
                Value::String(t) => vec![t.as_str()],
                Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            if !want.is_empty() {
                let got = type_of(v);
                let ok = want.contains(&got) || (want.contains(&"integer") && is_integer(v));
                if !ok {
                    let order = [
                        "null", "boolean", "number", "integer", "string", "array", "object",
                    ];
                    let listed: Vec<&str> =
                        order.iter().copied().filter(|o| want.contains(o)).collect();
                    return Ok(vec![
                        self.fail(at, format!("got {got}, want {}", listed.join(" or "))),
                    ]);
                }
            }
        }
        if self.draft >= 6 {
            if let Some(c) = s.get("const") {
                if !equals(v, c) {
                    let msg = match c {
                        Value::Array(_) | Value::Object(_) => "'const' failed".to_string(),
                        other => format!("value must be {}", display(other)),
                    };
                    return Ok(vec![self.fail(at, msg)]);
                }
            }
        }
        if let Some(Value::Array(items)) = s.get("enum") {
            if !items.iter().any(|i| equals(v, i)) {
                let primitive = items
                    .iter()
                    .all(|i| !matches!(i, Value::Array(_) | Value::Object(_)));
                let msg = if !primitive {
                    "'enum' failed".to_string()
                } else if items.len() == 1 {
                    format!("value must be {}", display(&items[0]))
                } else {
                    let want: Vec<String> = items.iter().map(display).collect();
                    format!("value must be one of {}", want.join(", "))
                };
                return Ok(vec![self.fail(at, msg)]);
            }
        }
        if self.draft < 2019 {
            if let (Some(Value::String(f)), Value::String(text)) = (s.get("format"), v) {
                if let Some(err) = format_error(f, text) {
                    return Ok(vec![
                        self.fail(at, format!("{} is not valid {f}: {err}", quote(text))),
                    ]);
                }
            }
        }
        if let Some(Value::String(r)) = s.get("$ref") {
            let target = self.resolve(r)?;
            let found = self.validate(target, v, at, depth + 1)?;
            let reference = self.wrap_ref(found, at);
            if self.draft < 2019 {
                return Ok(reference);
            }
            errors.extend(reference);
        }
        match v {
            Value::Object(obj) => self.object(s, obj, at, depth, &mut errors)?,
            Value::Array(arr) => self.array(s, arr, at, depth, &mut errors)?,
            Value::String(text) => self.string(s, text, at, &mut errors),
            Value::Number(n) => self.number(s, n, at, &mut errors),
            _ => {}
        }
        self.conditions(s, v, at, depth, &mut errors)?;
        Ok(errors)
    }

    /// A `$ref`'s failures: one becomes a transparent wrapper, several a
    /// "validation failed" group under it.
    fn wrap_ref(&self, found: Vec<Failure>, at: &[String]) -> Vec<Failure> {
        match found.len() {
            0 => Vec::new(),
            1 => vec![Failure {
                at: at.to_vec(),
                message: String::new(),
                causes: found,
                transparent: true,
            }],
            _ => vec![Failure {
                at: at.to_vec(),
                message: "validation failed".to_string(),
                causes: found,
                transparent: false,
            }],
        }
    }

    fn resolve(&self, r: &str) -> Result<&'s Value, String> {
        let Some(fragment) = r.strip_prefix('#') else {
            return Err(format!(
                "values.schema.json: $ref {r:?} points at another document; only references inside the schema (\"#/...\") are followed"
            ));
        };
        let mut node = self.root;
        for token in fragment.split('/').skip(1) {
            let token = token.replace("~1", "/").replace("~0", "~");
            node = match node {
                Value::Object(m) => m.get(&token),
                Value::Array(a) => token.parse::<usize>().ok().and_then(|i| a.get(i)),
                _ => None,
            }
            .ok_or_else(|| format!("values.schema.json: $ref {r:?} does not resolve"))?;
        }
        Ok(node)
    }

    /// One value under `at + token`: its failures as one entry (a group
    /// when several).
    fn child(
        &self,
        schema: &'s Value,
        v: &Value,
        at: &mut Vec<String>,
        token: String,
        depth: usize,
    ) -> Result<Option<Failure>, String> {
        at.push(token);
        let found = self.validate(schema, v, at, depth + 1);
        let here = at.clone();
        at.pop();
        let mut found = found?;
        Ok(match found.len() {
            0 => None,
            1 => found.pop(),
            _ => Some(Failure {
                at: here,
                message: "validation failed".to_string(),
                causes: found,
                transparent: false,
            }),
        })
    }

    fn object(
        &self,
        s: &'s Map<String, Value>,
        obj: &Map<String, Value>,
        at: &mut Vec<String>,
        depth: usize,
        errors: &mut Vec<Failure>,
    ) -> Result<(), String> {
        if let Some(min) = s.get("minProperties").and_then(Value::as_u64) {
            if (obj.len() as u64) < min {
                errors.push(self.fail(
                    at,
                    format!(
                        "minProperties: got {}, want {}",
                        group(&obj.len().to_string()),
                        group(&min.to_string())
                    ),
                ));
            }
        }
        if let Some(max) = s.get("maxProperties").and_then(Value::as_u64) {
            if obj.len() as u64 > max {
                errors.push(self.fail(
                    at,
                    format!(
                        "maxProperties: got {}, want {}",
                        group(&obj.len().to_string()),
                        group(&max.to_string())
                    ),
                ));
            }
        }
        if let Some(Value::Array(req)) = s.get("required") {
            let missing: Vec<&str> = req
                .iter()
                .filter_map(Value::as_str)
                .filter(|k| !obj.contains_key(*k))
                .collect();
            match missing.len() {
                0 => {}
                1 => errors.push(self.fail(at, format!("missing property {}", quote(missing[0])))),
                _ => errors.push(self.fail(
                    at,
                    format!(
                        "missing properties {}",
                        missing.iter().map(|m| quote(m)).collect::<Vec<_>>().join(", ")
                    ),
                )),
            }
        }
        let dependencies = if self.draft < 2019 {
            s.get("dependencies")
        } else {
            None
        };
        if let Some(Value::Object(deps)) = dependencies {
            for (name, dep) in deps {
                if !obj.contains_key(name) {
                    continue;
                }
                match dep {
                    Value::Array(req) => {
                        let missing: Vec<String> = req
                            .iter()
                            .filter_map(Value::as_str)
                            .filter(|k| !obj.contains_key(*k))
                            .map(quote)
                            .collect();
                        if !missing.is_empty() {
                            errors.push(self.fail(
                                at,
                                format!(
                                    "properties {} required, if {} exists",
                                    missing.join(", "),
                                    quote(name)
                                ),
                            ));
                        }
                    }
                    schema => errors.extend(self.validate(
                        schema,
                        &Value::Object(obj.clone()),
                        at,
                        depth + 1,
                    )?),
                }
            }
        }
        let properties = s.get("properties").and_then(Value::as_object);
        let patterns: Vec<(regex::Regex, &Value)> = match s.get("patternProperties") {
            Some(Value::Object(p)) => p
                .iter()
                .map(|(k, v)| {
                    regex::Regex::new(k)
                        .map(|r| (r, v))
                        .map_err(|e| format!("values.schema.json: patternProperties {k:?}: {e}"))
                })
                .collect::<Result<_, _>>()?,
            _ => Vec::new(),
        };
        let mut additional = Vec::new();
        for (name, value) in obj {
            let mut evaluated = false;
            if let Some(schema) = properties.and_then(|p| p.get(name)) {
                evaluated = true;
                errors.extend(self.child(schema, value, at, name.clone(), depth)?);
            }
            for (re, schema) in &patterns {
                if re.is_match(name) {
                    evaluated = true;
                    errors.extend(self.child(schema, value, at, name.clone(), depth)?);
                }
            }
            if !evaluated {
                match s.get("additionalProperties") {
                    Some(Value::Bool(false)) => additional.push(quote(name)),
                    Some(schema @ Value::Object(_)) => {
                        errors.extend(self.child(schema, value, at, name.clone(), depth)?)
                    }
                    _ => {}
                }
            }
        }
        if !additional.is_empty() {
            errors.push(self.fail(
                at,
                format!(
                    "additional properties {} not allowed",
                    additional.join(", ")
                ),
            ));
        }
        if self.draft >= 6 {
            if let Some(names) = s.get("propertyNames") {
                for name in obj.keys() {
                    let found = self.validate(
                        names,
                        &Value::String(name.clone()),
                        &mut Vec::new(),
                        depth + 1,
                    )?;
                    if !found.is_empty() {
                        errors.push(Failure {
                            at: at.clone(),
                            message: format!("invalid propertyName {}", quote(name)),
                            causes: found,
                            transparent: false,
                        });
                    }
                }
            }
        }
        if self.draft >= 2019 {
            if let Some(Value::Object(deps)) = s.get("dependentSchemas") {
                for (name, schema) in deps {
                    if obj.contains_key(name) {
                        errors.extend(self.validate(
                            schema,
                            &Value::Object(obj.clone()),
                            at,
                            depth + 1,
                        )?);
                    }
                }
            }
            if let Some(Value::Object(deps)) = s.get("dependentRequired") {
                for (name, req) in deps {
                    if !obj.contains_key(name) {
                        continue;
                    }
                    let missing: Vec<String> = req
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .filter(|k| !obj.contains_key(*k))
                        .map(quote)
                        .collect();
                    if !missing.is_empty() {
                        errors.push(self.fail(
                            at,
                            format!(
                                "properties {} required, if {} exists",
                                missing.join(", "),
                                quote(name)
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    fn array(
        &self,
        s: &'s Map<String, Value>,
        arr: &[Value],
        at: &mut Vec<String>,
        depth: usize,
        errors: &mut Vec<Failure>,
    ) -> Result<(), String> {
        let count = |n: usize| group(&n.to_string());
        if let Some(min) = s.get("minItems").and_then(Value::as_u64) {
            if (arr.len() as u64) < min {
                errors.push(self.fail(
                    at,
                    format!(
                        "minItems: got {}, want {}",
                        count(arr.len()),
                        group(&min.to_string())
                    ),
                ));
            }
        }
        if let Some(max) = s.get("maxItems").and_then(Value::as_u64) {
            if arr.len() as u64 > max {
                errors.push(self.fail(
                    at,
                    format!(
                        "maxItems: got {}, want {}",
                        count(arr.len()),
                        group(&max.to_string())
                    ),
                ));
            }
        }
        if s.get("uniqueItems") == Some(&Value::Bool(true)) {
            'outer: for i in 1..arr.len() {
                for j in 0..i {
                    if equals(&arr[i], &arr[j]) {
                        errors.push(self.fail(at, format!("items at {j} and {i} are equal")));
                        break 'outer;
                    }
                }
            }
        }
        let (prefix, rest): (Vec<&'s Value>, Option<&'s Value>) = if self.draft < 2020 {
            match s.get("items") {
                Some(Value::Array(list)) => (list.iter().collect(), None),
                Some(schema) => (Vec::new(), Some(schema)),
                None => (Vec::new(), None),
            }
        } else {
            (
                s.get("prefixItems")
                    .and_then(Value::as_array)
                    .map(|l| l.iter().collect())
                    .unwrap_or_default(),
                s.get("items"),
            )
        };
        let evaluated = prefix.len().min(arr.len());
        for (i, item) in arr.iter().enumerate().take(evaluated) {
            errors.extend(self.child(prefix[i], item, at, i.to_string(), depth)?);
        }
        if let Some(schema) = rest {
            // The library numbers the items after the prefix from 0 again.
            for (k, item) in arr[evaluated..].iter().enumerate() {
                errors.extend(self.child(schema, item, at, k.to_string(), depth)?);
            }
        } else if self.draft < 2020 && !prefix.is_empty() {
            match s.get("additionalItems") {
                Some(Value::Bool(false)) if evaluated != arr.len() => {
                    errors.push(self.fail(
                        at,
                        format!(
                            "last {} additionalItem(s) not allowed",
                            arr.len() - evaluated
                        ),
                    ));
                }
                Some(schema @ Value::Object(_)) => {
                    for (i, item) in arr.iter().enumerate().skip(evaluated) {
                        errors.extend(self.child(
                            schema,
                            item,
                            at,
                            (i - evaluated).to_string(),
                            depth,
                        )?);
                    }
                }
                _ => {}
            }
        }
        if self.draft >= 6 {
            if let Some(contains) = s.get("contains") {
                let mut causes = Vec::new();
                let mut matched = Vec::new();
                for (i, item) in arr.iter().enumerate() {
                    match self.child(contains, item, at, i.to_string(), depth)? {
                        Some(f) => causes.push(f),
                        None => matched.push(i),
                    }
                }
                let list =
                    |m: &[usize]| m.iter().map(usize::to_string).collect::<Vec<_>>().join(" ");
                let min = if self.draft >= 2019 {
                    s.get("minContains").and_then(Value::as_u64)
                } else {
                    None
                };
                match min {
                    Some(min) if (matched.len() as u64) < min => {
                        let message = if matched.is_empty() {
                            format!(
                                "min {min} items required to match contains schema, but none matched"
                            )
                        } else {
                            format!(
                                "min {min} items required to match contains schema, but matched {} items at {}",
                                matched.len(),
                                list(&matched)
                            )
                        };
                        errors.push(Failure {
                            at: at.clone(),
                            message,
                            causes,
                            transparent: false,
                        });
                    }
                    None if matched.is_empty() => errors.push(Failure {
                        at: at.clone(),
                        message: "no items match contains schema".to_string(),
                        causes,
                        transparent: false,
                    }),
                    _ => {}
                }
                let max = if self.draft >= 2019 {
                    s.get("maxContains").and_then(Value::as_u64)
                } else {
                    None
                };
                if let Some(max) = max {
                    if matched.len() as u64 > max {
                        errors.push(self.fail(at, format!("max {max} items required to match contains schema, but matched {} items at {}", matched.len(), list(&matched))));
                    }
                }
            }
        }
        Ok(())
    }

    fn string(&self, s: &Map<String, Value>, text: &str, at: &[String], errors: &mut Vec<Failure>) {
        let len = text.chars().count();
        if let Some(min) = s.get("minLength").and_then(Value::as_u64) {
            if (len as u64) < min {
                errors.push(self.fail(
                    at,
                    format!(
                        "minLength: got {}, want {}",
                        group(&len.to_string()),
                        group(&min.to_string())
                    ),
                ));
            }
        }
        if let Some(max) = s.get("maxLength").and_then(Value::as_u64) {
            if len as u64 > max {
                errors.push(self.fail(
                    at,
                    format!(
                        "maxLength: got {}, want {}",
                        group(&len.to_string()),
                        group(&max.to_string())
                    ),
                ));
            }
        }
        if let Some(Value::String(p)) = s.get("pattern") {
            // A pattern Rust's regex cannot compile is not checked (Go's
            // regexp and Rust's agree on RE2 syntax).
            if let Ok(re) = regex::Regex::new(p) {
                if !re.is_match(text) {
                    errors.push(self.fail(
                        at,
                        format!("{} does not match pattern {}", quote(text), quote(p)),
                    ));
                }
            }
        }
    }

    fn number(
        &self,
        s: &Map<String, Value>,
        n: &serde_json::Number,
        at: &[String],
        errors: &mut Vec<Failure>,
    ) {
        let Some(v) = n.as_f64() else { return };
        let get = |k: &str| s.get(k).and_then(Value::as_f64);
        let draft4_exclusive = |k: &str| self.draft == 4 && s.get(k) == Some(&Value::Bool(true));
        if let Some(min) = get("minimum") {
            if draft4_exclusive("exclusiveMinimum") {
                if v <= min {
                    errors.push(self.fail(
                        at,
                        format!("exclusiveMinimum: got {}, want {}", float(v), float(min)),
                    ));
                }
            } else if v < min {
                errors.push(self.fail(
                    at,
                    format!("minimum: got {}, want {}", float(v), float(min)),
                ));
            }
        }
        if let Some(max) = get("maximum") {
            if draft4_exclusive("exclusiveMaximum") {
                if v >= max {
                    errors.push(self.fail(
                        at,
                        format!("exclusiveMaximum: got {}, want {}", float(v), float(max)),
                    ));
                }
            } else if v > max {
                errors.push(self.fail(
                    at,
                    format!("maximum: got {}, want {}", float(v), float(max)),
                ));
            }
        }
        if self.draft >= 6 {
            if let Some(min) = get("exclusiveMinimum") {
                if v <= min {
                    errors.push(self.fail(
                        at,
                        format!("exclusiveMinimum: got {}, want {}", float(v), float(min)),
                    ));
                }
            }
            if let Some(max) = get("exclusiveMaximum") {
                if v >= max {
                    errors.push(self.fail(
                        at,
                        format!("exclusiveMaximum: got {}, want {}", float(v), float(max)),
                    ));
                }
            }
        }
        if let Some(m) = get("multipleOf") {
            if m != 0.0 && !is_multiple(v, m) {
                errors.push(self.fail(
                    at,
                    format!("multipleOf: got {}, want {}", float(v), float(m)),
                ));
            }
        }
    }

    fn conditions(
        &self,
        s: &'s Map<String, Value>,
        v: &Value,
        at: &mut Vec<String>,
        depth: usize,
        errors: &mut Vec<Failure>,
    ) -> Result<(), String> {
        if let Some(not) = s.get("not") {
            if self.validate(not, v, at, depth + 1)?.is_empty() {
                errors.push(self.fail(at, "'not' failed".to_string()));
            }
        }
        let group_of = |found: Vec<Failure>, at: &[String]| -> Failure {
            if found.len() == 1 {
                found
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| self.fail(at, String::new()))
            } else {
                Failure {
                    at: at.to_vec(),
                    message: "validation failed".to_string(),
                    causes: found,
                    transparent: false,
                }
            }
        };
        if let Some(Value::Array(all)) = s.get("allOf") {
            let mut causes = Vec::new();
            for sub in all {
                let found = self.validate(sub, v, at, depth + 1)?;
                if !found.is_empty() {
                    causes.push(group_of(found, at));
                }
            }
            if !causes.is_empty() {
                errors.push(Failure {
                    at: at.clone(),
                    message: "'allOf' failed".to_string(),
                    causes,
                    transparent: false,
                });
            }
        }
        if let Some(Value::Array(any)) = s.get("anyOf") {
            let mut causes = Vec::new();
            let mut matched = false;
            for sub in any {
                let found = self.validate(sub, v, at, depth + 1)?;
                if found.is_empty() {
                    matched = true;
                    break;
                }
                causes.push(group_of(found, at));
            }
            if !matched {
                errors.push(Failure {
                    at: at.clone(),
                    message: "'anyOf' failed".to_string(),
                    causes,
                    transparent: false,
                });
            }
        }
        if let Some(Value::Array(one)) = s.get("oneOf") {
            let mut causes = Vec::new();
            let mut matched: Option<usize> = None;
            for (i, sub) in one.iter().enumerate() {
                let found = self.validate(sub, v, at, depth + 1)?;
                if found.is_empty() {
                    if let Some(first) = matched {
                        errors.push(self.fail(
                            at,
                            format!("'oneOf' failed, subschemas {first}, {i} matched"),
                        ));
                        break;
                    }
                    matched = Some(i);
                } else if matched.is_none() {
                    causes.push(group_of(found, at));
                }
            }
            if matched.is_none() {
                errors.push(Failure {
                    at: at.clone(),
                    message: "'oneOf' failed, none matched".to_string(),
                    causes,
                    transparent: false,
                });
            }
        }
        if self.draft >= 7 {
            if let Some(cond) = s.get("if") {
                let branch = if self.validate(cond, v, at, depth + 1)?.is_empty() {
                    s.get("then")
                } else {
                    s.get("else")
                };
                if let Some(branch) = branch {
                    let found = self.validate(branch, v, at, depth + 1)?;
                    if !found.is_empty() {
                        errors.push(group_of(found, at));
                    }
                }
            }
        }
        Ok(())
    }
}

/// `v / m` is an integer, decided on the decimal texts (as the library's
/// rationals do: 0.3 is a multiple of 0.1).
fn is_multiple(v: f64, m: f64) -> bool {
    let decimal = |f: f64| -> Option<(i128, u32)> {
        let text = format!("{f}");
        if text.contains(['e', 'E', 'N', 'i']) {
            return None;
        }
        let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
        let digits: i128 = format!("{int}{frac}").parse().ok()?;
        Some((digits, frac.len() as u32))
    };
    match (decimal(v), decimal(m)) {
        (Some((vd, vs)), Some((md, ms))) if md != 0 => {
            let scale = vs.max(ms);
            let vn = 10i128
                .checked_pow(scale - vs)
                .and_then(|p| vd.checked_mul(p));
            let mn = 10i128
                .checked_pow(scale - ms)
                .and_then(|p| md.checked_mul(p));
            match (vn, mn) {
                (Some(a), Some(b)) => a % b == 0,
                _ => (v / m).fract() == 0.0,
            }
        }
        _ => (v / m).fract() == 0.0,
    }
}

/// The library's error for a string that is not of `format` (`None`: it
/// is, or the format is not one we assert).
fn format_error(format: &str, s: &str) -> Option<String> {
    match format {
        "ipv4" => ipv4_error(s),
        "ipv6" => {
            if !s.contains(':') {
                Some("missing colon".to_string())
            } else if s.contains('%') {
                Some("zone id is not a part of ipv6 address".to_string())
            } else if s.parse::<std::net::Ipv6Addr>().is_err() {
                Some(format!("ParseAddr({s:?}): invalid IPv6 address"))
            } else {
                None
            }
        }
        "hostname" => hostname_error(s),
        "email" => email_error(s),
        "uuid" => uuid_error(s),
        "date" => {
            let b = s.as_bytes();
            let ok = b.len() == 10
                && b[4] == b'-'
                && b[7] == b'-'
                && b.iter()
                    .enumerate()
                    .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
                && (1..=12).contains(&s[5..7].parse::<u32>().unwrap_or(0))
                && (1..=31).contains(&s[8..10].parse::<u32>().unwrap_or(0));
            (!ok).then(|| {
                format!("parsing time {s:?} as \"2006-01-02\": cannot parse {s:?} as \"2006\"")
            })
        }
        _ => None,
    }
}

fn ipv4_error(s: &str) -> Option<String> {
    let groups: Vec<&str> = s.split('.').collect();
    if groups.len() != 4 {
        return Some("expected four decimals".to_string());
    }
    for g in groups {
        if g.len() > 1 && g.starts_with('0') {
            return Some("leading zeros".to_string());
        }
        match g.parse::<i64>() {
            Err(_) => return Some(format!("strconv.Atoi: parsing {g:?}: invalid syntax")),
            Ok(n) if !(0..=255).contains(&n) => {
                return Some("decimal must be between 0 and 255".to_string());
            }
            Ok(_) => {}
        }
    }
    None
}

fn hostname_error(s: &str) -> Option<String> {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.len() > 253 {
        return Some("more than 253 characters long".to_string());
    }
    for label in s.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Some("label must be 1 to 63 characters long".to_string());
        }
        if label.starts_with('-') {
            return Some("label starts with hyphen".to_string());
        }
        if label.ends_with('-') {
            return Some("label ends with hyphen".to_string());
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Some(format!("invalid character {}", go_rune(c)));
        }
    }
    None
}

/// Go's `%q` of a rune.
fn go_rune(c: char) -> String {
    match c {
        '\'' => "'\\''".to_string(),
        '\\' => "'\\\\'".to_string(),
        '\n' => "'\\n'".to_string(),
        '\t' => "'\\t'".to_string(),
        c if c.is_control() => format!("'\\x{:02x}'", c as u32),
        c => format!("'{c}'"),
    }
}

fn email_error(s: &str) -> Option<String> {
    if s.len() > 254 {
        return Some("more than 255 characters long".to_string());
    }
    let Some(at) = s.rfind('@') else {
        return Some("missing @".to_string());
    };
    let (local, domain) = (&s[..at], &s[at + 1..]);
    if local.len() > 64 {
        return Some("local part more than 64 characters long".to_string());
    }
    if local.len() > 1 && local.starts_with('"') {
        let inner = &local[1..local.len() - 1];
        if inner.contains(['\\', '"']) {
            return Some(
                "backslash and quote are not allowed within quoted local part".to_string(),
            );
        }
    } else {
        if local.starts_with('.') {
            return Some("starts with dot".to_string());
        }
        if local.ends_with('.') {
            return Some("ends with dot".to_string());
        }
        if local.contains("..") {
            return Some("consecutive dots".to_string());
        }
        if let Some(c) = local
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || ".!#$%&'*+-/=?^_`{|}~".contains(*c)))
        {
            return Some(format!("invalid character {}", go_rune(c)));
        }
    }
    if let Some(inner) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        if let Some(v6) = inner.strip_prefix("IPv6:") {
            return format_error("ipv6", v6).map(|e| format!("invalid ipv6 address: {e}"));
        }
        return ipv4_error(inner).map(|e| format!("invalid ipv4 address: {e}"));
    }
    hostname_error(domain).map(|e| format!("invalid domain: {e}"))
}

fn uuid_error(s: &str) -> Option<String> {
    let lens = [8, 4, 4, 4, 12];
    let groups: Vec<&str> = s.split('-').collect();
    if groups.len() != lens.len() {
        return Some(format!("must have {} elements", lens.len()));
    }
    for (i, g) in groups.iter().enumerate() {
        if g.len() != lens[i] {
            return Some(format!(
                "element {} must be {} characters long",
                i + 1,
                lens[i]
            ));
        }
        if let Some(c) = g.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Some(format!("non-hex character {}", go_rune(c)));
        }
    }
    None
}

#[cfg(test)]
mod tests;
