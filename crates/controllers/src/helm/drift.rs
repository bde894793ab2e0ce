//! `spec.driftDetection` (helm-controller's `internal/diff` and
//! `CorrectClusterDrift`): which objects' fields are left out, and Flux's
//! wording of a drift (`ConfigMap/ns/name changed (0 additions, 1
//! changes, 0 removals)`) and of its correction.

use ferroflux_api::helm::HelmRelease;

use crate::target::helm::{DiffType, IgnoreRule, JsonDiffSet};

/// `DriftDetectionEnabled`: the drift is corrected.
pub const MODE_ENABLED: &str = "enabled";
/// `DriftDetectionWarn`: the drift is reported only.
pub const MODE_WARN: &str = "warn";

/// Event reasons of the correction.
pub const DRIFT_CORRECTED: &str = "DriftCorrected";
pub const DRIFT_CORRECTION_FAILED: &str = "DriftCorrectionFailed";

/// `MustDetectChanges`: `enabled` or `warn`.
pub fn must_detect(hr: &HelmRelease) -> bool {
    matches!(hr.drift_detection_mode(), MODE_ENABLED | MODE_WARN)
}

/// `spec.driftDetection.ignore` as the diff takes them.
pub fn ignore_rules(hr: &HelmRelease) -> Vec<IgnoreRule> {
    let Some(d) = hr.spec.drift_detection.as_ref() else {
        return Vec::new();
    };
    d.ignore.iter().map(IgnoreRule::from).collect()
}

/// `SummarizeDiffSet` with the default types (removed, changed,
/// excluded): one line per object.
pub fn summarize(set: &JsonDiffSet) -> String {
    let mut lines = Vec::new();
    for d in &set.diffs {
        match d.type_ {
            DiffType::Create => lines.push(format!("{} removed", d.subject)),
            DiffType::Exclude => lines.push(format!("{} excluded", d.subject)),
            DiffType::Update => {
                let (added, changed, removed) = d.counts;
                lines.push(format!(
                    "{} changed ({added} additions, {changed} changes, {removed} removals)",
                    d.subject
                ));
            }
            DiffType::None => {}
        }
    }
    lines.join("\n")
}

/// `SummarizeDiffSetBrief`: `removed: 1, changed: 2, excluded: 0`.
pub fn brief(set: &JsonDiffSet) -> String {
    let count = |t: DiffType| set.diffs.iter().filter(|d| d.type_ == t).count();
    format!(
        "removed: {}, changed: {}, excluded: {}",
        count(DiffType::Create),
        count(DiffType::Update),
        count(DiffType::Exclude)
    )
}

/// An aggregate of errors as apimachinery prints one: the error alone, or
/// `[a, b]`.
pub fn aggregate(errors: &[String]) -> String {
    match errors {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    }
}

/// The correction's event: `None` when nothing was corrected nor failed,
/// else (warning, reason, message).
pub fn correction_event(
    release: &str,
    corrected: &[String],
    errors: &[String],
) -> Option<(bool, &'static str, String)> {
    if !errors.is_empty() {
        let mut msg = String::from("Failed to ");
        if !corrected.is_empty() {
            msg.push_str("partially ");
        }
        msg.push_str(&format!(
            "correct cluster state of release {release}:\n{}",
            errors.join("\n")
        ));
        if !corrected.is_empty() {
            msg.push_str("\n\nSuccessful corrections:\n");
            msg.push_str(&corrected.join("\n"));
        }
        return Some((true, DRIFT_CORRECTION_FAILED, msg));
    }
    if corrected.is_empty() {
        return None;
    }
    Some((
        false,
        DRIFT_CORRECTED,
        format!(
            "Cluster state of release {release} has been corrected:\n{}",
            corrected.join("\n")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::target::helm::JsonDiff;

    fn diff(type_: DiffType, subject: &str, patch: Vec<Value>) -> JsonDiff {
        let count = |op: &str| patch.iter().filter(|p| p["op"] == op).count();
        JsonDiff {
            type_,
            subject: subject.into(),
            desired: Value::Null,
            counts: (count("add"), count("replace"), count("remove")),
            patch,
        }
    }

    #[test]
    fn the_summary_is_flux_s_lines_without_unchanged_objects() {
        let set = JsonDiffSet {
            diffs: vec![
                diff(
                    DiffType::Update,
                    "Deployment/default/hello-world",
                    vec![
                        json!({"op": "add", "path": "/a", "value": 1}),
                        json!({"op": "replace", "path": "/b", "value": 1}),
                        json!({"op": "remove", "path": "/c"}),
                    ],
                ),
                diff(DiffType::Create, "Deployment/default/hello-world2", vec![]),
                diff(DiffType::Exclude, "Deployment/default/hello-world3", vec![]),
                diff(DiffType::None, "Deployment/default/hello-world4", vec![]),
            ],
            errors: vec![],
        };
        assert_eq!(
            summarize(&set),
            "Deployment/default/hello-world changed (1 additions, 1 changes, 1 removals)\n\
             Deployment/default/hello-world2 removed\n\
             Deployment/default/hello-world3 excluded"
        );
        assert_eq!(brief(&set), "removed: 1, changed: 1, excluded: 1");
    }

    #[test]
    fn the_correction_event_says_what_was_corrected_and_what_failed() {
        let ok = vec!["ConfigMap/ns/a created".to_string()];
        let (warning, reason, msg) = correction_event("ns/web.v1", &ok, &[]).unwrap();
        assert!(!warning);
        assert_eq!(reason, DRIFT_CORRECTED);
        assert_eq!(
            msg,
            "Cluster state of release ns/web.v1 has been corrected:\nConfigMap/ns/a created"
        );
        let errs = vec!["ConfigMap/ns/b patch failure: denied".to_string()];
        let (warning, reason, msg) = correction_event("ns/web.v1", &ok, &errs).unwrap();
        assert!(warning);
        assert_eq!(reason, DRIFT_CORRECTION_FAILED);
        assert_eq!(
            msg,
            "Failed to partially correct cluster state of release ns/web.v1:\n\
             ConfigMap/ns/b patch failure: denied\n\nSuccessful corrections:\nConfigMap/ns/a created"
        );
        let (_, _, msg) = correction_event("ns/web.v1", &[], &errs).unwrap();
        assert!(msg.starts_with("Failed to correct cluster state"), "{msg}");
        assert!(correction_event("ns/web.v1", &[], &[]).is_none());
    }

    #[test]
    fn errors_aggregate_as_apimachinery_prints_them() {
        assert_eq!(aggregate(&["a".into()]), "a");
        assert_eq!(aggregate(&["a".into(), "b".into()]), "[a, b]");
    }

    #[test]
    fn only_enabled_and_warn_detect() {
        let mut hr: HelmRelease = serde_json::from_value(json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "a", "namespace": "ns"},
            "spec": {"interval": "1m", "chart": {"spec": {"chart": "c", "sourceRef": {"kind": "HelmRepository", "name": "r"}}}}
        }))
        .unwrap();
        assert!(!must_detect(&hr));
        for (mode, want) in [("warn", true), ("enabled", true), ("disabled", false)] {
            hr.spec.drift_detection = Some(ferroflux_api::helm::DriftDetection {
                mode: Some(mode.into()),
                ignore: vec![],
            });
            assert_eq!(must_detect(&hr), want, "{mode}");
        }
    }
}
