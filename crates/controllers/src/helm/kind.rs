//! HelmRelease as a [`Kind`]: runs on its interval, when its chart source's
//! artifact revision moves (the HelmChart `spec.chart` makes, or its
//! `chartRef`), when a HelmRelease it `dependsOn` changes readiness, and
//! when a `valuesFrom` Secret or (labelled) ConfigMap changes. A run resolves what it reads now
//! (dependencies, the source's artifact, the `valuesFrom` Secrets), then
//! its job reads `valuesFrom` ConfigMaps from the cluster, fetches and
//! loads the chart, asks the target cluster for its Helm storage and runs
//! helm-controller's action loop ([`super::release`]).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ferroflux_api::helm::{HelmRelease, ValuesKind, reason as hr_reason};
use ferroflux_api::meta::{Condition, ObjectMeta, condition, reason};
use ferroflux_api::source::Artifact;
use ferroflux_artifact::fetch::{FetchError, FetchOptions};
use ferroflux_helm::action::PostRender;
use serde_json::{Value, json};

use super::release::{self, HelmReleaseResult, ReleaseInput, mark};
use super::values::{self, ValuesSource};
use crate::kind::cx::ConfigMapsRead;
use crate::kind::{
    Cleanup, Cx, FirstRun, Job, Kind, KindInfo, Lookup, ObjectKey, Reconciled, Ref, Run, Said,
    SecretData, Watch, after_if_ready, always,
};
use crate::kustomize::KustomizationOptions;
use crate::status::{Event, EventType, Outcome, StepError};
use crate::target::{TargetFactory, TargetSpec};

#[cfg(test)]
mod tests;

/// helm-controller's `--requeue-dependency` default.
pub const REQUEUE_DEPENDENCY: Duration = Duration::from_secs(30);

impl Kind for HelmRelease {
    const INFO: KindInfo = KindInfo {
        kind: "HelmRelease",
        group: "helm.toolkit.fluxcd.io",
        version: "v2",
        section: "helmreleases",
    };
    type Object = HelmRelease;
    const FINALIZES: bool = true;

    fn meta(obj: &HelmRelease) -> &ObjectMeta {
        &obj.metadata
    }

    fn meta_mut(obj: &mut HelmRelease) -> &mut ObjectMeta {
        &mut obj.metadata
    }

    fn from_manifest(object: &ferroflux_api::manifest::Object) -> Option<HelmRelease> {
        match object {
            ferroflux_api::manifest::Object::HelmRelease(o) => Some(o.clone()),
            _ => None,
        }
    }

    /// The HelmChart `spec.chart` makes, as helm-controller creates it.
    fn derived(obj: &HelmRelease) -> Vec<Value> {
        helm_chart_for(obj).into_iter().collect()
    }

    fn conditions(obj: &HelmRelease) -> &[Condition] {
        obj.status.as_ref().map_or(&[], |s| s.conditions.as_slice())
    }

    fn suspended(obj: &HelmRelease) -> bool {
        obj.spec.suspend == Some(true)
    }

    fn watches() -> Vec<Watch<Self>> {
        vec![
            Watch {
                upstream: "HelmChart",
                refs: |k, o| chart_source_ref(k, o, "HelmChart"),
                when: artifact_revision_moved,
            },
            Watch {
                upstream: "OCIRepository",
                refs: |k, o| chart_source_ref(k, o, "OCIRepository"),
                when: artifact_revision_moved,
            },
            Watch {
                upstream: "HelmRelease",
                refs: dependency_refs,
                when: readiness_or_revision_moved,
            },
            Watch {
                upstream: "Secret",
                refs: values_secret_refs,
                when: always,
            },
            Watch {
                upstream: "ConfigMap",
                refs: values_config_map_refs,
                when: always,
            },
        ]
    }

    fn first_run(obj: &HelmRelease) -> FirstRun {
        after_if_ready(Self::conditions(obj), obj.spec.interval.to_std())
    }

    /// When Ready: the chart version last attempted.
    fn detail(obj: &HelmRelease, _: Option<&str>) -> Option<String> {
        if !crate::kind::is_ready(Self::conditions(obj)) {
            return None;
        }
        obj.status.as_ref()?.last_attempted_revision.clone()
    }

    fn reconcile(key: &ObjectKey, obj: &HelmRelease, _: Run, cx: &dyn Cx) -> Option<Job> {
        let resolved = resolve(key, obj, cx.objects(), cx);
        let targets = cx.targets();
        let options = cx.stores().kustomize.clone();
        let clock = cx.clock();
        let key = key.clone();
        Some(Box::pin(async move {
            let now = clock.now_time();
            let r = run(resolved, targets.as_ref(), &options, now).await;
            let said = Said::Event(r.events.last().cloned());
            Reconciled::new(&key, &r.status, said, r.outcome)
        }))
    }

    /// helm-controller's finalizer: uninstall the release (unless
    /// suspended: Flux then leaves it).
    fn cleanup(key: &ObjectKey, obj: &HelmRelease, cx: &dyn Cx) -> Option<Cleanup> {
        if obj.spec.suspend == Some(true) {
            return None;
        }
        let key = key.clone();
        let hr = obj.clone();
        let targets = cx.targets();
        let clock = cx.clock();
        let default_sa = cx.stores().kustomize.default_service_account.clone();
        Some(Arc::new(move || {
            let (key, hr, targets, clock) =
                (key.clone(), hr.clone(), targets.clone(), clock.clone());
            let default_sa = default_sa.clone();
            Box::pin(async move {
                let spec = target_spec(&hr, default_sa.as_deref());
                let target = targets.target(&spec).await.map_err(|e| e.to_string())?;
                let helm_for = |ns: &str| target.helm(ns);
                let events = release::uninstall_release(
                    &hr,
                    &helm_for,
                    &ferroflux_helm::chart::Chart::default(),
                    clock.now_time(),
                )
                .await?;
                for e in &events {
                    tracing::info!(object = %key, reason = %e.reason, "{}", e.message);
                }
                Ok(())
            })
        }))
    }
}

/// The source `spec.chartRef` names, or the HelmChart `spec.chart` makes
/// (`<namespace>-<name>` in the sourceRef's namespace).
pub fn chart_source_key(key: &ObjectKey, hr: &HelmRelease) -> Option<ObjectKey> {
    if let Some(r) = &hr.spec.chart_ref {
        let ns = r
            .namespace
            .as_deref()
            .filter(|n| !n.is_empty())
            .unwrap_or(&key.namespace);
        return Some(ObjectKey::new(&r.kind, ns, &r.name));
    }
    let c = hr.spec.chart.as_ref()?;
    let ns = c
        .spec
        .source_ref
        .namespace
        .as_deref()
        .filter(|n| !n.is_empty())
        .unwrap_or(&key.namespace);
    Some(ObjectKey::new(
        "HelmChart",
        ns,
        &format!("{}-{}", key.namespace, key.name),
    ))
}

fn chart_source_ref(key: &ObjectKey, hr: &HelmRelease, kind: &str) -> Vec<Ref> {
    chart_source_key(key, hr)
        .filter(|k| k.kind == kind)
        .map(Ref::Object)
        .into_iter()
        .collect()
}

/// The HelmReleases of `dependsOn` (namespace defaulted).
pub fn dependency_keys(key: &ObjectKey, hr: &HelmRelease) -> Vec<ObjectKey> {
    hr.spec
        .depends_on
        .iter()
        .map(|d| {
            let ns = d
                .namespace
                .as_deref()
                .filter(|n| !n.is_empty())
                .unwrap_or(&key.namespace);
            ObjectKey::new("HelmRelease", ns, &d.name)
        })
        .collect()
}

fn dependency_refs(key: &ObjectKey, hr: &HelmRelease) -> Vec<Ref> {
    dependency_keys(key, hr)
        .into_iter()
        .map(Ref::Object)
        .collect()
}

fn values_secret_refs(key: &ObjectKey, hr: &HelmRelease) -> Vec<Ref> {
    hr.spec
        .values_from
        .iter()
        .filter(|v| v.kind == ValuesKind::Secret)
        .map(|v| Ref::Object(ObjectKey::new("Secret", &key.namespace, &v.name)))
        .collect()
}

/// The `valuesFrom` ConfigMaps (a cluster home reports those labelled
/// `reconcile.fluxcd.io/watch: Enabled`, as helm-controller watches them).
fn values_config_map_refs(key: &ObjectKey, hr: &HelmRelease) -> Vec<Ref> {
    hr.spec
        .values_from
        .iter()
        .filter(|v| v.kind == ValuesKind::ConfigMap)
        .map(|v| Ref::Object(ObjectKey::new("ConfigMap", &key.namespace, &v.name)))
        .collect()
}

/// A new `artifact.revision`, or a first artifact.
fn artifact_revision_moved(old: Option<&Value>, new: Option<&Value>) -> bool {
    let at = |v: Option<&Value>| v.and_then(|v| v.pointer("/artifact/revision")).cloned();
    let new_revision = at(new);
    new_revision.is_some() && at(old) != new_revision
}

/// The Ready status, or the attempted chart version, changed.
fn readiness_or_revision_moved(old: Option<&Value>, new: Option<&Value>) -> bool {
    let ready = |v: Option<&Value>| {
        v.and_then(|v| v["conditions"].as_array())
            .and_then(|cs| cs.iter().find(|c| c["type"] == condition::READY))
            .map(|c| c["status"].clone())
    };
    let attempted = |v: Option<&Value>| v.and_then(|v| v.get("lastAttemptedRevision")).cloned();
    ready(old) != ready(new) || attempted(old) != attempted(new)
}

/// A chart source as a run reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartSource {
    pub key: ObjectKey,
    pub artifact: Artifact,
}

/// What a source object says about itself, for [`check_source`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceView {
    pub generation: Option<i64>,
    pub observed_generation: Option<i64>,
    pub ready: Option<Condition>,
    pub artifact: Option<Artifact>,
}

/// The source kinds a home holds, as the HelmRelease reads them: their
/// object types live with their kinds, so each is asked in turn.
pub fn source_view(lookup: &dyn Lookup, key: &ObjectKey) -> Option<SourceView> {
    if let Some(o) = lookup
        .object(key)
        .and_then(|a| a.downcast_ref::<ferroflux_api::source::OCIRepository>())
    {
        let st = o.status.clone().unwrap_or_default();
        return Some(SourceView {
            generation: o.metadata.generation,
            observed_generation: st.observed_generation,
            ready: crate::status::get(&st.conditions, condition::READY).cloned(),
            artifact: st.artifact,
        });
    }
    // Any other source kind, through its JSON (`status.artifact`,
    // `status.conditions`, `status.observedGeneration`).
    serde_json::from_value::<SourceJson>(lookup.json(key)?)
        .ok()
        .map(SourceJson::view)
}

#[derive(serde::Deserialize)]
struct SourceJson {
    #[serde(default)]
    metadata: ObjectMeta,
    #[serde(default)]
    status: Option<ferroflux_api::source::SourceStatus>,
}

impl SourceJson {
    fn view(self) -> SourceView {
        let st = self.status.unwrap_or_default();
        SourceView {
            generation: self.metadata.generation,
            observed_generation: st.observed_generation,
            ready: crate::status::get(&st.conditions, condition::READY).cloned(),
            artifact: st.artifact,
        }
    }
}

fn plural(kind: &str) -> String {
    match kind {
        "OCIRepository" => "ocirepositories.source.toolkit.fluxcd.io".into(),
        "HelmChart" => "helmcharts.source.toolkit.fluxcd.io".into(),
        "ExternalArtifact" => "externalartifacts.source.toolkit.fluxcd.io".into(),
        other => format!("{}s", other.to_lowercase()),
    }
}

/// `getSource` then `isSourceReady`.
pub fn check_source(key: &ObjectKey, view: Option<SourceView>) -> Result<ChartSource, StepError> {
    let Some(v) = view else {
        return Err(StepError::retry(
            hr_reason::ARTIFACT_FAILED,
            format!(
                "could not get Source object: {} \"{}\" not found",
                plural(&key.kind),
                key.name
            ),
        ));
    };
    let name = format!("{} '{}/{}'", key.kind, key.namespace, key.name);
    if v.generation.is_some() && v.observed_generation != v.generation {
        return Err(StepError::waiting(
            hr_reason::SOURCE_NOT_READY,
            format!("{name} is not up-to-date"),
            REQUEUE_DEPENDENCY,
        ));
    }
    if v.ready.as_ref().is_none_or(|c| c.status != "True") {
        let msg = v.ready.map(|c| c.message).unwrap_or_default();
        return Err(StepError::waiting(
            hr_reason::SOURCE_NOT_READY,
            format!("{name} is not ready: {msg}"),
            REQUEUE_DEPENDENCY,
        ));
    }
    match v.artifact {
        Some(artifact) => Ok(ChartSource {
            key: key.clone(),
            artifact,
        }),
        None => Err(StepError::waiting(
            hr_reason::SOURCE_NOT_READY,
            format!("{name} has no artifact"),
            REQUEUE_DEPENDENCY,
        )),
    }
}

/// `checkDependencies`: each must exist, then satisfy its `readyExpr`
/// (CEL over `self` and `dep`) when it has one, else be Ready and have
/// observed its generation.
pub fn check_dependencies(
    key: &ObjectKey,
    hr: &HelmRelease,
    lookup: &dyn Lookup,
) -> Result<(), StepError> {
    let mut self_json = None;
    for (dep, dep_ref) in dependency_keys(key, hr)
        .into_iter()
        .zip(&hr.spec.depends_on)
    {
        let Some(d) = crate::kind::get::<HelmRelease>(lookup, &dep) else {
            return Err(StepError::waiting(
                hr_reason::DEPENDENCY_NOT_READY,
                format!(
                    "unable to get '{}/{}' dependency: helmreleases.helm.toolkit.fluxcd.io \"{}\" not found",
                    dep.namespace, dep.name, dep.name
                ),
                REQUEUE_DEPENDENCY,
            ));
        };
        if let Some(expr) = dep_ref.ready_expr.as_deref().filter(|e| !e.is_empty()) {
            let e = ferroflux_cel::Expression::parse(expr).map_err(|e| {
                StepError::stalled(
                    reason::INVALID_CEL_EXPRESSION,
                    format!(
                        "{}: failed to evaluate dependency {}: {e}",
                        crate::kustomize::reconcile::TERMINAL_ERROR_MESSAGE,
                        dep.name
                    ),
                )
            })?;
            let vars = vec![
                (
                    "self".to_string(),
                    self_json
                        .get_or_insert_with(|| serde_json::to_value(hr).unwrap_or_default())
                        .clone(),
                ),
                (
                    "dep".to_string(),
                    serde_json::to_value(d).unwrap_or_default(),
                ),
            ];
            match e.evaluate_bool(vars) {
                Ok(true) => continue,
                Ok(false) => {
                    return Err(StepError::waiting(
                        hr_reason::DEPENDENCY_NOT_READY,
                        format!(
                            "dependency '{}/{}' is not ready according to readyExpr eval",
                            dep.namespace, dep.name
                        ),
                        REQUEUE_DEPENDENCY,
                    ));
                }
                Err(e) => {
                    return Err(StepError::waiting(
                        hr_reason::DEPENDENCY_NOT_READY,
                        e.to_string(),
                        REQUEUE_DEPENDENCY,
                    ));
                }
            }
        }
        let st = d.status.clone().unwrap_or_default();
        let ready = crate::status::is_true(&st.conditions, condition::READY);
        if d.metadata.generation != st.observed_generation || !ready {
            return Err(StepError::waiting(
                hr_reason::DEPENDENCY_NOT_READY,
                format!("dependency '{}/{}' is not ready", dep.namespace, dep.name),
                REQUEUE_DEPENDENCY,
            ));
        }
    }
    Ok(())
}

/// What a run read while the runtime held the objects.
pub struct Resolved {
    pub hr: HelmRelease,
    pub key: ObjectKey,
    /// Dependencies, then the source: the first error stops the run.
    pub source: Result<ChartSource, StepError>,
    pub secrets: BTreeMap<String, Option<SecretData>>,
    /// ConfigMaps already known (a home without a cluster), by name.
    pub config_maps: BTreeMap<String, Result<Option<BTreeMap<String, String>>, String>>,
    /// The ConfigMaps' read from the cluster, when one holds them.
    pub config_map_read: Option<ConfigMapsRead>,
    pub default_service_account: Option<String>,
}

fn resolve(key: &ObjectKey, hr: &HelmRelease, lookup: &dyn Lookup, cx: &dyn Cx) -> Resolved {
    let source = check_dependencies(key, hr, lookup).and_then(|()| {
        let skey = chart_source_key(key, hr).ok_or_else(|| {
            StepError::stalled(
                reason::INVALID_SOURCE_CONFIGURATION,
                "either chart or chartRef must be set",
            )
        })?;
        check_source(&skey, source_view(lookup, &skey))
    });
    let ns = &key.namespace;
    let mut secrets = BTreeMap::new();
    let mut cm_names = Vec::new();
    for v in &hr.spec.values_from {
        match v.kind {
            ValuesKind::Secret => {
                secrets.insert(
                    v.name.clone(),
                    cx.secrets().secret(ns, &v.name).ok().cloned(),
                );
            }
            ValuesKind::ConfigMap => cm_names.push(v.name.clone()),
        }
    }
    let mut config_maps = BTreeMap::new();
    let mut config_map_read = None;
    if !cm_names.is_empty() {
        config_map_read = cx.config_maps(ns, cm_names.clone());
        if config_map_read.is_none() {
            for n in cm_names {
                let got = cx.secrets().config_map(ns, &n);
                config_maps.insert(n, got);
            }
        }
    }
    Resolved {
        hr: hr.clone(),
        key: key.clone(),
        source,
        secrets,
        config_maps,
        config_map_read,
        default_service_account: cx.stores().kustomize.default_service_account.clone(),
    }
}

struct ValuesData<'a>(&'a Resolved);

impl ValuesSource for ValuesData<'_> {
    fn data(
        &self,
        kind: ValuesKind,
        _: &str,
        name: &str,
    ) -> Result<Option<BTreeMap<String, Vec<u8>>>, String> {
        match kind {
            ValuesKind::Secret => Ok(self.0.secrets.get(name).cloned().flatten()),
            ValuesKind::ConfigMap => match self.0.config_maps.get(name) {
                None | Some(Ok(None)) => Ok(None),
                Some(Ok(Some(d))) => Ok(Some(
                    d.iter()
                        .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
                        .collect(),
                )),
                Some(Err(e)) => Err(e.clone()),
            },
        }
    }
}

/// The cluster the HelmRelease asks for.
pub fn target_spec(hr: &HelmRelease, default_service_account: Option<&str>) -> TargetSpec {
    let ns = hr.metadata.namespace.clone().unwrap_or_default();
    let secret = hr
        .spec
        .kube_config
        .as_ref()
        .and_then(|k| k.secret_ref.as_ref());
    TargetSpec {
        requester: format!(
            "HelmRelease/{ns}/{}",
            hr.metadata.name.as_deref().unwrap_or_default()
        ),
        namespace: ns,
        kube_config_secret: secret.map(|s| s.name.clone()),
        kube_config_key: secret.and_then(|s| s.key.clone()).filter(|k| !k.is_empty()),
        service_account_name: hr
            .spec
            .service_account_name
            .clone()
            .filter(|s| !s.is_empty())
            .or_else(|| default_service_account.map(str::to_string)),
    }
}

/// A run that stopped before the action loop: Ready=False with the step's
/// reason (Stalled too when terminal), and an event.
pub fn failed_before(
    hr: &HelmRelease,
    e: &StepError,
    now: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time,
) -> HelmReleaseResult {
    let mut status = hr.status.clone().unwrap_or_default();
    let generation = hr.metadata.generation;
    mark(
        &mut status.conditions,
        condition::READY,
        "False",
        e.reason(),
        e.message(),
        generation,
        now,
    );
    let outcome = match e {
        StepError::Stalled { .. } => {
            mark(
                &mut status.conditions,
                condition::STALLED,
                "True",
                e.reason(),
                e.message(),
                generation,
                now,
            );
            status
                .conditions
                .retain(|c| c.type_ != condition::RECONCILING);
            status.observed_generation = generation;
            Outcome::Wait
        }
        StepError::Waiting { retry_after, .. } => {
            mark(
                &mut status.conditions,
                condition::RECONCILING,
                "True",
                reason::PROGRESSING_WITH_RETRY,
                e.message(),
                generation,
                now,
            );
            Outcome::RequeueAfter(*retry_after)
        }
        StepError::Retry { .. } => {
            mark(
                &mut status.conditions,
                condition::RECONCILING,
                "True",
                reason::PROGRESSING_WITH_RETRY,
                e.message(),
                generation,
                now,
            );
            Outcome::Backoff
        }
    };
    HelmReleaseResult {
        status,
        events: vec![Event {
            type_: if e.reason() == hr_reason::DEPENDENCY_NOT_READY {
                EventType::Normal
            } else {
                EventType::Warning
            },
            reason: e.reason().to_string(),
            message: e.message().to_string(),
        }],
        outcome,
    }
}

/// What every run records: the request it handled, and `status.helmChart`
/// (the HelmChart `spec.chart` makes; cleared for a `chartRef`).
fn handled(mut r: HelmReleaseResult, hr: &HelmRelease) -> HelmReleaseResult {
    if let Some(at) = crate::status::requested_at(&hr.metadata) {
        r.status.last_handled_reconcile_at = Some(at);
    }
    r.status.helm_chart = helm_chart_status(hr).unwrap_or_default();
    r
}

async fn run(
    mut resolved: Resolved,
    targets: &dyn TargetFactory,
    options: &KustomizationOptions,
    now: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time,
) -> HelmReleaseResult {
    let hr = resolved.hr.clone();
    let source = match &resolved.source {
        Ok(s) => s.clone(),
        Err(e) => return handled(failed_before(&hr, e, &now), &hr),
    };
    if let Some(read) = resolved.config_map_read.take() {
        resolved.config_maps = read.await;
    }
    let ns = hr.metadata.namespace.clone().unwrap_or_default();
    let values = match values::compose(
        &ns,
        hr.spec.values.as_ref(),
        &hr.spec.values_from,
        &ValuesData(&resolved),
    ) {
        Ok(v) => v,
        Err(e) => {
            let e = StepError::retry(hr_reason::VALUES_ERROR, e.to_string());
            return handled(failed_before(&hr, &e, &now), &hr);
        }
    };
    let chart = match load_chart(&source, options).await {
        Ok(c) => c,
        Err(e) => return handled(failed_before(&hr, &e, &now), &hr),
    };
    let spec = target_spec(&hr, resolved.default_service_account.as_deref());
    let target = match targets.target(&spec).await {
        Ok(t) => t,
        Err(e) => {
            let e = match e {
                StepError::Stalled { .. } => e,
                other => StepError::retry(hr_reason::REST_CLIENT_ERROR, other.message()),
            };
            return handled(failed_before(&hr, &e, &now), &hr);
        }
    };
    let mut chart = chart;
    let oci_digest = match mutate_chart_with_source_revision(
        &chart.metadata.version,
        &source.key.kind,
        &source.artifact.revision,
    ) {
        Ok((version, digest)) => {
            // The release record is written from the Go map of Chart.yaml:
            // the mutated version must reach it (helm list shows it).
            chart.metadata.version = version;
            chart.metadata.refresh_go_map();
            digest
        }
        Err(e) => {
            let e = StepError::stalled(hr_reason::CHART_MUTATE_ERROR, e);
            return handled(failed_before(&hr, &e, &now), &hr);
        }
    };
    let input = ReleaseInput {
        post_render: Some(post_renderer(&hr)),
        hr: hr.clone(),
        chart,
        values: values.into_iter().collect(),
        oci_digest,
        default_to_retry_on_failure: false,
    };
    let helm_for = |ns: &str| target.helm(ns);
    let r = release::reconcile_release(input, &helm_for, now).await;
    handled(r, &hr)
}

/// `mutateChartWithSourceRevision`: a chart from an OCIRepository (or an
/// ExternalArtifact whose revision holds a digest) gets the first 12 hex
/// digits of its revision's digest as version metadata (`6.5.0+1c9e39ac27e5`);
/// the digest is `lastAttemptedRevisionDigest`. A semver tag must be the
/// chart's version.
pub fn mutate_chart_with_source_revision(
    chart_version: &str,
    kind: &str,
    revision: &str,
) -> Result<(String, String), String> {
    let tracked = kind == "OCIRepository" || (kind == "ExternalArtifact" && revision.contains(':'));
    if !tracked {
        return Ok((chart_version.to_string(), String::new()));
    }
    let semver = ferroflux_helm::chart::semver::parse_loose;
    let ver =
        semver(chart_version).ok_or_else(|| format!("invalid chart version {chart_version}"))?;
    let digest_part = |rev: &str| -> Result<String, String> {
        match rev.split(':').collect::<Vec<_>>().as_slice() {
            [_, sha] if sha.len() >= 12 => sha
                .get(..12)
                .map(str::to_string)
                .ok_or_else(|| format!("invalid artifact revision {rev}")),
            _ => Err(format!("invalid artifact revision {rev}")),
        }
    };
    let tag = revision
        .split('@')
        .next()
        .unwrap_or_default()
        .replace('_', "+");
    let (sha, rev_digest) = match semver(&tag).filter(|_| revision.contains('@')) {
        Some(tag_ver) => {
            let pair: Vec<&str> = revision.split('@').collect();
            let same = (tag_ver.major, tag_ver.minor, tag_ver.patch, tag_ver.pre)
                == (ver.major, ver.minor, ver.patch, ver.pre);
            if pair.len() != 2 || !same {
                return Err(format!(
                    "artifact revision {} does not match chart version {chart_version}",
                    pair[0]
                ));
            }
            (digest_part(pair[1])?, pair[1].to_string())
        }
        None if semver(revision).is_some() && !revision.contains(':') => {
            return Err(format!("invalid artifact revision {revision}"));
        }
        None => (digest_part(revision)?, revision.to_string()),
    };
    let mut v = format!("{}.{}.{}", ver.major, ver.minor, ver.patch);
    if !ver.pre.is_empty() {
        v.push('-');
        v.push_str(ver.pre);
    }
    v.push('+');
    v.push_str(&sha);
    Ok((v, rev_digest))
}

/// Fetches the chart artifact (a `.tgz`) into memory, checks its digest,
/// and loads the chart it holds from the archive, as helm-controller's
/// `loader.SecureLoadChartFromURL` does (nothing is unpacked on disk).
pub async fn load_chart(
    source: &ChartSource,
    options: &KustomizationOptions,
) -> Result<ferroflux_helm::chart::Chart, StepError> {
    let fetch_opts = FetchOptions {
        local: options.local_storage.clone(),
        ..options.fetch.clone()
    };
    let a = &source.artifact;
    let archive = match ferroflux_artifact::fetch::fetch_bytes(
        &a.url,
        a.digest.as_deref().unwrap_or_default(),
        &fetch_opts,
    )
    .await
    {
        Ok(bytes) => bytes,
        Err(FetchError::NotFound { .. }) => {
            return Err(StepError::waiting(
                hr_reason::ARTIFACT_FAILED,
                format!(
                    "Source not ready: artifact not found. Retrying in {}",
                    ferroflux_api::Duration::from_std(options.requeue_dependency)
                ),
                options.requeue_dependency,
            ));
        }
        Err(e) => {
            return Err(StepError::retry(
                hr_reason::ARTIFACT_FAILED,
                format!("Could not load chart: {e}"),
            ));
        }
    };
    let load = move || ferroflux_helm::chart::load_archive(&archive).map_err(|e| e.to_string());
    tokio::task::spawn_blocking(load)
        .await
        .map_err(|e| format!("chart load panicked: {e}"))
        .and_then(|r| r)
        .map_err(|e| {
            StepError::stalled(
                hr_reason::ARTIFACT_FAILED,
                format!("Could not load chart: {e}"),
            )
        })
}

/// helm-controller's post-renderers (`BuildPostRenderers`): each
/// `postRenderers[].kustomize` (patches and images, through a kustomize
/// build of the rendered manifest), then `commonMetadata`, then the origin
/// labels `helm.toolkit.fluxcd.io/name` and `/namespace`.
pub fn post_renderer(hr: &HelmRelease) -> PostRender {
    let renderers: Vec<_> = hr
        .spec
        .post_renderers
        .iter()
        .filter_map(|p| p.kustomize.clone())
        .collect();
    let common = hr.spec.common_metadata.clone();
    let name = hr.metadata.name.clone().unwrap_or_default();
    let namespace = hr.metadata.namespace.clone().unwrap_or_default();
    Arc::new(move |manifest: String| {
        let mut out = manifest;
        for k in &renderers {
            out = kustomize_post_render(&out, k)?;
        }
        let mut labels = BTreeMap::new();
        let mut annotations = BTreeMap::new();
        if let Some(c) = &common {
            labels.extend(c.labels.clone().unwrap_or_default());
            annotations.extend(c.annotations.clone().unwrap_or_default());
        }
        let mut resources = ferroflux_kustomize::build::parse_resources("helm-output.yaml", &out)
            .map_err(|e| e.to_string())?;
        for r in &mut resources {
            set_metadata(&mut r.value, "labels", &labels);
            set_metadata(&mut r.value, "annotations", &annotations);
        }
        let origin = BTreeMap::from([
            (format!("{}/name", ferroflux_api::helm::GROUP), name.clone()),
            (
                format!("{}/namespace", ferroflux_api::helm::GROUP),
                namespace.clone(),
            ),
        ]);
        for r in &mut resources {
            set_metadata(&mut r.value, "labels", &origin);
        }
        ferroflux_kustomize::emit::documents(resources.iter().map(|r| &r.value))
            .map_err(|e| e.to_string())
    })
}

fn set_metadata(
    v: &mut ferroflux_kustomize::value::Value,
    field: &str,
    pairs: &BTreeMap<String, String>,
) {
    use ferroflux_kustomize::value::Value as Y;
    if pairs.is_empty() {
        return;
    }
    let Y::Map(obj) = v else { return };
    let Some(meta) = obj.map_entry("metadata") else {
        return;
    };
    let Some(m) = meta.map_entry(field) else {
        return;
    };
    for (k, val) in pairs {
        m.insert(k, Y::Str(val.clone()));
    }
}

fn kustomize_post_render(
    manifest: &str,
    k: &ferroflux_api::helm::KustomizePostRenderer,
) -> Result<String, String> {
    let kustomization = json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": ["helm-output.yaml"],
        "images": k.images,
        "patches": k.patches,
    });
    let mut fs = ferroflux_kustomize::MemFs::new();
    fs.add("/helm-output.yaml", manifest.as_bytes().to_vec());
    fs.add(
        "/kustomization.yaml",
        kustomization.to_string().into_bytes(),
    );
    ferroflux_kustomize::build_yaml(
        &fs,
        Path::new("/"),
        &ferroflux_kustomize::Options::default(),
    )
    .map_err(|e| e.to_string())
}

/// What helm-controller creates from `spec.chart`
/// (`internal/reconcile/helmchart_template.go`): the HelmChart
/// `<namespace>-<name>` in the sourceRef's namespace, as JSON (its type
/// lives with the HelmChart kind). None for a `chartRef`.
pub fn helm_chart_for(hr: &HelmRelease) -> Option<Value> {
    let template = hr.spec.chart.as_ref()?;
    let ns = hr.metadata.namespace.clone().unwrap_or_default();
    let name = hr.metadata.name.clone().unwrap_or_default();
    let s = &template.spec;
    let source_ns = s
        .source_ref
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| ns.clone());
    let mut spec = serde_json::Map::new();
    spec.insert("chart".into(), json!(s.chart));
    spec.insert(
        "version".into(),
        json!(
            s.version
                .clone()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| "*".into())
        ),
    );
    spec.insert(
        "sourceRef".into(),
        json!({"kind": s.source_ref.kind, "name": s.source_ref.name}),
    );
    spec.insert(
        "interval".into(),
        json!(s.interval.unwrap_or(hr.spec.interval).to_string()),
    );
    spec.insert(
        "reconcileStrategy".into(),
        json!(
            s.reconcile_strategy
                .clone()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| "ChartVersion".into())
        ),
    );
    if !s.values_files.is_empty() {
        spec.insert("valuesFiles".into(), json!(s.values_files));
    }
    if s.ignore_missing_values_files == Some(true) {
        spec.insert("ignoreMissingValuesFiles".into(), json!(true));
    }
    if let Some(v) = &s.verify {
        spec.insert(
            "verify".into(),
            serde_json::to_value(v).unwrap_or(Value::Null),
        );
    }
    let mut metadata = json!({
        "name": format!("{ns}-{name}"),
        "namespace": source_ns,
    });
    let mut labels = BTreeMap::new();
    if let Some(m) = &template.metadata {
        labels.extend(m.labels.clone().unwrap_or_default());
        if let Some(a) = m.annotations.as_ref().filter(|a| !a.is_empty()) {
            metadata["annotations"] = json!(a);
        }
    }
    // ssa.SetOwnerLabels: the HelmRelease that owns it.
    labels.insert(format!("{}/name", ferroflux_api::helm::GROUP), name.clone());
    labels.insert(
        format!("{}/namespace", ferroflux_api::helm::GROUP),
        ns.clone(),
    );
    metadata["labels"] = json!(labels);
    Some(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "HelmChart",
        "metadata": metadata,
        "spec": spec,
    }))
}

/// `status.helmChart`: `<namespace>/<name>` of the HelmChart it made.
pub fn helm_chart_status(hr: &HelmRelease) -> Option<String> {
    let c = helm_chart_for(hr)?;
    Some(format!(
        "{}/{}",
        c["metadata"]["namespace"].as_str().unwrap_or_default(),
        c["metadata"]["name"].as_str().unwrap_or_default()
    ))
}
