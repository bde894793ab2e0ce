//! Kustomization (`kustomize.toolkit.fluxcd.io/v1`): the parts of
//! kustomize-controller's reconcile that decide, without a cluster, what
//! happens next: the effective timeout and retry interval, whether the
//! `dependsOn` list lets the apply run ([`dependency`]), and the
//! `status.history` bookkeeping ([`history`]); the run itself
//! ([`reconcile`]: resolve, reconcile, finalize) whose apply, prune and
//! health checks go through the runtime's target cluster; the kind's
//! contract with the runtime ([`kind`]).

pub mod decrypt;
pub mod dependency;
pub mod health_exprs;
pub mod history;
pub mod kind;
pub mod reconcile;

pub use reconcile::{
    FinalizeResult, KustomizationCx, KustomizationInput, KustomizationOptions, KustomizationResult,
    SourceArtifact, finalize, reconcile, resolve,
};

use std::time::Duration;

use ferroflux_api::kustomize::Kustomization;

/// Flux's `--requeue-dependency`: how long a Kustomization waits for a
/// dependency or a source artifact before it looks again.
pub const REQUEUE_DEPENDENCY: Duration = Duration::from_secs(30);

/// Health checks and `WaitForTermination` never wait less than this.
const MIN_TIMEOUT: Duration = Duration::from_secs(30);

/// `spec.timeout`, else the interval less 30 s; never below 30 s
/// (kustomize-controller's `GetTimeout`: the API comment "defaults to the
/// interval" is out of date).
pub fn timeout(ks: &Kustomization) -> Duration {
    let d = match &ks.spec.timeout {
        Some(t) => t.to_std(),
        None => ks.spec.interval.to_std().saturating_sub(MIN_TIMEOUT),
    };
    d.max(MIN_TIMEOUT)
}

/// `spec.retryInterval`, else the interval: the fixed delay after any
/// failure the controller handles (no backoff).
pub fn retry_interval(ks: &Kustomization) -> Duration {
    ks.spec
        .retry_interval
        .map_or_else(|| ks.spec.interval.to_std(), |d| d.to_std())
}

#[cfg(test)]
mod tests;
