//! Receiver as a [`Kind`]: runs on its interval (10 minutes by default)
//! and when the Secret holding its token changed.

use std::time::Duration;

use ferroflux_api::meta::{Condition, ObjectMeta, reason};
use ferroflux_api::notification::Receiver;

use super::token_from_secret;
use crate::kind::{
    Cx, FirstRun, Job, Kind, KindInfo, ObjectKey, Reconciled, Ref, Run, Said, SecretSource, Watch,
    always,
};
use crate::status::{Outcome, StepError};

/// Flux's default `spec.interval` of a Receiver.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(600);

impl Kind for Receiver {
    const INFO: KindInfo = KindInfo {
        kind: "Receiver",
        group: "notification.toolkit.fluxcd.io",
        version: "v1",
        section: "receivers",
    };
    type Object = Receiver;

    fn meta(obj: &Receiver) -> &ObjectMeta {
        &obj.metadata
    }

    fn meta_mut(obj: &mut Receiver) -> &mut ObjectMeta {
        &mut obj.metadata
    }

    fn from_manifest(object: &ferroflux_api::manifest::Object) -> Option<Receiver> {
        match object {
            ferroflux_api::manifest::Object::Receiver(o) => Some(o.clone()),
            _ => None,
        }
    }

    fn conditions(obj: &Receiver) -> &[Condition] {
        obj.status.as_ref().map_or(&[], |s| s.conditions.as_slice())
    }

    fn suspended(obj: &Receiver) -> bool {
        obj.spec.suspend == Some(true)
    }

    fn watches() -> Vec<Watch<Self>> {
        vec![Watch {
            upstream: "Secret",
            refs: token_secret,
            when: always,
        }]
    }

    fn first_run(obj: &Receiver) -> FirstRun {
        FirstRun::After(interval(obj))
    }

    /// Its webhook path, ready or not.
    fn detail(obj: &Receiver, _: Option<&str>) -> Option<String> {
        obj.status.as_ref()?.webhook_path.clone()
    }

    /// Its token from the Secrets, then its webhook path; nothing waits,
    /// and it runs again after its interval.
    fn reconcile(key: &ObjectKey, obj: &Receiver, _: Run, cx: &dyn Cx) -> Option<Job> {
        let token = resolve_token(key, obj, cx.secrets());
        let status = super::reconcile(obj, token, cx.clock().as_ref());
        let outcome = Outcome::RequeueAfter(interval(obj));
        Some(Box::pin(std::future::ready(Reconciled::new(
            key,
            &status,
            Said::Ready,
            outcome,
        ))))
    }
}

/// `spec.interval`, or Flux's default.
pub fn interval(obj: &Receiver) -> Duration {
    obj.spec.interval.map_or(DEFAULT_INTERVAL, |d| d.to_std())
}

/// `spec.secretRef`, always in the Receiver's namespace.
fn token_secret(key: &ObjectKey, obj: &Receiver) -> Vec<Ref> {
    obj.spec
        .secret_ref
        .as_ref()
        .map(|s| {
            vec![Ref::Object(ObjectKey::new(
                "Secret",
                &key.namespace,
                &s.name,
            ))]
        })
        .unwrap_or_default()
}

/// The token of `key`'s webhook, from the Secret its `spec.secretRef`
/// names; a missing reference or Secret stalls it (`TokenNotFound`).
pub fn resolve_token(
    key: &ObjectKey,
    obj: &Receiver,
    secrets: &dyn SecretSource,
) -> Result<String, StepError> {
    let Some(r) = &obj.spec.secret_ref else {
        return Err(StepError::stalled(
            reason::TOKEN_NOT_FOUND,
            format!(
                "receiver {}: spec.secretRef is required",
                key.namespaced_name()
            ),
        ));
    };
    match secrets.secret(&key.namespace, &r.name) {
        Ok(data) => token_from_secret(&r.name, data),
        Err(e) => Err(StepError::stalled(
            reason::TOKEN_NOT_FOUND,
            format!(
                "unable to read token from secret '{}/{}': {e}",
                key.namespace, r.name
            ),
        )),
    }
}
