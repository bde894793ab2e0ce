//! `crds`: field specs read from OpenAPI definitions (kustomize's
//! `LoadConfigFromCRDs`).
//!
//! The file is not an `apiextensions.k8s.io` CustomResourceDefinition but the
//! map kube-openapi's generator writes: a type name
//! (`github.com/x/pkg/apis/v1.MyKind`) to `{Schema: {properties: …},
//! Dependencies: […]}`. A definition whose properties hold `kind`,
//! `apiVersion` and `metadata` is a kind, named by the type name's last
//! `.`-separated part (no group or version). Its properties, and those of the
//! definitions they `$ref` (by full type name), carry the extensions:
//!
//! - `x-kubernetes-annotation`: a `commonAnnotations` field spec;
//! - `x-kubernetes-label-selector`: a `commonLabels` field spec;
//! - `x-kubernetes-identity`: a `namePrefix` field spec;
//! - `x-kubernetes-object-ref-api-version` with `x-kubernetes-object-ref-kind`
//!   (and `x-kubernetes-object-ref-name-key`, default `name`): the property's
//!   `<name-key>` holds the name of that kind (a `nameReference` referrer).
//!
//! An extension counts when its value is a string. Nothing here touches the
//! schema strategic merge patches use.

use ferroflux_api::yaml;

use super::fieldspec::{FieldSpec, NameBackRef, Tables, merge_one};
use crate::resource::Gvk;
use crate::value::{Map, Value, from_node};

/// How many `$ref`s deep a property may be from its kind (kustomize has no
/// bound: a cycle overflows its stack).
pub const MAX_REF_DEPTH: usize = 32;
/// How many properties one file may make us visit in all (refs fan out).
pub const MAX_VISITS: usize = 100_000;

/// The field specs one `crds` file adds.
pub fn parse(text: &str) -> Result<Tables, String> {
    let docs = if text.trim_start().starts_with('{') {
        yaml::parse_stream_raw_last_key_wins(text)
    } else {
        yaml::parse_stream_raw(text)
    }
    .map_err(|e| format!("line {}: {}", e.line, e.message))?;
    let Some(node) = docs.into_iter().find_map(|d| d.node) else {
        return Err("the file holds no definitions".to_string());
    };
    let defs = match from_node(&node) {
        Value::Map(m) => m,
        Value::Null => return Err("the file holds no definitions".to_string()),
        _ => {
            return Err("expected a mapping of type names to {Schema, Dependencies}".to_string());
        }
    };
    let mut walk = Walk {
        defs: &defs,
        tables: Tables::default(),
        visits: 0,
    };
    for (name, def) in &defs.0 {
        let props = properties(name, def)?;
        let is_kind = ["kind", "apiVersion", "metadata"]
            .iter()
            .all(|k| props.is_some_and(|p| p.get(k).is_some()));
        if !is_kind {
            continue;
        }
        let gvk = Gvk {
            kind: name.rsplit('.').next().unwrap_or(name).to_string(),
            ..Gvk::default()
        };
        walk.definition(&gvk, name, &mut Vec::new())?;
    }
    Ok(walk.tables)
}

struct Walk<'a> {
    defs: &'a Map,
    tables: Tables,
    visits: usize,
}

impl Walk<'_> {
    fn definition(&mut self, gvk: &Gvk, name: &str, path: &mut Vec<String>) -> Result<(), String> {
        let Some(def) = self.defs.get(name) else {
            return Ok(());
        };
        let Some(props) = properties(name, def)? else {
            return Ok(());
        };
        for (prop, schema) in &props.0 {
            self.visits += 1;
            if self.visits > MAX_VISITS {
                return Err(format!(
                    "the definitions reach more than {MAX_VISITS} properties through $ref"
                ));
            }
            let Value::Map(schema) = schema else {
                continue;
            };
            path.push(prop.clone());
            let result = self.property(gvk, name, schema, path);
            path.pop();
            result?;
        }
        Ok(())
    }

    fn property(
        &mut self,
        gvk: &Gvk,
        name: &str,
        schema: &Map,
        path: &mut Vec<String>,
    ) -> Result<(), String> {
        let spec = |path: &[String]| FieldSpec {
            gvk: gvk.clone(),
            path: path.join("/"),
            create: false,
        };
        let conflict = |e: String| format!("{name}: {e}");
        if extension(schema, "x-kubernetes-annotation").is_some() {
            merge_one(&mut self.tables.common_annotations, &spec(path)).map_err(conflict)?;
        }
        if extension(schema, "x-kubernetes-label-selector").is_some() {
            merge_one(&mut self.tables.common_labels, &spec(path)).map_err(conflict)?;
        }
        if extension(schema, "x-kubernetes-identity").is_some() {
            merge_one(&mut self.tables.name_prefix, &spec(path)).map_err(conflict)?;
        }
        if let (Some(version), Some(kind)) = (
            extension(schema, "x-kubernetes-object-ref-api-version"),
            extension(schema, "x-kubernetes-object-ref-kind"),
        ) {
            let key = extension(schema, "x-kubernetes-object-ref-name-key").unwrap_or("name");
            let mut at = path.clone();
            at.push(key.to_string());
            let back_ref = NameBackRef {
                gvk: Gvk {
                    kind: kind.to_string(),
                    version: version.to_string(),
                    ..Gvk::default()
                },
                referrers: vec![spec(&at)],
            };
            let more = Tables {
                name_reference: vec![back_ref],
                ..Tables::default()
            };
            self.tables.merge(&more).map_err(conflict)?;
        }
        if let Some(target) = schema.get("$ref").and_then(Value::as_str)
            && !target.is_empty()
        {
            if path.len() > MAX_REF_DEPTH {
                return Err(format!(
                    "{name}: $ref {target:?} is more than {MAX_REF_DEPTH} properties deep (a cycle?)"
                ));
            }
            self.definition(gvk, target, path)?;
        }
        Ok(())
    }
}

/// The `properties` of a definition's `Schema` (both matched as Go's JSON
/// decoder matches field names: ignoring case).
fn properties<'a>(name: &str, def: &'a Value) -> Result<Option<&'a Map>, String> {
    let Value::Map(def) = def else {
        return Err(format!("{name}: expected a mapping with a Schema"));
    };
    let Some(schema) = get_fold(def, "Schema") else {
        return Ok(None);
    };
    let schema = match schema {
        Value::Map(s) => s,
        Value::Null => return Ok(None),
        _ => return Err(format!("{name}: Schema is not a mapping")),
    };
    match get_fold(schema, "properties") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Map(p)) => {
            // Go decodes every schema, walked or not.
            match p
                .0
                .iter()
                .find(|(_, v)| !matches!(v, Value::Map(_) | Value::Null))
            {
                Some((prop, _)) => Err(format!("{name}: property {prop:?} is not a schema")),
                None => Ok(Some(p)),
            }
        }
        Some(_) => Err(format!("{name}: Schema.properties is not a mapping")),
    }
}

fn get_fold<'a>(m: &'a Map, key: &str) -> Option<&'a Value> {
    m.get(key).or_else(|| {
        m.0.iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// A vendor extension's value, when it is a string (keys ignore case, as
/// go-openapi lowercases them).
fn extension<'a>(schema: &'a Map, key: &str) -> Option<&'a str> {
    get_fold(schema, key).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEE: &str = r#"{
  "example.com/v1.Bee": {"Schema": {"properties": {
    "apiVersion": {"type": "string"}, "kind": {"type": "string"},
    "metadata": {"$ref": "meta.ObjectMeta"},
    "spec": {"$ref": "example.com/v1.BeeSpec"}}}},
  "example.com/v1.BeeSpec": {"Schema": {"properties": {
    "secretRef": {"x-kubernetes-object-ref-api-version": "v1",
                  "x-kubernetes-object-ref-kind": "Secret"},
    "cmRef": {"x-kubernetes-object-ref-api-version": "v1",
              "x-kubernetes-object-ref-kind": "ConfigMap",
              "x-kubernetes-object-ref-name-key": "cmName"},
    "owner": {"x-kubernetes-identity": ""},
    "notes": {"x-kubernetes-annotation": ""},
    "selector": {"x-kubernetes-label-selector": "", "x-kubernetes-annotation": 3}}}}
}"#;

    #[test]
    fn extensions_become_field_specs_of_the_kind() {
        let t = parse(BEE).unwrap();
        let secret = t
            .name_reference
            .iter()
            .find(|b| b.gvk.kind == "Secret")
            .unwrap();
        assert_eq!(secret.gvk.version, "v1");
        assert_eq!(secret.referrers[0].path, "spec/secretRef/name");
        assert_eq!(secret.referrers[0].gvk.kind, "Bee");
        let cm = t
            .name_reference
            .iter()
            .find(|b| b.gvk.kind == "ConfigMap")
            .unwrap();
        assert_eq!(cm.referrers[0].path, "spec/cmRef/cmName");
        assert_eq!(t.name_prefix[0].path, "spec/owner");
        assert_eq!(t.common_annotations.len(), 1, "a number is no extension");
        assert_eq!(t.common_annotations[0].path, "spec/notes");
        assert_eq!(t.common_labels[0].path, "spec/selector");
    }

    #[test]
    fn a_definition_that_is_no_kind_adds_nothing() {
        let t = parse(
            "a.B:\n  Schema:\n    properties:\n      x:\n        x-kubernetes-identity: ''\n",
        )
        .unwrap();
        assert!(t.name_prefix.is_empty());
    }

    #[test]
    fn an_apiextensions_crd_is_refused() {
        let e = parse("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n")
            .unwrap_err();
        assert!(e.contains("expected a mapping with a Schema"), "{e}");
    }

    #[test]
    fn empty_and_malformed_files_are_refused() {
        assert!(parse("").unwrap_err().contains("no definitions"));
        assert!(parse("[]").unwrap_err().contains("expected a mapping"));
        let e = parse("a.B: {Schema: {properties: 3}}").unwrap_err();
        assert!(e.contains("a.B: Schema.properties is not a mapping"), "{e}");
        let e = parse("a.B: {Schema: {properties: {kind: 1}}}").unwrap_err();
        assert!(e.contains("property \"kind\" is not a schema"), "{e}");
        assert!(parse("{\"a\": ").unwrap_err().starts_with("line "));
    }

    #[test]
    fn a_ref_cycle_is_bounded() {
        let text = "a.K:\n  Schema:\n    properties:\n      kind: {}\n      apiVersion: {}\n      \
                    metadata: {}\n      spec: {$ref: a.S}\na.S:\n  Schema:\n    properties:\n      \
                    next: {$ref: a.S}\n";
        let e = parse(text).unwrap_err();
        assert!(e.contains("more than 32 properties deep"), "{e}");
    }

    #[test]
    fn a_ref_fan_out_is_bounded() {
        // Ten levels of ten properties each referring to the next level.
        let mut text = String::from(
            "l.K:\n  Schema:\n    properties:\n      kind: {}\n      apiVersion: {}\n      \
             metadata: {}\n      spec: {$ref: l.L0}\n",
        );
        for level in 0..10 {
            text.push_str(&format!("l.L{level}:\n  Schema:\n    properties:\n"));
            for p in 0..10 {
                text.push_str(&format!("      p{p}: {{$ref: l.L{}}}\n", level + 1));
            }
        }
        let e = parse(&text).unwrap_err();
        assert!(e.contains("more than 100000 properties"), "{e}");
    }
}
