//! The values a template sees: a small model of the Go types that Flux's
//! template data and sprig's results have. Go's behaviour depends on static
//! types (error texts name them, a missing map key yields the element type's
//! zero value, `int` and `int64` are not interchangeable as arguments), so
//! containers and structs carry their Go type name.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::rc::Rc;

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
        }))
    }

    pub fn nil_map(ty: &str, zero: Value) -> Value {
        Value::Map(Rc::new(Map {
            ty: ty.into(),
            zero,
            nil: true,
            entries: RefCell::new(Vec::new()),
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
            Value::Map(m) => m.ty.to_string(),
            Value::Struct(s) => s.ty.to_string(),
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

    /// A map lookup by key (struct keys compare field by field).
    pub fn map_get(m: &Map, key: &Value) -> Option<Value> {
        m.entries
            .borrow()
            .iter()
            .find(|(k, _)| compare_keys(k, key) == Ordering::Equal && same_kind(k, key))
            .map(|(_, v)| v.clone())
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
        m.entries
            .borrow_mut()
            .retain(|(k, _)| compare_keys(k, key) != Ordering::Equal);
    }

    /// Go's `len`.
    pub fn go_len(&self) -> Option<usize> {
        match self {
            Value::String(s) => Some(s.len()),
            Value::List(l) => Some(l.items.len()),
            Value::Map(m) => Some(m.entries.borrow().len()),
            _ => None,
        }
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
