//! Flux's reconcile metrics (`gotk_reconcile_duration_seconds`,
//! `gotk_reconcile_condition`, `gotk_suspend_status`, with Flux's names,
//! help texts, labels and buckets) and the HTTP endpoints a Deployment
//! probes: `/metrics`, `/healthz`, `/readyz`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use ferroflux_api::meta::{Condition, condition};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::source::ObjectKey;

/// An object's labels; the series of one object share their strings (a
/// thousand objects hold eight thousand condition series).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ObjectLabels {
    kind: Arc<str>,
    name: Arc<str>,
    namespace: Arc<str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConditionLabels {
    #[prometheus(flatten)]
    object: ObjectLabels,
    #[prometheus(flatten)]
    condition: ConditionStatus,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConditionStatus {
    r#type: &'static str,
    status: &'static str,
}

/// Flux records these four values of a condition, one of them 1.
const STATUSES: [&str; 4] = ["True", "False", "Unknown", "Deleted"];

fn duration_histogram() -> Histogram {
    // Flux: prometheus.ExponentialBuckets(10e-3, 10, 5).
    Histogram::new(exponential_buckets(10e-3, 10.0, 5))
}

/// The metric families of one process.
pub struct Metrics {
    registry: Registry,
    duration: Family<ObjectLabels, Histogram, fn() -> Histogram>,
    condition: Family<ConditionLabels, Gauge>,
    suspend: Family<ObjectLabels, Gauge>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

fn labels(key: &ObjectKey) -> ObjectLabels {
    ObjectLabels {
        kind: key.kind.as_str().into(),
        name: key.name.as_str().into(),
        namespace: key.namespace.as_str().into(),
    }
}

impl Metrics {
    /// prometheus-client ends every help text with a full stop itself.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let duration = Family::<ObjectLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            duration_histogram as fn() -> Histogram,
        );
        let condition = Family::<ConditionLabels, Gauge>::default();
        let suspend = Family::<ObjectLabels, Gauge>::default();
        registry.register(
            "gotk_reconcile_duration_seconds",
            "The duration in seconds of a GitOps Toolkit resource reconciliation",
            duration.clone(),
        );
        registry.register(
            "gotk_reconcile_condition",
            "The current condition status of a GitOps Toolkit resource reconciliation",
            condition.clone(),
        );
        registry.register(
            "gotk_suspend_status",
            "The current suspend status of a GitOps Toolkit resource",
            suspend.clone(),
        );
        Metrics {
            registry,
            duration,
            condition,
            suspend,
        }
    }

    /// One reconcile of `key` took `seconds`.
    pub fn observe_duration(&self, key: &ObjectKey, seconds: f64) {
        self.duration.get_or_create(&labels(key)).observe(seconds);
    }

    /// The Ready condition and suspend flag after a reconcile.
    pub fn record_status(&self, key: &ObjectKey, conditions: &[Condition], suspended: bool) {
        let ready = conditions
            .iter()
            .find(|c| c.type_ == condition::READY)
            .map_or("Unknown", |c| c.status.as_str());
        self.set_condition(key, ready);
        self.suspend
            .get_or_create(&labels(key))
            .set(i64::from(suspended));
    }

    /// The object is gone: Flux sets `status="Deleted"` to 1.
    pub fn record_deleted(&self, key: &ObjectKey) {
        self.set_condition(key, "Deleted");
        self.suspend.remove(&labels(key));
        self.duration.remove(&labels(key));
    }

    fn set_condition(&self, key: &ObjectKey, current: &str) {
        let object = labels(key);
        for status in STATUSES {
            let l = ConditionLabels {
                object: object.clone(),
                condition: ConditionStatus {
                    r#type: condition::READY,
                    status,
                },
            };
            self.condition
                .get_or_create(&l)
                .set(i64::from(status == current));
        }
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::warn!("metrics encoding failed: {e}");
        }
        out
    }
}

/// `/metrics`, `/healthz` (alive) and `/readyz` (200 once `ready` is set).
pub fn router(metrics: Arc<Metrics>, ready: Arc<AtomicBool>) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(move || {
                let m = Arc::clone(&metrics);
                async move {
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        m.encode(),
                    )
                }
            }),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(move || {
                let r = Arc::clone(&ready);
                async move {
                    if r.load(Ordering::Acquire) {
                        (StatusCode::OK, "ok")
                    } else {
                        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
                    }
                }
            }),
        )
}

#[cfg(test)]
mod tests;
