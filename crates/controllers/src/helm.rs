//! HelmRelease (`helm.toolkit.fluxcd.io/v2`), as helm-controller v1.6.3
//! reconciles it (helm-semantics.md §10–§12): the pure pieces that decide
//! without a cluster ([`name`], [`values`], [`digest`], [`state`]), the
//! action loop that runs Helm's actions through the target cluster's
//! [`HelmCluster`](crate::target::HelmCluster) and keeps Flux's status
//! ([`release`]), and the kind's contract with the runtime ([`kind`]).

pub mod digest;
pub mod drift;
pub mod kind;
pub mod name;
pub mod release;
pub mod state;
pub mod values;

pub use kind::helm_chart_for;
pub use release::{HelmReleaseResult, reconcile_release, uninstall_release};

#[cfg(test)]
pub(crate) mod tests;
