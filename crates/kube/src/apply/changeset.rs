//! The change set of an apply or a prune (`pkg/ssa changeset.go`).

use std::fmt;

use serde_json::Value;

use crate::inventory::{Entry, Inventory, ObjMetadata, ObjRef};

/// What happened to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Created,
    Configured,
    Unchanged,
    Deleted,
    Skipped,
    /// A delete that failed.
    Unknown,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Configured => "configured",
            Action::Unchanged => "unchanged",
            Action::Deleted => "deleted",
            Action::Skipped => "skipped",
            Action::Unknown => "unknown",
        }
    }

    /// Whether the action wrote to the cluster (what goes in the event).
    pub fn changed(self) -> bool {
        !matches!(self, Action::Unchanged | Action::Skipped)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One object's outcome: its identity, the version it was applied with,
/// its subject (`Deployment/default/app`) and the action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSetEntry {
    pub meta: ObjMetadata,
    pub version: String,
    pub subject: String,
    pub action: Action,
}

impl ChangeSetEntry {
    /// The entry of `source` (the dry-run or live object when there is
    /// one: its namespace is what the apiserver kept), `fallback` when it
    /// cannot be read.
    pub(crate) fn new(
        source: &Value,
        fallback: &ObjMetadata,
        version: &str,
        action: Action,
    ) -> Self {
        let meta = ObjMetadata::from_object(source, 0).unwrap_or_else(|_| fallback.clone());
        ChangeSetEntry {
            subject: meta.subject(),
            meta,
            version: version.to_string(),
            action,
        }
    }

    pub(crate) fn of_ref(obj: &ObjRef, action: Action) -> Self {
        ChangeSetEntry {
            meta: obj.meta.clone(),
            version: obj.version.clone(),
            subject: obj.meta.subject(),
            action,
        }
    }
}

impl fmt::Display for ChangeSetEntry {
    /// `Deployment/default/app configured`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.subject, self.action)
    }
}

/// The outcomes of a set of objects, in apply (or delete) order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeSet {
    pub entries: Vec<ChangeSetEntry>,
}

impl ChangeSet {
    /// The objects of the set, for a wait or a prune.
    pub fn objects(&self) -> Vec<ObjRef> {
        self.entries
            .iter()
            .map(|e| ObjRef {
                meta: e.meta.clone(),
                version: e.version.clone(),
            })
            .collect()
    }

    /// Flux's inventory of a successful apply: every entry, skipped and
    /// unchanged included, in order.
    pub fn to_inventory(&self) -> Inventory {
        Inventory {
            entries: self
                .entries
                .iter()
                .map(|e| Entry {
                    id: e.meta.id(),
                    v: e.version.clone(),
                })
                .collect(),
        }
    }

    /// The lines of the entries that changed something, joined by `\n`:
    /// the text of Flux's event (empty when nothing changed).
    pub fn changes(&self) -> String {
        self.entries
            .iter()
            .filter(|e| e.action.changed())
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The objects of `objects` whose delete this set does not confirm
    /// (neither deleted nor skipped): put back in the inventory.
    pub fn survivors(&self, objects: &[ObjRef]) -> Vec<ObjRef> {
        objects
            .iter()
            .filter(|o| {
                !self.entries.iter().any(|e| {
                    e.meta == o.meta && matches!(e.action, Action::Deleted | Action::Skipped)
                })
            })
            .cloned()
            .collect()
    }
}

impl fmt::Display for ChangeSet {
    /// Every entry on a line of its own.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.entries.iter().map(ToString::to_string).collect();
        f.write_str(&lines.join("\n"))
    }
}
