//! The values a template sees: a small model of the Go types that Flux's
//! template data and sprig's results have. Go's behaviour depends on static
//! types (error texts name them, a missing map key yields the element type's
//! zero value, `int` and `int64` are not interchangeable as arguments), so
//! containers and structs carry their Go type name.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::rc::Rc;

pub use crate::object::Object;

/// One Go value.
#[derive(Clone, Debug)]
pub enum Value {
    /// Go's invalid `reflect.Value` (a missing map key): prints `<no value>`.
    Invalid,
    /// A nil `interface{}`: prints `<nil>`.
    Nil,
    Bool(bool),
    /// Go `int`.
    Int(i64),
    /// Go `int64` (sprig's math results).
    Int64(i64),
    Float(f64),
    String(Rc<str>),
    List(Rc<List>),
    Map(Rc<Map>),
    Struct(Rc<Struct>),
    /// Go `[]byte` (`[]uint8`): prints as `[104 105]`, `%s` as text, JSON
    /// as base64.
    Bytes(Rc<[u8]>),
    /// A Go value whose methods take arguments or whose fields are
    /// computed by the caller (Helm's `.Files`, `.Capabilities`).
    Object(Rc<dyn Object>),
}

/// A Go slice.
#[derive(Debug)]
pub struct List {
    /// Go type name, e.g. `[]update.Change`, `[]interface {}`.
    pub ty: Rc<str>,
    /// A nil slice (prints like an empty one; JSON `null`).
    pub nil: bool,
    pub items: Vec<Value>,
}

/// A Go map, entries kept in Go's `fmtsort` key order.
#[derive(Debug)]
pub struct Map {
    /// Go type name, e.g. `map[string]string`.
    pub ty: Rc<str>,
    /// The zero value of the element type (what `index` gives for a missing key).
    pub zero: Value,
    pub nil: bool,
    /// Sorted entries; a `RefCell` because sprig's `set`/`unset` mutate maps
    /// in place, as Go maps are references.
    pub entries: RefCell<Vec<(Value, Value)>>,
    /// The name of a named map type (`common.Values`) whose underlying
    /// type is `ty`: what `typeOf` and error texts show.
    pub named: Option<Rc<str>>,
}

/// A Go struct value with its zero-argument methods already evaluated.
#[derive(Debug)]
pub struct Struct {
    /// Go type name as Flux would print it, e.g. `update.Change`.
    pub ty: Rc<str>,
    pub fields: Vec<Field>,
    /// Zero-argument methods (value receivers) and their results.
    pub methods: Vec<(&'static str, Value)>,
    /// The result of `String()` when the type is a `fmt.Stringer`.
    pub stringer: Option<Rc<str>>,
}

#[derive(Debug)]
pub struct Field {
    pub name: &'static str,
    pub value: Value,
    /// An embedded (anonymous) field whose fields are promoted.
    pub embedded: bool,
    pub exported: bool,
}

pub const IFACE: &str = "interface {}";

impl Value {
    pub fn str(s: impl Into<Rc<str>>) -> Value {
        Value::String(s.into())
    }

    /// A slice of the given Go type.
    pub fn list(ty: &str, items: Vec<Value>) -> Value {
        Value::List(Rc::new(List {
            ty: ty.into(),
            nil: false,
            items,
        }))
    }

    /// A nil slice of the given Go type.
    pub fn nil_list(ty: &str) -> Value {
        Value::List(Rc::new(List {
            ty: ty.into(),
            nil: true,
            items: Vec::new(),
        }))
    }

    /// A map; entries are sorted here as Go's `fmtsort` does.
    pub fn map(ty: &str, zero: Value, mut entries: Vec<(Value, Value)>) -> Value {
        entries.sort_by(|a, b| compare_keys(&a.0, &b.0));
        Value::Map(Rc::new(Map {
            ty: ty.into(),
            zero,
            nil: false,
            entries: RefCell::new(entries),
            named: None,
        }))
    }

    pub fn nil_map(ty: &str, zero: Value) -> Value {
        Value::Map(Rc::new(Map {
            ty: ty.into(),
            zero,
            nil: true,
            entries: RefCell::new(Vec::new()),
            named: None,
        }))
    }

    /// Go's type name of the value (`reflect.Type.String()`).
    pub fn type_name(&self) -> String {
        match self {
            Value::Invalid => "<invalid reflect.Value>".into(),
            Value::Nil => "<nil>".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) => "int".into(),
            Value::Int64(_) => "int64".into(),
            Value::Float(_) => "float64".into(),
            Value::String(_) => "string".into(),
            Value::List(l) => l.ty.to_string(),
            Value::Map(m) => m.named.as_deref().unwrap_or(&m.ty).to_string(),
            Value::Struct(s) => s.ty.to_string(),
            Value::Bytes(_) => "[]uint8".into(),
            Value::Object(o) => o.type_name(),
        }
    }

    /// Go's `reflect.Kind` name, used by some error texts.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Invalid | Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Float(_) => "float64",
            Value::String(_) => "string",
            Value::List(_) => "slice",
            Value::Map(_) => "map",
            Value::Struct(_) => "struct",
            Value::Bytes(_) => "slice",
            Value::Object(o) => o.kind(),
        }
    }

    pub fn is_valid(&self) -> bool {
        !matches!(self, Value::Invalid)
    }

    /// text/template's `isTrue`: the zero value of its type is false.
    pub fn truth(&self) -> bool {
        match self {
            Value::Invalid | Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Int64(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::List(l) => !l.items.is_empty(),
            Value::Map(m) => !m.entries.borrow().is_empty(),
            Value::Struct(_) => true,
            Value::Bytes(b) => !b.is_empty(),
            Value::Object(o) => o.underlying().is_none_or(|u| u.truth()),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) | Value::Int64(i) => Some(*i),
            _ => None,
        }
    }

    /// A map lookup by key (struct keys compare field by field): a binary
    /// search, entries being sorted.
    pub fn map_get(m: &Map, key: &Value) -> Option<Value> {
        let e = m.entries.borrow();
        let i = e.binary_search_by(|(k, _)| compare_keys(k, key)).ok()?;
        let (k, v) = &e[i];
        same_kind(k, key).then(|| v.clone())
    }

    /// A lookup by string key in a map with string keys.
    pub fn map_get_str(m: &Map, key: &str) -> Option<Value> {
        let e = m.entries.borrow();
        let i = e
            .binary_search_by(|(k, _)| match k {
                Value::String(s) => s.as_bytes().cmp(key.as_bytes()),
                other => compare_keys(other, &Value::str(key)),
            })
            .ok()?;
        Some(e[i].1.clone())
    }

    /// Inserts or replaces a key, keeping Go's sorted order.
    pub fn map_set(m: &Map, key: Value, val: Value) {
        let mut e = m.entries.borrow_mut();
        match e.binary_search_by(|(k, _)| compare_keys(k, &key)) {
            Ok(i) => e[i].1 = val,
            Err(i) => e.insert(i, (key, val)),
        }
    }

    /// Removes a key.
    pub fn map_remove(m: &Map, key: &Value) {
        let mut e = m.entries.borrow_mut();
        if let Ok(i) = e.binary_search_by(|(k, _)| compare_keys(k, key)) {
            e.remove(i);
        }
    }

    /// Go's `len`.
    pub fn go_len(&self) -> Option<usize> {
        match self {
            Value::String(s) => Some(s.len()),
            Value::List(l) => Some(l.items.len()),
            Value::Map(m) => Some(m.entries.borrow().len()),
            Value::Bytes(b) => Some(b.len()),
            Value::Object(o) => o.underlying().and_then(|u| u.go_len()),
            _ => None,
        }
    }

    /// Sets `key` of a map with string keys in place (Go maps are
    /// references: every holder of the map sees it). `false` when the value
    /// is not a map.
    pub fn set_key(&self, key: &str, val: Value) -> bool {
        match self {
            Value::Map(m) => {
                Value::map_set(m, Value::str(key), val);
                true
            }
            _ => false,
        }
    }

    /// The value of `key` in a map with string keys.
    pub fn get_key(&self, key: &str) -> Option<Value> {
        match self {
            Value::Map(m) => Value::map_get_str(m, key),
            _ => None,
        }
    }

    /// The map as a value of the named map type `name` whose underlying
    /// type is the map's (Helm's `.Values` and top-level data are
    /// `common.Values`, a `map[string]interface {}`). Other values are
    /// returned as they are.
    pub fn with_type_name(self, name: &str) -> Value {
        match self {
            Value::Map(m) => {
                let m = Rc::try_unwrap(m).unwrap_or_else(|shared| Map {
                    ty: Rc::clone(&shared.ty),
                    zero: shared.zero.clone(),
                    nil: shared.nil,
                    entries: RefCell::new(shared.entries.borrow().clone()),
                    named: None,
                });
                Value::Map(Rc::new(Map {
                    named: Some(name.into()),
                    ..m
                }))
            }
            other => other,
        }
    }

    /// Go `[]byte`.
    pub fn bytes(b: impl Into<Rc<[u8]>>) -> Value {
        Value::Bytes(b.into())
    }

    /// A `map[string]interface {}` (Helm's values maps), entries sorted here.
    pub fn dict(entries: Vec<(String, Value)>) -> Value {
        Value::map(
            crate::funcs::DICT,
            Value::Nil,
            entries
                .into_iter()
                .map(|(k, v)| (Value::str(k), v))
                .collect(),
        )
    }

    /// A `[]interface {}`.
    pub fn iface_list(items: Vec<Value>) -> Value {
        Value::list(IFACE_LIST, items)
    }

    /// The Go value Helm's templates see for decoded JSON (or YAML through
    /// `sigs.k8s.io/yaml`): objects become `map[string]interface {}`,
    /// arrays `[]interface {}`, integers that fit `int64` are `int64` (as
    /// `--set` gives them), every other number `float64`, null a nil
    /// `interface {}`.
    /// [`Value::from_json`] of an object, without wrapping (cloning) it.
    pub fn from_json_map(o: &serde_json::Map<String, serde_json::Value>) -> Value {
        let mut entries: Vec<(Value, Value)> = o
            .iter()
            .map(|(k, v)| (Value::str(k.as_str()), Value::from_json(v)))
            .collect();
        entries.sort_by(|a, b| compare_keys(&a.0, &b.0));
        Value::Map(Rc::new(Map {
            ty: DICT_TY.with(Rc::clone),
            zero: Value::Nil,
            nil: false,
            entries: RefCell::new(entries),
            named: None,
        }))
    }

    pub fn from_json(j: &serde_json::Value) -> Value {
        match j {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) if !n.is_f64() => Value::Int64(i),
                _ => Value::Float(n.as_f64().unwrap_or_default()),
            },
            serde_json::Value::String(s) => Value::str(s.as_str()),
            serde_json::Value::Array(a) => {
                Value::iface_list(a.iter().map(Value::from_json).collect())
            }
            serde_json::Value::Object(o) => Value::from_json_map(o),
        }
    }

    /// Go's `encoding/json.Marshal` of the value, as text (map keys sorted,
    /// HTML characters escaped, float64 in Go's form). The error is Go's
    /// (`json: unsupported value: NaN`).
    pub fn to_json_string(&self) -> Result<String, String> {
        crate::gofmt::to_json_checked(self)
    }

    /// [`Value::to_json_string`] read back as a `serde_json::Value`: what
    /// `sigs.k8s.io/yaml` sees (integral numbers without exponent are
    /// integers, others floats).
    pub fn to_json(&self) -> Result<serde_json::Value, String> {
        let text = self.to_json_string()?;
        serde_json::from_str(&text).map_err(|e| e.to_string())
    }
}

const IFACE_LIST: &str = "[]interface {}";

thread_local! {
    static DICT_TY: Rc<str> = Rc::from(crate::funcs::DICT);
}

impl std::fmt::Display for Value {
    /// Go's `fmt.Sprint` of the value (`%v`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::gofmt::print_value(self))
    }
}

fn same_kind(a: &Value, b: &Value) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

impl Struct {
    /// Field lookup with Go's promotion through embedded structs (breadth first).
    pub fn field(&self, name: &str) -> Option<&Field> {
        if let Some(f) = self.fields.iter().find(|f| f.name == name) {
            return Some(f);
        }
        for f in self.fields.iter().filter(|f| f.embedded) {
            if let Value::Struct(inner) = &f.value
                && let Some(found) = inner.field(name)
            {
                return Some(found);
            }
        }
        None
    }

    pub fn method(&self, name: &str) -> Option<&Value> {
        self.methods
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }
}

/// Go's `internal/fmtsort` order: numbers numerically, strings bytewise,
/// structs field by field, nil first, values of different kinds by kind.
pub fn compare_keys(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Int(x) | Value::Int64(x), Value::Int(y) | Value::Int64(y)) => x.cmp(y),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Struct(x), Value::Struct(y)) => {
            for (fx, fy) in x.fields.iter().zip(y.fields.iter()) {
                let c = compare_keys(&fx.value, &fy.value);
                if c != Ordering::Equal {
                    return c;
                }
            }
            Ordering::Equal
        }
        (Value::Nil | Value::Invalid, Value::Nil | Value::Invalid) => Ordering::Equal,
        (Value::Nil | Value::Invalid, _) => Ordering::Less,
        (_, Value::Nil | Value::Invalid) => Ordering::Greater,
        _ => rank(a).cmp(&rank(b)),
    }
}

fn rank(v: &Value) -> u8 {
    match v {
        Value::Invalid | Value::Nil => 0,
        Value::Bool(_) => 1,
        Value::Int(_) | Value::Int64(_) => 2,
        Value::Float(_) => 3,
        Value::String(_) => 4,
        Value::List(_) => 5,
        Value::Map(_) => 6,
        Value::Struct(_) => 7,
        Value::Bytes(_) => 5,
        Value::Object(_) => 8,
    }
}

/// Plain string field helper for building structs.
pub fn field(name: &'static str, value: Value) -> Field {
    Field {
        name,
        value,
        embedded: false,
        exported: true,
    }
}

/// Embedded struct field helper.
pub fn embedded(name: &'static str, value: Value) -> Field {
    Field {
        name,
        value,
        embedded: true,
        exported: true,
    }
}

/// Builds a struct value.
pub fn make_struct(
    ty: &str,
    fields: Vec<Field>,
    methods: Vec<(&'static str, Value)>,
    stringer: Option<String>,
) -> Value {
    Value::Struct(Rc::new(Struct {
        ty: ty.into(),
        fields,
        methods,
        stringer: stringer.map(Into::into),
    }))
}
