//! Decoding generator arguments as kustomize decodes them: Go's
//! `encoding/json` over the YAML turned to JSON, so keys match
//! case-insensitively (the last one wins) and a number or boolean where a
//! string belongs is an error. In `kustomization.yaml` an unknown key is an
//! error too (`DisallowUnknownFields`); in a `generators:` config it is
//! ignored.

use std::collections::BTreeMap;

use super::{Args, Behavior, GenOptions, Kind};
use crate::value::{Map, Value};

/// Why an entry does not decode: the key it is about (for its line) and
/// what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub key: Option<String>,
    /// The list item under `key` it is about.
    pub index: Option<usize>,
    pub message: String,
}

impl DecodeError {
    /// The path of the offending node under the decoded mapping.
    pub fn path(&self) -> Vec<String> {
        self.key
            .iter()
            .cloned()
            .chain(self.index.map(|i| i.to_string()))
            .collect()
    }
}

fn err(key: &str, message: String) -> DecodeError {
    DecodeError {
        key: Some(key.to_string()),
        index: None,
        message,
    }
}

/// The last entry whose key matches `key` case-insensitively.
pub(crate) fn get<'m>(m: &'m Map, key: &str) -> Option<(&'m str, &'m Value)> {
    m.0.iter()
        .rev()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(k, v)| (k.as_str(), v))
}

pub(crate) fn string(m: &Map, key: &str) -> Result<String, DecodeError> {
    match get(m, key) {
        None | Some((_, Value::Null)) => Ok(String::new()),
        Some((_, Value::Str(s) | Value::Timestamp(s))) => Ok(s.clone()),
        Some((k, other)) => Err(err(
            k,
            format!(
                "`{key}` must be a string; quote it (\"{}\")",
                other.scalar_text().unwrap_or_default()
            ),
        )),
    }
}

fn strings(m: &Map, key: &str) -> Result<Vec<String>, DecodeError> {
    match get(m, key) {
        None | Some((_, Value::Null)) => Ok(Vec::new()),
        Some((k, Value::Seq(items))) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Null => Ok(String::new()),
                Value::Str(s) | Value::Timestamp(s) => Ok(s.clone()),
                Value::Map(_) | Value::Seq(_) => Err(DecodeError {
                    index: Some(i),
                    ..err(
                        k,
                        format!(
                            "`{key}[{i}]` must be a string, not a mapping or list; quote \
                             the whole entry"
                        ),
                    )
                }),
                other => Err(DecodeError {
                    index: Some(i),
                    ..err(
                        k,
                        format!(
                            "`{key}[{i}]` must be a string; quote it (\"{}\")",
                            other.scalar_text().unwrap_or_default()
                        ),
                    )
                }),
            })
            .collect(),
        Some((k, _)) => Err(err(k, format!("`{key}` must be a list of strings"))),
    }
}

fn boolean(m: &Map, key: &str) -> Result<bool, DecodeError> {
    match get(m, key).map(|(k, v)| (k, v.resolved())) {
        None | Some((_, Value::Null)) => Ok(false),
        Some((_, Value::Bool(b))) => Ok(b),
        Some((k, _)) => Err(err(k, format!("`{key}` must be true or false"))),
    }
}

fn string_map(m: &Map, key: &str) -> Result<BTreeMap<String, String>, DecodeError> {
    match get(m, key) {
        None | Some((_, Value::Null)) => Ok(BTreeMap::new()),
        Some((k, Value::Map(pairs))) => pairs
            .0
            .iter()
            .map(|(name, v)| match v {
                Value::Str(s) | Value::Timestamp(s) => Ok((name.clone(), s.clone())),
                Value::Null => Ok((name.clone(), String::new())),
                other => Err(err(
                    k,
                    format!(
                        "the value of `{key}.{name}` must be a string; quote it (\"{}\")",
                        other.scalar_text().unwrap_or_default()
                    ),
                )),
            })
            .collect(),
        Some((k, _)) => Err(err(k, format!("`{key}` must be a map of strings"))),
    }
}

fn mapping<'m>(m: &'m Map, key: &str) -> Result<Option<&'m Map>, DecodeError> {
    match get(m, key) {
        None | Some((_, Value::Null)) => Ok(None),
        Some((_, Value::Map(inner))) => Ok(Some(inner)),
        Some((k, _)) => Err(err(k, format!("`{key}` must be a mapping"))),
    }
}

fn check_keys(m: &Map, known: &[&str]) -> Result<(), DecodeError> {
    for (k, _) in &m.0 {
        if !known.iter().any(|f| f.eq_ignore_ascii_case(k)) {
            let mut message = format!("unknown field {k:?}");
            if let Some(hint) = known
                .iter()
                .min_by_key(|f| strsim::damerau_levenshtein(k, f))
                .filter(|f| strsim::damerau_levenshtein(k, f) <= 3)
            {
                message.push_str(&format!("; did you mean `{hint}`?"));
            }
            return Err(err(k, message));
        }
    }
    Ok(())
}

const OPTION_KEYS: &[&str] = &[
    "labels",
    "annotations",
    "disableNameSuffixHash",
    "immutable",
];

/// `generatorOptions`, or a generator's `options`.
pub fn options(m: &Map, strict: bool) -> Result<GenOptions, DecodeError> {
    if strict {
        check_keys(m, OPTION_KEYS)?;
    }
    Ok(GenOptions {
        labels: string_map(m, "labels")?,
        annotations: string_map(m, "annotations")?,
        disable_name_suffix_hash: boolean(m, "disableNameSuffixHash")?,
        immutable: boolean(m, "immutable")?,
    })
}

/// One `configMapGenerator`/`secretGenerator` entry (`strict`), or the
/// body of a builtin generator config (`metadata.name` and
/// `metadata.namespace` stand in for missing `name` and `namespace`).
pub fn generator(m: &Map, kind: Kind, strict: bool) -> Result<Args, DecodeError> {
    if strict {
        let mut known = vec![
            "name",
            "namespace",
            "behavior",
            "literals",
            "files",
            "envs",
            "env",
            "options",
        ];
        if kind == Kind::Secret {
            known.push("type");
        }
        check_keys(m, &known)?;
    }
    let options = match mapping(m, "options")? {
        Some(o) => options(o, strict).map_err(|e| DecodeError {
            key: Some("options".to_string()),
            index: None,
            message: format!("options: {}", e.message),
        })?,
        None => GenOptions::default(),
    };
    let behavior_text = string(m, "behavior")?;
    let mut args = Args {
        kind,
        name: string(m, "name")?,
        namespace: string(m, "namespace")?,
        behavior: Behavior::from_text(&behavior_text),
        literals: strings(m, "literals")?,
        files: strings(m, "files")?,
        envs: strings(m, "envs")?,
        options,
        secret_type: if kind == Kind::Secret {
            string(m, "type")?
        } else {
            String::new()
        },
        source: String::new(),
    };
    if strict {
        // kustomize's FixKustomization moves the deprecated `env` last
        // into `envs`; a generator config's `env` is not read at all.
        let env = string(m, "env")?;
        if !env.is_empty() {
            args.envs.push(env);
        }
    } else if let Some(meta) = mapping(m, "metadata")? {
        if args.name.is_empty() {
            args.name = string(meta, "name")?;
        }
        if args.namespace.is_empty() {
            args.namespace = string(meta, "namespace")?;
        }
    }
    Ok(args)
}

/// The body of a builtin `IAMPolicyGenerator` config.
pub struct IamPolicy {
    pub cloud: String,
    pub k8s_name: String,
    pub k8s_namespace: String,
    pub sa_name: String,
    pub project_id: String,
}

pub fn iam_policy(m: &Map) -> Result<IamPolicy, DecodeError> {
    let empty = Map::default();
    let service = mapping(m, "kubernetesService")?.unwrap_or(&empty);
    let account = mapping(m, "serviceAccount")?.unwrap_or(&empty);
    Ok(IamPolicy {
        cloud: string(m, "cloud")?,
        k8s_name: string(service, "name")?,
        k8s_namespace: string(service, "namespace")?,
        sa_name: string(account, "name")?,
        project_id: string(account, "projectId")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::resolve_plain;

    fn map(pairs: &[(&str, Value)]) -> Map {
        Map(pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect())
    }

    fn s(text: &str) -> Value {
        Value::Str(text.to_string())
    }

    #[test]
    fn keys_match_case_insensitively_and_env_joins_envs() {
        let m = map(&[
            ("Name", s("cm")),
            ("BEHAVIOR", s("merge")),
            ("envs", Value::Seq(vec![s("a.env")])),
            ("env", s("b.env")),
            (
                "options",
                Value::Map(map(&[("immutable", Value::Bool(true))])),
            ),
        ]);
        let a = generator(&m, Kind::ConfigMap, true).unwrap();
        assert_eq!(a.name, "cm");
        assert_eq!(a.behavior, Behavior::Merge);
        assert_eq!(a.envs, ["a.env", "b.env"]);
        assert!(a.options.immutable);
    }

    #[test]
    fn unknown_keys_fail_in_a_kustomization_only() {
        let m = map(&[("name", s("cm")), ("literal", Value::Seq(vec![]))]);
        let e = generator(&m, Kind::ConfigMap, true).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("literal"));
        assert!(e.message.contains("did you mean `literals`"), "{e:?}");
        assert!(generator(&m, Kind::ConfigMap, false).is_ok());
        let typed = map(&[("name", s("cm")), ("type", s("Opaque"))]);
        assert!(generator(&typed, Kind::ConfigMap, true).is_err());
        assert!(generator(&typed, Kind::Secret, true).is_ok());
    }

    #[test]
    fn wrong_types_name_the_key() {
        let cases = [
            map(&[("name", Value::Int(3))]),
            map(&[("literals", s("a=b"))]),
            map(&[("literals", Value::Seq(vec![resolve_plain("12")]))]),
            map(&[(
                "options",
                Value::Map(map(&[("disableNameSuffixHash", s("yes"))])),
            )]),
            map(&[(
                "options",
                Value::Map(map(&[("labels", Value::Map(map(&[("a", Value::Int(1))])))])),
            )]),
            map(&[("options", s("x"))]),
            map(&[("options", Value::Map(map(&[("labels", s("x"))])))]),
        ];
        for m in &cases {
            let e = generator(m, Kind::ConfigMap, true).unwrap_err();
            assert!(e.key.is_some() && !e.message.is_empty(), "{m:?}: {e:?}");
        }
    }

    #[test]
    fn builtin_configs_fall_back_to_metadata() {
        let m = map(&[(
            "metadata",
            Value::Map(map(&[("name", s("n")), ("namespace", s("ns"))])),
        )]);
        let a = generator(&m, Kind::Secret, false).unwrap();
        assert_eq!((a.name.as_str(), a.namespace.as_str()), ("n", "ns"));
        let iam = iam_policy(&map(&[
            ("cloud", s("gke")),
            (
                "serviceAccount",
                Value::Map(map(&[("name", s("g")), ("projectId", s("p"))])),
            ),
        ]))
        .unwrap();
        assert_eq!(
            (
                iam.cloud.as_str(),
                iam.sa_name.as_str(),
                iam.k8s_name.as_str()
            ),
            ("gke", "g", "")
        );
        assert!(iam_policy(&map(&[("kubernetesService", s("x"))])).is_err());
    }
}
