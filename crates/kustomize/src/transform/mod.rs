//! kustomize's built-in transformers, run for each kustomization on what it
//! accumulated, in kustomize's order: (patchesStrategicMerge, patches,)
//! namespace, namePrefix, nameSuffix, labels/commonLabels,
//! commonAnnotations, (patchesJson6902,) replicas, images, (replacements).
//! The parenthesised ones are refused by the kustomization loader until
//! they exist; each step is one function so they slot in here.

pub mod fieldspec;
mod images;
pub mod nameref;

use std::collections::BTreeMap;

use crate::error::Error;
use crate::kustomization::Kustomization;
use crate::resource::{Gvk, Resource};
use fieldspec::{CreateKind, FieldSpec, Tables};

/// Run the transformers `k` configures over `resources`.
pub fn run(k: &Kustomization, resources: &mut [Resource], tables: &Tables) -> Result<(), Error> {
    let file = k.file.display().to_string();
    let wrap = |e: String| Error::Build(format!("{file}: {e}"));
    if !k.namespace.is_empty() {
        namespace(resources, &k.namespace, tables).map_err(wrap)?;
    }
    if !k.name_prefix.is_empty() {
        prefix_suffix(
            resources,
            &k.name_prefix,
            Affix::Prefix,
            &tables.name_prefix,
        )
        .map_err(wrap)?;
    }
    if !k.name_suffix.is_empty() {
        prefix_suffix(
            resources,
            &k.name_suffix,
            Affix::Suffix,
            &tables.name_suffix,
        )
        .map_err(wrap)?;
    }
    labels(k, resources, tables).map_err(wrap)?;
    if !k.common_annotations.is_empty() {
        set_entries(resources, &k.common_annotations, &tables.common_annotations).map_err(wrap)?;
    }
    for replica in &k.replicas {
        replicas(resources, replica, &tables.replicas).map_err(wrap)?;
    }
    for image in &k.images {
        images::run(resources, image, &tables.images).map_err(wrap)?;
    }
    Ok(())
}

fn namespace(resources: &mut [Resource], ns: &str, tables: &Tables) -> Result<(), String> {
    for i in 0..resources.len() {
        let r = &mut resources[i];
        if r.map().is_none_or(|m| m.is_empty()) {
            continue;
        }
        r.store_previous_id();
        let gvk = r.gvk();
        let api_version = r.api_version();
        let specs: Vec<&FieldSpec> = tables
            .namespace
            .iter()
            .filter(|fs| fs.path != "metadata/namespace")
            .filter(|fs| api_version == "v1" || fs.path != "metadata/name")
            .collect();
        let mut set = |n: &mut crate::value::Value| fieldspec::set_scalar(n, ns);
        if !gvk.is_cluster_scoped() {
            let meta = FieldSpec {
                path: "metadata/namespace".to_string(),
                create: true,
                ..FieldSpec::default()
            };
            fieldspec::apply(&mut r.value, &meta, Some(CreateKind::Scalar), &mut set)?;
        }
        if gvk.kind == "RoleBinding" || gvk.kind == "ClusterRoleBinding" {
            role_binding_subjects(&mut r.value, ns)?;
        }
        for fs in specs {
            fieldspec::apply(&mut r.value, fs, Some(CreateKind::Scalar), &mut set)?;
        }
        let id = resources[i].cur_id();
        let same = resources.iter().filter(|o| o.cur_id().same(&id)).count();
        if same != 1 {
            return Err(format!(
                "namespace transformation produces ID conflict: {}",
                id.display()
            ));
        }
    }
    Ok(())
}

/// kustomize's default for (cluster) role binding subjects: those named
/// `default` get the namespace.
fn role_binding_subjects(obj: &mut crate::value::Value, ns: &str) -> Result<(), String> {
    let Some(crate::value::Value::Seq(subjects)) =
        obj.as_map_mut().and_then(|m| m.get_mut("subjects"))
    else {
        return Ok(());
    };
    for s in subjects {
        let Some(m) = s.as_map_mut() else { continue };
        if m.get("name").and_then(|v| v.as_str()) == Some("default") {
            let slot = match m.get_mut("namespace") {
                Some(v) => v,
                None => {
                    m.insert("namespace", crate::value::Value::Str(String::new()));
                    m.get_mut("namespace").expect("just inserted")
                }
            };
            fieldspec::set_scalar(slot, ns)?;
        }
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Affix {
    Prefix,
    Suffix,
}

/// Kinds whose names a prefix or suffix never changes.
fn skips_affix(gvk: &Gvk) -> bool {
    gvk.kind == "CustomResourceDefinition"
        || gvk.kind == "Namespace"
        || (gvk.group == "apiregistration.k8s.io" && gvk.kind == "APIService")
}

fn prefix_suffix(
    resources: &mut [Resource],
    affix: &str,
    which: Affix,
    specs: &[FieldSpec],
) -> Result<(), String> {
    for r in resources.iter_mut() {
        let org = r.org_id();
        if skips_affix(&org.gvk) {
            continue;
        }
        for fs in specs {
            if !org.gvk.is_selected(&fs.gvk) {
                continue;
            }
            if fs.path == "metadata/name" {
                match which {
                    Affix::Prefix => r.prefixes.push(affix.to_string()),
                    Affix::Suffix => r.suffixes.push(affix.to_string()),
                }
                r.store_previous_id();
            }
            let mut set = |n: &mut crate::value::Value| {
                let cur = n.scalar_text().unwrap_or_default();
                let new = match which {
                    Affix::Prefix => format!("{affix}{cur}"),
                    Affix::Suffix => format!("{cur}{affix}"),
                };
                fieldspec::set_scalar(n, &new)
            };
            fieldspec::apply(&mut r.value, fs, Some(CreateKind::Scalar), &mut set)?;
        }
    }
    Ok(())
}

/// Merge field specs, dropping repeats of the same kind and path.
fn merge(into: &mut Vec<FieldSpec>, more: &[FieldSpec]) {
    for fs in more {
        match into
            .iter_mut()
            .find(|x| x.gvk == fs.gvk && x.path == fs.path)
        {
            Some(x) => x.create |= fs.create,
            None => into.push(fs.clone()),
        }
    }
}

fn labels(k: &Kustomization, resources: &mut [Resource], tables: &Tables) -> Result<(), String> {
    for label in &k.labels {
        let mut specs = label.fields.clone();
        if label.include_selectors {
            merge(&mut specs, &tables.common_labels);
        } else {
            if label.include_templates {
                merge(&mut specs, &tables.template_labels);
            }
            merge(
                &mut specs,
                &[FieldSpec {
                    path: "metadata/labels".to_string(),
                    create: true,
                    ..FieldSpec::default()
                }],
            );
        }
        set_entries(resources, &label.pairs, &specs)?;
    }
    if !k.common_labels.is_empty() {
        set_entries(resources, &k.common_labels, &tables.common_labels)?;
    }
    Ok(())
}

/// Labels and annotations: each pair set in every mapping the specs reach.
fn set_entries(
    resources: &mut [Resource],
    pairs: &BTreeMap<String, String>,
    specs: &[FieldSpec],
) -> Result<(), String> {
    for r in resources.iter_mut() {
        for (key, value) in pairs {
            for fs in specs {
                let mut set = |n: &mut crate::value::Value| fieldspec::set_entry(n, key, value);
                fieldspec::apply(&mut r.value, fs, Some(CreateKind::Map), &mut set)?;
            }
        }
    }
    Ok(())
}

fn replicas(
    resources: &mut [Resource],
    replica: &crate::kustomization::Replica,
    specs: &[FieldSpec],
) -> Result<(), String> {
    let mut found = false;
    for fs in specs {
        for r in resources.iter_mut() {
            let hit = r
                .prev_ids()
                .iter()
                .any(|id| id.name == replica.name && id.gvk.is_selected(&fs.gvk));
            if !hit {
                continue;
            }
            found = true;
            let mut set = |n: &mut crate::value::Value| match n {
                crate::value::Value::Map(_) | crate::value::Value::Seq(_) => {
                    Err("wrong node kind: expected ScalarNode".to_string())
                }
                _ => {
                    *n = crate::value::Value::Int(replica.count);
                    Ok(())
                }
            };
            fieldspec::apply(&mut r.value, fs, Some(CreateKind::Scalar), &mut set)?;
        }
    }
    if !found {
        let gvks: Vec<String> = specs.iter().map(|fs| fs.gvk.display()).collect();
        return Err(format!(
            "resource with name {} does not match a config with the following GVK [{}]",
            replica.name,
            gvks.join(" ")
        ));
    }
    Ok(())
}
