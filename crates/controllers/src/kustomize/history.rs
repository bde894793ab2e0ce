//! `status.history` (fluxcd/pkg `meta.History.Upsert`): the five most recent
//! distinct (build digest, result) pairs, newest first.

use std::collections::BTreeMap;
use std::time::Duration;

use ferroflux_api::meta::Snapshot;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// How many snapshots Flux keeps.
pub const MAX_SIZE: usize = 5;

/// The statuses Flux records (fetch and build failures are not).
pub fn is_recorded(reason: &str) -> bool {
    use ferroflux_api::meta::reason;
    [
        reason::RECONCILIATION_SUCCEEDED,
        reason::RECONCILIATION_FAILED,
        reason::PRUNE_FAILED,
        reason::HEALTH_CHECK_FAILED,
    ]
    .contains(&reason)
}

/// Record one reconcile: an entry with the same digest and status is
/// updated, counted and moved to the front; otherwise a new one is put
/// first. The list is cut to [`MAX_SIZE`].
pub fn upsert(
    history: &mut Vec<Snapshot>,
    digest: &str,
    at: Time,
    took: Duration,
    status: &str,
    metadata: BTreeMap<String, String>,
) {
    let took = ferroflux_api::Duration::from_std(took);
    match history
        .iter()
        .position(|s| s.digest == digest && s.last_reconciled_status == status)
    {
        Some(i) => {
            let mut s = history.remove(i);
            s.last_reconciled = at;
            s.last_reconciled_duration = took;
            s.total_reconciliations += 1;
            s.metadata = metadata;
            history.insert(0, s);
        }
        None => history.insert(
            0,
            Snapshot {
                digest: digest.to_string(),
                first_reconciled: at.clone(),
                last_reconciled: at,
                last_reconciled_duration: took,
                last_reconciled_status: status.to_string(),
                total_reconciliations: 1,
                metadata,
            },
        ),
    }
    history.truncate(MAX_SIZE);
}
