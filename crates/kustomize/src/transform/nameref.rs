//! Name references: after prefixes, suffixes and namespaces changed names,
//! every field that names another resource (a ConfigMap in a volume, a
//! ServiceAccount in a RoleBinding, ...) is set to that resource's new name
//! (kustomize's `nameReferenceTransformer`, run once over the whole build).

use crate::openapi::OpenApi;
use std::collections::HashMap;

use super::fieldspec::{self, FieldSpec, NameBackRef};
use crate::resource::{Gvk, ResId, Resource};
use crate::value::Value;

/// One field of a referrer to update, and the kind it names.
struct Filter<'a> {
    spec: &'a FieldSpec,
    target: &'a Gvk,
}

/// What the selection reads of every resource, computed once: names and
/// namespaces do not change while references are rewritten.
struct Info {
    cur: ResId,
    prev: Vec<ResId>,
    org: ResId,
    cluster: bool,
    /// `cur`'s effective namespace.
    namespace: String,
}

impl Info {
    fn of(r: &Resource, oa: &OpenApi) -> Info {
        // kustomize's PrevIds: the recorded ids only, not the current one.
        let prev = r.previous.clone();
        let cur = r.cur_id();
        let org = prev.first().cloned().unwrap_or_else(|| cur.clone());
        Info {
            cluster: oa.is_cluster_scoped(&cur.gvk),
            namespace: cur.effective_namespace(oa),
            cur,
            prev,
            org,
        }
    }
}

/// The referrer being rewritten and the resources it may name.
struct Scope<'a> {
    resources: &'a [Resource],
    infos: &'a [Info],
    /// Resources by every name they had, in build order.
    by_name: &'a HashMap<&'a str, Vec<usize>>,
    /// Namespaced resources by the effective namespace they were loaded with.
    by_org_namespace: &'a HashMap<String, Vec<usize>>,
    referrer: usize,
    /// Namespaces of a RoleBinding's ServiceAccount subjects.
    binding_namespaces: Vec<String>,
    oa: &'a OpenApi,
}

impl Scope<'_> {
    /// kustomize's `SubsetThatCouldBeReferencedByResource`, for one candidate.
    fn could_refer_to(&self, j: usize) -> bool {
        let me = &self.infos[self.referrer];
        let other = &self.infos[j];
        me.cluster
            || other.cluster
            || other.namespace == me.namespace
            || self.binding_namespaces.contains(&other.cur.namespace)
    }

    /// The candidates that ever had the name `old`.
    fn named(&self, old: &str) -> Vec<usize> {
        self.by_name
            .get(old)
            .map(|list| {
                list.iter()
                    .copied()
                    .filter(|&j| self.could_refer_to(j))
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub fn run(
    resources: &mut [Resource],
    back_refs: &[NameBackRef],
    oa: &OpenApi,
) -> Result<(), String> {
    let infos: Vec<Info> = resources.iter().map(|r| Info::of(r, oa)).collect();
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    for (j, info) in infos.iter().enumerate() {
        for id in &info.prev {
            let list = by_name.entry(id.name.as_str()).or_default();
            if list.last() != Some(&j) {
                list.push(j);
            }
        }
    }
    let mut by_org_namespace: HashMap<String, Vec<usize>> = HashMap::new();
    for (j, info) in infos.iter().enumerate() {
        if !oa.is_cluster_scoped(&info.org.gvk) {
            by_org_namespace
                .entry(info.org.effective_namespace(oa))
                .or_default()
                .push(j);
        }
    }
    let mut filters: Vec<Vec<Filter>> = (0..resources.len()).map(|_| Vec::new()).collect();
    for back_ref in back_refs {
        for spec in &back_ref.referrers {
            for (i, info) in infos.iter().enumerate() {
                if info.org.gvk.is_selected(&spec.gvk) {
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
        let mut value = resources[i].value.clone();
        let scope = Scope {
            resources,
            infos: &infos,
            by_name: &by_name,
            by_org_namespace: &by_org_namespace,
            referrer: i,
            binding_namespaces: role_binding_namespaces(&resources[i])?,
            oa,
        };
        for f in list {
            let spec = FieldSpec {
                gvk: Gvk::default(),
                path: f.spec.path.clone(),
                create: f.spec.create,
            };
            let mut set = |node: &mut Value| set_node(node, &scope, f);
            fieldspec::apply(&mut value, &spec, None, &mut set).map_err(|e| {
                format!(
                    "updating name reference in '{}' field of '{}': {e}",
                    f.spec.path,
                    infos[i].cur.display()
                )
            })?;
        }
        resources[i].value = value;
    }
    Ok(())
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

fn set_node(node: &mut Value, scope: &Scope, f: &Filter) -> Result<(), String> {
    match node {
        Value::Null => Ok(()),
        Value::Map(_) => set_mapping(node, scope, f),
        Value::Seq(items) => {
            for item in items {
                match item {
                    Value::Map(_) => set_mapping(item, scope, f)?,
                    Value::Seq(_) => {}
                    _ => set_scalar(item, scope, f)?,
                }
            }
            Ok(())
        }
        _ => set_scalar(node, scope, f),
    }
}

fn set_scalar(node: &mut Value, scope: &Scope, f: &Filter) -> Result<(), String> {
    let old = node.scalar_text().unwrap_or_default();
    let Some(j) = select(&old, scope.named(&old), scope, f, names_equal)? else {
        return Ok(());
    };
    let name = &scope.infos[j].cur.name;
    if *name != old {
        *node = Value::Str(name.clone());
    }
    Ok(())
}

fn set_mapping(node: &mut Value, scope: &Scope, f: &Filter) -> Result<(), String> {
    let Some(m) = node.as_map_mut() else {
        return Err("expect a mapping node".to_string());
    };
    let Some(old) = m.get("name").and_then(Value::scalar_text) else {
        return Err("path config error; no 'name' field in node".to_string());
    };
    let named = scope.named(&old);
    let in_ns: Vec<usize> = match m.get("namespace") {
        None => named,
        Some(ns) => {
            let ns = ns.scalar_text().unwrap_or_default();
            let by = |id: fn(&Info) -> &ResId| -> Vec<usize> {
                named
                    .iter()
                    .copied()
                    .filter(|&j| {
                        let info = &scope.infos[j];
                        !info.cluster && id(info).effective_namespace(scope.oa) == ns
                    })
                    .collect()
            };
            // kustomize takes the candidates loaded in that namespace if
            // there are any (named so or not), else those now in it.
            let org_group = scope
                .by_org_namespace
                .get(&ns)
                .is_some_and(|l| l.iter().any(|&j| scope.could_refer_to(j)));
            if org_group {
                by(|i| &i.org)
            } else {
                by(|i| &i.cur)
            }
        }
    };
    let Some(j) = select(&old, in_ns, scope, f, names_and_namespaces_equal)? else {
        return Ok(());
    };
    let (name, namespace) = (&scope.infos[j].cur.name, &scope.infos[j].cur.namespace);
    if *name == old && namespace.is_empty() {
        return Ok(());
    }
    m.insert("name", Value::Str(name.clone()));
    if !namespace.is_empty() {
        m.insert("namespace", Value::Str(namespace.clone()));
    }
    Ok(())
}

fn names_equal(scope: &Scope, c: &[usize]) -> bool {
    c.iter()
        .all(|&j| scope.infos[j].cur.name == scope.infos[c[0]].cur.name)
}

fn names_and_namespaces_equal(scope: &Scope, c: &[usize]) -> bool {
    let first = &scope.infos[c[0]].cur;
    c.iter().all(|&j| {
        let id = &scope.infos[j].cur;
        id.name == first.name && id.namespace == first.namespace
    })
}

fn select(
    old: &str,
    mut c: Vec<usize>,
    scope: &Scope,
    f: &Filter,
    identical: fn(&Scope, &[usize]) -> bool,
) -> Result<Option<usize>, String> {
    let infos = scope.infos;
    c.retain(|&j| infos[j].prev.iter().any(|id| id.name == old));
    c.retain(|&j| infos[j].prev.iter().any(|id| id.gvk.is_selected(f.target)));
    let referrer = &scope.resources[scope.referrer];
    if f.spec.path.ends_with("roleRef/name")
        && let Some(gvk) = role_ref_gvk(referrer)
    {
        c.retain(|&j| infos[j].prev.iter().any(|id| id.gvk.is_selected(&gvk)));
    }
    let me = &infos[scope.referrer];
    if !me.cluster {
        c.retain(|&j| {
            let other = &infos[j];
            other.cluster
                || other.cur.gvk.kind == "ServiceAccount"
                || me.namespace == other.namespace
        });
    }
    if c.len() == 1 {
        return Ok(Some(c[0]));
    }
    let resources = scope.resources;
    c.retain(|&j| resources[j].prefixes_suffixes_equal(referrer, true));
    if c.len() > 1 {
        c.retain(|&j| resources[j].prefixes_suffixes_equal(referrer, false));
    }
    match c.len() {
        0 => Ok(None),
        1 => Ok(Some(c[0])),
        _ if identical(scope, &c) => Ok(Some(c[0])),
        _ => {
            let ids: Vec<String> = c.iter().map(|&j| infos[j].cur.display()).collect();
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
