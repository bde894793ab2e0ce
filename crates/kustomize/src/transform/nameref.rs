//! Name references: after prefixes, suffixes and namespaces changed names,
//! every field that names another resource (a ConfigMap in a volume, a
//! ServiceAccount in a RoleBinding, ...) is set to that resource's new name
//! (kustomize's `nameReferenceTransformer`, run once over the whole build).

use super::fieldspec::{self, FieldSpec, NameBackRef};
use crate::resource::{Gvk, Resource};
use crate::value::Value;

/// One field of a referrer to update, and the kind it names.
struct Filter<'a> {
    spec: &'a FieldSpec,
    target: &'a Gvk,
}

pub fn run(resources: &mut [Resource], back_refs: &[NameBackRef]) -> Result<(), String> {
    let mut filters: Vec<Vec<Filter>> = (0..resources.len()).map(|_| Vec::new()).collect();
    let org_ids: Vec<_> = resources.iter().map(Resource::org_id).collect();
    for back_ref in back_refs {
        for spec in &back_ref.referrers {
            for (i, id) in org_ids.iter().enumerate() {
                if id.gvk.is_selected(&spec.gvk) {
                    filters[i].push(Filter {
                        spec,
                        target: &back_ref.gvk,
                    });
                }
            }
        }
    }
    for (i, list) in filters.iter().enumerate() {
        if list.is_empty() {
            continue;
        }
        let candidates = referable_by(resources, i)?;
        let snapshot: Vec<Resource> = candidates.iter().map(|&c| resources[c].clone()).collect();
        let referrer = resources[i].clone();
        for f in list {
            let spec = FieldSpec {
                gvk: Gvk::default(),
                path: f.spec.path.clone(),
                create: f.spec.create,
            };
            let mut set = |node: &mut Value| set_node(node, &referrer, f, &snapshot);
            fieldspec::apply(&mut resources[i].value, &spec, None, &mut set).map_err(|e| {
                format!(
                    "updating name reference in '{}' field of '{}': {e}",
                    f.spec.path,
                    referrer.cur_id().display()
                )
            })?;
        }
    }
    Ok(())
}

/// kustomize's `SubsetThatCouldBeReferencedByResource`.
fn referable_by(resources: &[Resource], i: usize) -> Result<Vec<usize>, String> {
    let referrer = &resources[i];
    let id = referrer.cur_id();
    if id.gvk.is_cluster_scoped() {
        return Ok((0..resources.len()).collect());
    }
    let binding_namespaces = role_binding_namespaces(referrer)?;
    Ok(resources
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            let other = r.cur_id();
            other.gvk.is_cluster_scoped()
                || other.ns_equals(&id)
                || binding_namespaces.contains(&r.namespace())
        })
        .map(|(j, _)| j)
        .collect())
}

/// The namespaces of a RoleBinding's ServiceAccount subjects.
fn role_binding_namespaces(r: &Resource) -> Result<Vec<String>, String> {
    if r.kind() != "RoleBinding" {
        return Ok(Vec::new());
    }
    let Some(Value::Seq(subjects)) = r.value.get("subjects") else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for s in subjects {
        let Some(m) = s.as_map() else { continue };
        let (Some(ns), Some(kind)) = (m.get("namespace"), m.get("kind")) else {
            continue;
        };
        if kind.as_str() == Some("ServiceAccount") {
            match ns {
                Value::Str(n) => out.push(n.clone()),
                _ => {
                    return Err(format!(
                        "Invalid Input: namespace is blank for resource {:?}",
                        r.cur_id().display()
                    ));
                }
            }
        }
    }
    Ok(out)
}

fn set_node(
    node: &mut Value,
    referrer: &Resource,
    f: &Filter,
    candidates: &[Resource],
) -> Result<(), String> {
    match node {
        Value::Null => Ok(()),
        Value::Map(_) => set_mapping(node, referrer, f, candidates),
        Value::Seq(items) => {
            for item in items {
                match item {
                    Value::Map(_) => set_mapping(item, referrer, f, candidates)?,
                    Value::Seq(_) => {}
                    _ => set_scalar(item, referrer, f, candidates)?,
                }
            }
            Ok(())
        }
        _ => set_scalar(node, referrer, f, candidates),
    }
}

fn set_scalar(
    node: &mut Value,
    referrer: &Resource,
    f: &Filter,
    candidates: &[Resource],
) -> Result<(), String> {
    let old = node.scalar_text().unwrap_or_default();
    let all: Vec<&Resource> = candidates.iter().collect();
    let Some(referral) = select(&old, all, referrer, f, names_equal)? else {
        return Ok(());
    };
    let name = referral.name();
    if name != old {
        *node = Value::Str(name);
    }
    Ok(())
}

fn set_mapping(
    node: &mut Value,
    referrer: &Resource,
    f: &Filter,
    candidates: &[Resource],
) -> Result<(), String> {
    let Some(m) = node.as_map_mut() else {
        return Err("expect a mapping node".to_string());
    };
    let Some(old) = m.get("name").and_then(Value::scalar_text) else {
        return Err("path config error; no 'name' field in node".to_string());
    };
    let in_ns: Vec<&Resource> = match m.get("namespace") {
        None => candidates.iter().collect(),
        Some(ns) => {
            let ns = ns.scalar_text().unwrap_or_default();
            let by_org: Vec<&Resource> = candidates
                .iter()
                .filter(|r| {
                    let id = r.org_id();
                    !id.gvk.is_cluster_scoped() && id.effective_namespace() == ns
                })
                .collect();
            if by_org.is_empty() {
                candidates
                    .iter()
                    .filter(|r| {
                        let id = r.cur_id();
                        !id.gvk.is_cluster_scoped() && id.effective_namespace() == ns
                    })
                    .collect()
            } else {
                by_org
            }
        }
    };
    let Some(referral) = select(&old, in_ns, referrer, f, names_and_namespaces_equal)? else {
        return Ok(());
    };
    let (name, namespace) = (referral.name(), referral.namespace());
    if name == old && namespace.is_empty() {
        return Ok(());
    }
    m.insert("name", Value::Str(name));
    if !namespace.is_empty() {
        m.insert("namespace", Value::Str(namespace));
    }
    Ok(())
}

fn names_equal(rs: &[&Resource]) -> bool {
    rs.iter().all(|r| r.name() == rs[0].name())
}

fn names_and_namespaces_equal(rs: &[&Resource]) -> bool {
    rs.iter()
        .all(|r| r.name() == rs[0].name() && r.namespace() == rs[0].namespace())
}

fn select<'r>(
    old: &str,
    candidates: Vec<&'r Resource>,
    referrer: &Resource,
    f: &Filter,
    identical: fn(&[&Resource]) -> bool,
) -> Result<Option<&'r Resource>, String> {
    let mut c: Vec<&Resource> = candidates
        .into_iter()
        .filter(|r| r.prev_ids().iter().any(|id| id.name == old))
        .filter(|r| r.prev_ids().iter().any(|id| id.gvk.is_selected(f.target)))
        .collect();
    if f.spec.path.ends_with("roleRef/name")
        && let Some(gvk) = role_ref_gvk(referrer)
    {
        c.retain(|r| r.prev_ids().iter().any(|id| id.gvk.is_selected(&gvk)));
    }
    let referrer_id = referrer.cur_id();
    if !referrer_id.gvk.is_cluster_scoped() {
        c.retain(|r| {
            let id = r.cur_id();
            id.gvk.is_cluster_scoped() || r.kind() == "ServiceAccount" || referrer_id.ns_equals(&id)
        });
    }
    if c.len() == 1 {
        return Ok(Some(c[0]));
    }
    c.retain(|r| r.prefixes_suffixes_equal(referrer, true));
    if c.len() > 1 {
        c.retain(|r| r.prefixes_suffixes_equal(referrer, false));
    }
    match c.len() {
        0 => Ok(None),
        1 => Ok(Some(c[0])),
        _ if identical(&c) => Ok(Some(c[0])),
        _ => {
            let ids: Vec<String> = c.iter().map(|r| r.cur_id().display()).collect();
            Err(format!(
                "found multiple possible referrals: {}",
                ids.join(", ")
            ))
        }
    }
}

fn role_ref_gvk(r: &Resource) -> Option<Gvk> {
    let role_ref = r.value.get("roleRef")?;
    Some(Gvk {
        group: role_ref.get("apiGroup")?.scalar_text()?,
        version: String::new(),
        kind: role_ref.get("kind")?.scalar_text()?,
    })
}
