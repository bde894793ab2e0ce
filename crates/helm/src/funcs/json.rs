//! `toJson`: Go's `encoding/json.Marshal` of the value: map keys sorted
//! bytewise, HTML-safe string escapes, float64 in Go's spelling.

use serde_json::Value;

/// `json.Marshal(v)`. `Err` is Go's message for what JSON cannot hold
/// (NaN and the infinities, which serde_json cannot hold either).
pub fn to_json(value: &Value) -> Result<String, String> {
    let mut out = String::new();
    write(value, &mut out)?;
    Ok(out)
}

fn write(value: &Value, out: &mut String) -> Result<(), String> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.push_str(&i.to_string());
            } else if let Some(u) = n.as_u64() {
                out.push_str(&u.to_string());
            } else {
                out.push_str(&go_json_float(n.as_f64().unwrap_or(0.0))?);
            }
        }
        Value::String(s) => ferroflux_api::gojson::quote_into(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                ferroflux_api::gojson::quote_into(key, out);
                out.push(':');
                write(&map[key.as_str()], out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// `encoding/json`'s float64: `%f`-like below 1e21 and above 1e-6, else
/// the shortest `%e` with a two-digit exponent trimmed of a leading zero.
pub fn go_json_float(f: f64) -> Result<String, String> {
    if !f.is_finite() {
        let name = if f.is_nan() {
            "NaN"
        } else if f > 0.0 {
            "+Inf"
        } else {
            "-Inf"
        };
        return Err(format!("json: unsupported value: {name}"));
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let exp = if exp.starts_with('-') {
            exp.to_string()
        } else {
            format!("+{exp}")
        };
        return Ok(format!("{mantissa}e{exp}"));
    }
    if f == 0.0 && f.is_sign_negative() {
        return Ok("-0".to_string());
    }
    Ok(format!("{f}"))
}
