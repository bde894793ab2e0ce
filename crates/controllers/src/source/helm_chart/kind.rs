//! HelmChart as a [`Kind`]: on its interval or at the first retry, and at
//! once when its source stores a new artifact (source-controller's
//! `requestsForHelmRepositoryChange`/`requestsForGitRepositoryChange`).

use std::time::Duration;

use ferroflux_api::meta::{Condition, ObjectMeta};
use ferroflux_api::source::{GitRepository, HelmChart, HelmRepository};
use ferroflux_artifact::http::{HttpError, HttpOptions};

use super::ChartSource;
use crate::kind::{
    Cleanup, Cx, FirstRun, Job, Kind, KindInfo, ObjectKey, Reconciled, Ref, Run, Said, Watch,
    after_if_ready, get, is_ready,
};
use crate::source::git::artifact_moved;
use crate::source::{git, helm_repository};

impl Kind for HelmChart {
    const INFO: KindInfo = KindInfo {
        kind: super::KIND,
        group: "source.toolkit.fluxcd.io",
        version: "v1",
        section: "sources",
    };
    type Object = HelmChart;
    const FINALIZES: bool = true;

    /// source-controller's `reconcileDelete`: its artifacts go.
    fn cleanup(_: &ObjectKey, obj: &HelmChart, cx: &dyn Cx) -> Option<Cleanup> {
        let hc = obj.clone();
        let storage = cx.stores().artifacts.clone();
        Some(std::sync::Arc::new(move || {
            let (hc, storage) = (hc.clone(), storage.clone());
            Box::pin(async move {
                tokio::task::spawn_blocking(move || {
                    super::delete(&hc, &storage).map_err(|e| e.to_string())
                })
                .await
                .unwrap_or_else(|e| Err(e.to_string()))
            })
        }))
    }

    fn meta(obj: &HelmChart) -> &ObjectMeta {
        &obj.metadata
    }

    fn meta_mut(obj: &mut HelmChart) -> &mut ObjectMeta {
        &mut obj.metadata
    }

    fn from_manifest(object: &ferroflux_api::manifest::Object) -> Option<HelmChart> {
        match object {
            ferroflux_api::manifest::Object::HelmChart(o) => Some(o.clone()),
            _ => None,
        }
    }

    fn conditions(obj: &HelmChart) -> &[Condition] {
        obj.status.as_ref().map_or(&[], |s| s.conditions.as_slice())
    }

    fn suspended(obj: &HelmChart) -> bool {
        obj.spec.suspend == Some(true)
    }

    fn watches() -> Vec<Watch<Self>> {
        vec![
            Watch {
                upstream: helm_repository::KIND,
                refs: |key, obj| source_ref(key, obj, helm_repository::KIND),
                when: artifact_moved,
            },
            Watch {
                upstream: git::KIND,
                refs: |key, obj| source_ref(key, obj, git::KIND),
                when: artifact_moved,
            },
        ]
    }

    fn first_run(obj: &HelmChart) -> FirstRun {
        let every = obj.spec.interval.to_std().max(Duration::from_secs(1));
        after_if_ready(Self::conditions(obj), every)
    }

    /// When Ready: the chart and its stored version.
    fn detail(obj: &HelmChart, _: Option<&str>) -> Option<String> {
        if !is_ready(Self::conditions(obj)) {
            return None;
        }
        let st = obj.status.as_ref()?;
        let a = st.artifact.as_ref()?;
        Some(format!(
            "{}@{}",
            st.observed_chart_name.as_deref().unwrap_or_default(),
            a.revision
        ))
    }

    /// Its source (and the source's Secrets) looked up, then
    /// source-controller's reconcile on a blocking thread that waits for
    /// a chart download on the runtime.
    fn reconcile(key: &ObjectKey, obj: &HelmChart, _: Run, cx: &dyn Cx) -> Option<Job> {
        let hc = obj.clone();
        let source = resolve(key, obj, cx);
        let repositories = if obj.spec.source_ref.kind == git::KIND {
            repositories_of(key, cx)
        } else {
            Vec::new()
        };
        let stores = cx.stores();
        let storage = stores.artifacts.clone();
        let limits = stores.sources.limits;
        let requeue = stores.sources.requeue_dependency;
        let clock = cx.clock();
        let key = key.clone();
        Some(Box::pin(async move {
            let handle = tokio::runtime::Handle::current();
            let r = tokio::task::spawn_blocking(move || {
                let input = super::HelmChartInput {
                    chart: &hc,
                    source: &source,
                    storage: &storage,
                    limits: &limits,
                    requeue_dependency: requeue,
                    repositories: &repositories,
                    oci: None,
                };
                let oci_handle = handle.clone();
                let oci = move |p: &super::ChartPull| {
                    oci_handle.block_on(crate::source::oci_repository::pull_chart(p))
                };
                let input = super::HelmChartInput {
                    oci: Some(&oci),
                    ..input
                };
                let fetch = move |url: &str, opts: &HttpOptions| -> Result<Vec<u8>, HttpError> {
                    handle.block_on(ferroflux_artifact::http::get(url, opts))
                };
                super::reconcile(&input, clock.as_ref(), &fetch)
            })
            .await
            .map_err(|e| e.to_string())?;
            Reconciled::new(&key, &r.status, Said::Event(r.event), r.outcome)
        }))
    }
}

/// `spec.sourceRef` when it is of `kind` (always in its namespace).
fn source_ref(key: &ObjectKey, obj: &HelmChart, kind: &str) -> Vec<Ref> {
    if obj.spec.source_ref.kind != kind {
        return Vec::new();
    }
    vec![Ref::Object(ObjectKey::new(
        kind,
        &key.namespace,
        &obj.spec.source_ref.name,
    ))]
}

/// The HelmRepositories of `key`'s namespace with their Secrets (the
/// credentials of a Git chart's remote dependencies), for a chart from a
/// GitRepository only.
fn repositories_of(key: &ObjectKey, cx: &dyn Cx) -> Vec<super::DependencyRepository> {
    let objects = cx.objects();
    objects
        .keys_in(helm_repository::KIND, &key.namespace)
        .iter()
        .filter_map(|k| get::<HelmRepository>(objects, k))
        .map(|r| {
            let (secret, cert_secret) = crate::source::referenced_secrets(
                cx,
                &key.namespace,
                r.spec.secret_ref.as_ref(),
                r.spec.cert_secret_ref.as_ref(),
            );
            super::DependencyRepository {
                secret,
                cert_secret,
                repository: r.clone(),
            }
        })
        .collect()
}

/// The source `obj` names, as this home holds it.
fn resolve(key: &ObjectKey, obj: &HelmChart, cx: &dyn Cx) -> ChartSource {
    let r = &obj.spec.source_ref;
    let not_found = |plural: &str| {
        ChartSource::Missing(format!(
            "{plural}.source.toolkit.fluxcd.io \"{}\" not found",
            r.name
        ))
    };
    match r.kind.as_str() {
        helm_repository::KIND => {
            let k = ObjectKey::new(helm_repository::KIND, &key.namespace, &r.name);
            let Some(repo) = get::<HelmRepository>(cx.objects(), &k) else {
                return not_found("helmrepositories");
            };
            let (secret, cert_secret) = crate::source::referenced_secrets(
                cx,
                &key.namespace,
                repo.spec.secret_ref.as_ref(),
                repo.spec.cert_secret_ref.as_ref(),
            );
            ChartSource::HelmRepository {
                secret,
                cert_secret,
                repository: Box::new(repo.clone()),
            }
        }
        git::KIND => {
            let k = ObjectKey::new(git::KIND, &key.namespace, &r.name);
            match get::<GitRepository>(cx.objects(), &k) {
                Some(g) => {
                    ChartSource::GitRepository(g.status.as_ref().and_then(|s| s.artifact.clone()))
                }
                None => not_found("gitrepositories"),
            }
        }
        "Bucket" => ChartSource::Missing(format!(
            "source kind 'Bucket' is not supported by ferroflux yet (bucket \"{}\")",
            r.name
        )),
        other => ChartSource::Unsupported(other.to_string()),
    }
}
