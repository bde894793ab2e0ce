//! Go values the caller implements: a type with methods that take
//! arguments (`.Files.Get "x"`, `.Capabilities.APIVersions.Has "apps/v1"`),
//! computed fields, a `String()` method, and an underlying Go value for
//! what text/template does with the value itself (`range`, `len`, `index`,
//! printing, JSON).

use std::fmt;

use crate::funcs::P;
use crate::value::Value;

/// A method's Go signature: text/template checks arguments against it
/// (count, then each type) before the call, with Go's error texts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Signature {
    pub params: Vec<P>,
    /// The element type of a variadic last parameter.
    pub variadic: Option<P>,
}

impl Signature {
    pub fn new(params: &[P]) -> Signature {
        Signature {
            params: params.to_vec(),
            variadic: None,
        }
    }

    pub fn variadic(params: &[P], rest: P) -> Signature {
        Signature {
            params: params.to_vec(),
            variadic: Some(rest),
        }
    }
}

/// A Go value implemented by the caller. text/template looks a name up as
/// a method first, then as a field; a value with neither whose
/// [`Object::underlying`] is a `map[string]…` is indexed by the name.
pub trait Object: fmt::Debug {
    /// Go's type name (`reflect.Type.String()`), as error texts and
    /// `typeOf` show it: `engine.files`, `*common.Capabilities`.
    fn type_name(&self) -> String;

    /// Go's `reflect.Kind` name (`kindOf`, `kindIs`): `ptr` for a pointer
    /// to a struct, `map`, `slice`, `struct`.
    fn kind(&self) -> &'static str {
        match self.underlying() {
            Some(Value::Map(_)) => "map",
            Some(Value::List(_) | Value::Bytes(_)) => "slice",
            Some(Value::String(_)) => "string",
            _ => "struct",
        }
    }

    /// The signature of method `name`, if the type has that method.
    fn method(&self, name: &str) -> Option<Signature> {
        let _ = name;
        None
    }

    /// Calls method `name` (one [`Object::method`] names) with arguments
    /// already checked against its signature. An `Err` is the Go error the
    /// method returns (or the panic it raises): the template fails with
    /// `error calling NAME: <text>`.
    fn call(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        let _ = args;
        Err(format!("{} has no method {name}", self.type_name()))
    }

    /// An exported field.
    fn field(&self, name: &str) -> Option<Value> {
        let _ = name;
        None
    }

    /// The result of `String()` when the type is a `fmt.Stringer`: what
    /// `{{ . }}`, `print` and `%s` show.
    fn string(&self) -> Option<String> {
        None
    }

    /// The Go value underneath, when the type is a named map, slice or
    /// string (`type files map[string][]byte`, `type VersionSet []string`):
    /// used for `range`, `len`, `index`, truth, printing and JSON.
    fn underlying(&self) -> Option<Value> {
        None
    }

    /// Go's `encoding/json.Marshal` of the value, when it differs from the
    /// underlying value's (structs with `json` tags). `None`: the
    /// underlying value's JSON, or `{}`.
    fn to_json(&self) -> Option<Result<String, String>> {
        None
    }

    /// The value as `Any`, for code that knows the concrete type.
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }
}
