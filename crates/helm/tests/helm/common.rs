//! Shared helpers of the test modules.

use ferroflux_helm::TemplateArgs;
use ferroflux_kustomize::DiskFs;
use ferroflux_testkit::helm::Helm;
use serde_json::Value;

/// helm crashed (Go panic) where ours must give a clear error instead.
pub const HELM_PANICKED: &str = "<helm panicked>";

/// `helm template ARGS`: its stdout, or what it prints after `Error: `
/// ([`HELM_PANICKED`] when it panicked instead).
pub fn helm_template(helm: &Helm, args: &[String]) -> Result<String, String> {
    let run = helm.template(args);
    if run.ok {
        return Ok(run.stdout);
    }
    if !run.stderr.contains("Error: ") && run.stderr.contains("panic: ") {
        return Err(HELM_PANICKED.to_string());
    }
    let at = run.stderr.find("Error: ").expect("helm says Error:");
    Err(run.stderr[at + "Error: ".len()..].trim_end().to_string())
}

/// `ferroflux helm template ARGS` through the library, with a fixed clock
/// and random key: what the CLI prints, or the error after `Error: `.
pub fn ours_template(args: &[String]) -> Result<String, String> {
    let mut args = TemplateArgs::parse(args).map_err(|e| e.to_string())?;
    args.now = Some(ferroflux_template::Timestamp {
        unix_secs: 1_700_000_000,
        nanos: 0,
        offset_secs: 0,
        zone: "UTC".to_string(),
    });
    args.seed = Some([42; 32]);
    let fs = DiskFs::new("/").map_err(|e| e.to_string())?;
    ferroflux_helm::template(&fs, &args).map_err(|e| e.helm_message())
}

/// `v` with every number as an f64, so that helm's printed JSON (where
/// `8` reads back as an integer) compares with our floats by value; our
/// own values are checked to be floats separately.
pub fn numbers_as_f64(v: &Value) -> Value {
    match v {
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        Value::Array(items) => Value::Array(items.iter().map(numbers_as_f64).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), numbers_as_f64(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Every number in `v` is a float (as Go's `encoding/json` gives them).
pub fn all_numbers_f64(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.is_f64(),
        Value::Array(items) => items.iter().all(all_numbers_f64),
        Value::Object(map) => map.values().all(all_numbers_f64),
        _ => true,
    }
}
