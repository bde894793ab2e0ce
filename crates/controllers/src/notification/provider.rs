//! Provider as a [`Kind`]: held and watched, not reconciled. Its v1beta3
//! has no status (notification-controller's reconciler only removes a
//! legacy finalizer); a Provider is read when an event is dispatched, and
//! a failed delivery is reported as Flux reports it, a Warning event
//! `NotificationDispatchFailed` on the Alert. Its Secrets are read at each
//! dispatch, so it watches nothing.

use ferroflux_api::meta::{Condition, ObjectMeta};
use ferroflux_api::notification::Provider;
use ferroflux_notify::target::{ProviderSecrets, Target, TargetError, resolve};

use crate::kind::{FirstRun, Kind, KindInfo, ObjectKey, SecretSource};

impl Kind for Provider {
    const INFO: KindInfo = KindInfo {
        kind: "Provider",
        group: "notification.toolkit.fluxcd.io",
        version: "v1beta3",
        section: "providers",
    };
    const RECONCILED: bool = false;
    type Object = Provider;

    fn meta(obj: &Provider) -> &ObjectMeta {
        &obj.metadata
    }

    fn meta_mut(obj: &mut Provider) -> &mut ObjectMeta {
        &mut obj.metadata
    }

    fn from_manifest(object: &ferroflux_api::manifest::Object) -> Option<Provider> {
        match object {
            ferroflux_api::manifest::Object::Provider(o) => Some(o.clone()),
            _ => None,
        }
    }

    fn conditions(_: &Provider) -> &[Condition] {
        &[]
    }

    fn suspended(obj: &Provider) -> bool {
        obj.spec.suspended()
    }

    fn first_run(_: &Provider) -> FirstRun {
        FirstRun::Triggered
    }
}

/// The Provider with its Secrets read from the home; a Secret that cannot
/// be read is Flux's error (`failed to read secret`, never its content).
pub fn target(
    key: &ObjectKey,
    obj: &Provider,
    secrets: &dyn SecretSource,
) -> Result<Target, TargetError> {
    let read = |r: &Option<ferroflux_api::meta::LocalObjectReference>| {
        r.as_ref()
            .map(|r| {
                secrets
                    .secret(&key.namespace, &r.name)
                    .cloned()
                    .map_err(|e| {
                        TargetError::Invalid(format!(
                            "failed to read secret '{}/{}': {e}",
                            key.namespace, r.name
                        ))
                    })
            })
            .transpose()
    };
    let s = ProviderSecrets {
        secret: read(&obj.spec.secret_ref)?,
        cert: read(&obj.spec.cert_secret_ref)?,
        proxy: read(&obj.spec.proxy_secret_ref)?,
    };
    resolve(&key.namespace, &key.name, &obj.spec, &s)
}
