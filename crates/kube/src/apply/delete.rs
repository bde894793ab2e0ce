//! Prune (`pkg/ssa manager_delete.go` with kustomize-controller's
//! options): stale objects deleted in reverse apply order, each only if
//! the live object carries the owner's labels and no exclusion, with
//! background propagation; every object is tried and the errors joined.
//! One rule of ours on top: a Namespace that still holds objects of
//! another Kustomization is left in place (deleting it would delete them).

use kube::api::{Api, DeleteParams, DynamicObject, ListParams};
use kube::discovery::{Discovery, Scope};

use super::{
    Action, ApplyError, ApplyFailure, ChangeSet, ChangeSetEntry, ResourceManager, api_code,
    to_value,
};
use crate::inventory::{
    self, OWNER_NAME_LABEL, OWNER_NAMESPACE_LABEL, ObjRef, Owner, PRUNE_EXCLUSIONS, PruneDecision,
    any_in_metadata,
};

/// How to prune.
#[derive(Debug, Clone)]
pub struct DeleteOptions {
    /// Only objects labelled as this Kustomization's are deleted (`None`:
    /// any object, as Flux's library allows).
    pub owner: Option<Owner>,
    /// Keep a Namespace that holds objects labelled for another owner.
    pub keep_shared_namespaces: bool,
}

impl Default for DeleteOptions {
    fn default() -> Self {
        DeleteOptions {
            owner: None,
            keep_shared_namespaces: true,
        }
    }
}

impl ResourceManager {
    /// Deletes `objects` (the stale ones of an inventory diff) in reverse
    /// apply order. On error the change set says which were deleted or
    /// skipped; [`ChangeSet::survivors`] names the rest.
    pub async fn delete(
        &self,
        objects: &[ObjRef],
        opts: &DeleteOptions,
    ) -> Result<ChangeSet, ApplyFailure> {
        let mut ordered: Vec<&ObjRef> = objects.iter().collect();
        ordered.sort_by(|a, b| inventory::compare(&b.meta, &a.meta));
        let mut change_set = ChangeSet::default();
        let mut errors = String::new();
        for o in ordered {
            let (action, err) = self.delete_one(o, opts).await;
            change_set.entries.push(ChangeSetEntry::of_ref(o, action));
            if let Some(e) = err {
                errors.push_str(&e.to_string());
                errors.push(';');
            }
        }
        if errors.is_empty() {
            Ok(change_set)
        } else {
            Err(ApplyFailure {
                change_set,
                error: ApplyError::DeleteAll(errors),
            })
        }
    }

    async fn delete_one(&self, o: &ObjRef, opts: &DeleteOptions) -> (Action, Option<ApplyError>) {
        let subject = o.meta.subject();
        let query = |message: String| ApplyError::Query {
            subject: subject.clone(),
            message,
        };
        let api = match self.api_for_ref(o).await {
            Ok(api) => api,
            Err(message) => return (Action::Unknown, Some(query(message))),
        };
        let live = match api.get_opt(&o.meta.name).await {
            Ok(Some(live)) => to_value(&live),
            Ok(None) => return (Action::Deleted, None),
            Err(e) => return (Action::Unknown, Some(query(e.to_string()))),
        };
        if let Some(owner) = &opts.owner {
            if inventory::prune_decision(&live, owner) != PruneDecision::Delete {
                return (Action::Skipped, None);
            }
            if opts.keep_shared_namespaces && o.meta.kind == "Namespace" && o.meta.group.is_empty()
            {
                match self.holds_foreign_objects(&o.meta.name, owner).await {
                    Ok(true) => return (Action::Skipped, None),
                    Ok(false) => {}
                    Err(message) => return (Action::Unknown, Some(query(message))),
                }
            }
        } else if any_in_metadata(&live, PRUNE_EXCLUSIONS) {
            return (Action::Skipped, None);
        }
        match api.delete(&o.meta.name, &DeleteParams::background()).await {
            Ok(_) => (Action::Deleted, None),
            Err(e) if api_code(&e) == Some(404) => (Action::Deleted, None),
            Err(e) => (
                Action::Unknown,
                Some(ApplyError::Delete {
                    subject,
                    message: e.to_string(),
                }),
            ),
        }
    }

    /// Whether namespace `ns` holds an object whose owner labels name
    /// another Kustomization: per listable kind, one query for another
    /// name and one for another namespace (at most one object each).
    /// Kinds we may not list are not looked at.
    async fn holds_foreign_objects(&self, ns: &str, owner: &Owner) -> Result<bool, String> {
        let discovery = Discovery::new(self.client.clone())
            .run()
            .await
            .map_err(|e| format!("discovery: {e}"))?;
        let selectors = [
            format!("{OWNER_NAME_LABEL},{OWNER_NAME_LABEL}!={}", owner.name),
            format!(
                "{OWNER_NAMESPACE_LABEL},{OWNER_NAMESPACE_LABEL}!={}",
                owner.namespace
            ),
        ];
        for group in discovery.groups() {
            for (ar, caps) in group.recommended_resources() {
                if caps.scope != Scope::Namespaced || !caps.supports_operation("list") {
                    continue;
                }
                let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), ns, &ar);
                for selector in &selectors {
                    let params = ListParams::default().labels(selector).limit(1);
                    if api.list(&params).await.is_ok_and(|l| !l.items.is_empty()) {
                        return Ok(true);
                    }
                }
            }
        }
        Ok(false)
    }
}
