//! Leader election on a `coordination.k8s.io/v1` Lease
//! (`kube-lease-manager`): of several replicas exactly one reconciles; when
//! it dies or stops renewing, another takes the Lease once it expires
//! (within the lease duration), and a clean shutdown releases it at once.

use std::time::Duration;

use kube::Client;
use kube_lease_manager::{LeaseManager, LeaseManagerBuilder};
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    #[error("leader election: Lease {namespace}/{name}: {detail}")]
    Lease {
        namespace: String,
        name: String,
        detail: String,
    },
    #[error(
        "leader election: lease duration {duration:?} must be at least 2s and longer than the renew deadline {renew:?}"
    )]
    Durations { duration: Duration, renew: Duration },
}

/// `--leader-election-*`.
#[derive(Debug, Clone)]
pub struct LeaderOptions {
    pub lease_name: String,
    pub namespace: String,
    /// This replica (the pod name plus a random suffix).
    pub identity: String,
    /// How long a Lease holds without renewal (Flux: 35s).
    pub lease_duration: Duration,
    /// Renew this long before expiry at the latest (Flux's renew deadline
    /// is 30s of 35s: renew within the last 5s).
    pub renew_deadline: Duration,
}

/// Held leadership.
pub struct Leadership {
    rx: watch::Receiver<bool>,
    task: JoinHandle<Result<LeaseManager, kube_lease_manager::LeaseManagerError>>,
    name: String,
}

impl std::fmt::Debug for Leadership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leadership")
            .field("lease", &self.name)
            .finish_non_exhaustive()
    }
}

/// Seconds the lease manager works in (rounded up, at least 1).
fn secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// Check the durations as kube-lease-manager needs them (it panics on a
/// grace period not shorter than the duration).
pub fn lease_seconds(opts: &LeaderOptions) -> Result<(u64, u64), LeaderError> {
    let duration = secs(opts.lease_duration);
    let renew = secs(opts.renew_deadline);
    if duration < 2 || renew >= duration {
        return Err(LeaderError::Durations {
            duration: opts.lease_duration,
            renew: opts.renew_deadline,
        });
    }
    // The grace period: renew this many seconds before expiry.
    Ok((duration, (duration - renew).max(1).min(duration - 1)))
}

/// Wait until this replica holds the Lease (creating it when absent).
pub async fn acquire(client: Client, opts: &LeaderOptions) -> Result<Leadership, LeaderError> {
    let (duration, grace) = lease_seconds(opts)?;
    let fail = |detail: String| LeaderError::Lease {
        namespace: opts.namespace.clone(),
        name: opts.lease_name.clone(),
        detail,
    };
    let manager = LeaseManagerBuilder::new(client, &opts.lease_name)
        .with_namespace(&opts.namespace)
        .with_identity(&opts.identity)
        .with_duration(duration)
        .with_grace(grace)
        .build()
        .await
        .map_err(|e| fail(e.to_string()))?;
    let (mut rx, task) = manager.watch().await;
    tracing::info!(
        lease = %format!("{}/{}", opts.namespace, opts.lease_name),
        identity = %opts.identity,
        "attempting to acquire leader lease"
    );
    if rx.wait_for(|leader| *leader).await.is_err() {
        let detail = match task.await {
            Ok(Err(e)) => e.to_string(),
            Ok(Ok(_)) => "the lease manager stopped".to_string(),
            Err(e) => e.to_string(),
        };
        return Err(fail(detail));
    }
    tracing::info!(identity = %opts.identity, "successfully acquired lease");
    Ok(Leadership {
        rx,
        task,
        name: format!("{}/{}", opts.namespace, opts.lease_name),
    })
}

impl Leadership {
    /// Resolves when the Lease is lost (another holder, or renewals failed).
    pub async fn lost(&mut self) {
        let _ = self.rx.wait_for(|leader| !*leader).await;
    }

    /// Give the Lease up so another replica takes over at once.
    pub async fn release(self) {
        let Leadership { rx, task, name } = self;
        drop(rx);
        match tokio::time::timeout(Duration::from_secs(5), task).await {
            Ok(Ok(Ok(_))) => tracing::info!(lease = %name, "leader lease released"),
            Ok(Ok(Err(e))) => tracing::warn!(lease = %name, "releasing the lease failed: {e}"),
            Ok(Err(e)) => tracing::warn!(lease = %name, "lease task failed: {e}"),
            Err(_) => tracing::warn!(lease = %name, "releasing the lease timed out"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(duration: u64, renew: u64) -> LeaderOptions {
        LeaderOptions {
            lease_name: "l".into(),
            namespace: "flux-system".into(),
            identity: "a".into(),
            lease_duration: Duration::from_secs(duration),
            renew_deadline: Duration::from_secs(renew),
        }
    }

    #[test]
    fn flux_defaults_renew_in_the_last_five_seconds() {
        assert_eq!(lease_seconds(&opts(35, 30)).expect("valid"), (35, 5));
        assert_eq!(lease_seconds(&opts(4, 2)).expect("valid"), (4, 2));
    }

    #[test]
    fn renew_deadline_must_be_shorter_than_the_lease() {
        let err = lease_seconds(&opts(10, 10)).expect_err("equal");
        assert!(err.to_string().contains("renew deadline"), "{err}");
        assert!(lease_seconds(&opts(1, 0)).is_err());
    }
}
