//! The order of `kustomize build`'s output: kustomize's `legacy` order by
//! default (kinds in a fixed list first and last, then group, version,
//! kind, namespace, name), or the order of accumulation (`fifo`).

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::resource::{Gvk, ResId, Resource};

pub const DEFAULT_ORDER_FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

pub const DEFAULT_ORDER_LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// Sort `resources` in kustomize's legacy order.
pub fn legacy(resources: &mut [Resource], order_first: &[String], order_last: &[String]) {
    let mut rank: HashMap<&str, i64> = HashMap::new();
    let n = order_first.len() as i64;
    for (i, k) in order_first.iter().enumerate() {
        rank.insert(k, i as i64 - n);
    }
    for (i, k) in order_last.iter().enumerate() {
        rank.insert(k, 1 + i as i64);
    }
    let mut keyed: Vec<(ResId, Resource)> =
        resources.iter().map(|r| (r.cur_id(), r.clone())).collect();
    keyed.sort_by(|(a, _), (b, _)| compare(a, b, &rank));
    for (slot, (_, r)) in resources.iter_mut().zip(keyed) {
        *slot = r;
    }
}

fn compare(a: &ResId, b: &ResId, rank: &HashMap<&str, i64>) -> Ordering {
    if a.gvk != b.gvk {
        return gvk_order(&a.gvk, &b.gvk, rank);
    }
    id_sort_string(a).cmp(&id_sort_string(b))
}

fn gvk_order(a: &Gvk, b: &Gvk, rank: &HashMap<&str, i64>) -> Ordering {
    let ra = rank.get(a.kind.as_str()).copied().unwrap_or(0);
    let rb = rank.get(b.kind.as_str()).copied().unwrap_or(0);
    if ra != rb {
        return ra.cmp(&rb);
    }
    // kustomize puts a core Namespace after a namespaced-group one.
    if a.kind == "Namespace" && b.kind == "Namespace" && (a.group.is_empty() || b.group.is_empty())
    {
        return gvk_sort_string(b).cmp(&gvk_sort_string(a));
    }
    gvk_sort_string(a).cmp(&gvk_sort_string(b))
}

fn gvk_sort_string(x: &Gvk) -> String {
    let or = |s: &str, d: &str| {
        if s.is_empty() {
            d.to_string()
        } else {
            s.to_string()
        }
    };
    format!(
        "{}_{}_{}",
        or(&x.group, "~G"),
        or(&x.version, "~V"),
        or(&x.kind, "~K")
    )
}

fn id_sort_string(id: &ResId) -> String {
    let ns = if id.namespace.is_empty() {
        "~X"
    } else {
        &id.namespace
    };
    let name = if id.name.is_empty() { "~N" } else { &id.name };
    format!("{}|{ns}|{name}", id.gvk.display())
}
