use ferroflux_testkit::scripted::Scripted;

use super::*;

const CORE_V1: &str = r#"{"kind":"APIResourceList","groupVersion":"v1","resources":[
{"name":"services","singularName":"service","namespaced":true,"kind":"Service","verbs":["get","patch"]},
{"name":"services/status","singularName":"","namespaced":true,"kind":"Service","verbs":["get"]},
{"name":"serviceaccounts","singularName":"serviceaccount","namespaced":true,"kind":"ServiceAccount","verbs":["get"]},
{"name":"namespaces","singularName":"namespace","namespaced":false,"kind":"Namespace","verbs":["get"]}]}"#;

/// A discovery endpoint serving `CORE_V1` slowly (so that lookups overlap),
/// and 404 for any other group version.
async fn discovery() -> (Client, Scripted) {
    let server = Scripted::start(std::time::Duration::from_millis(50), |request| {
        if request.starts_with("GET /api/v1 ") {
            (200, CORE_V1.to_string())
        } else {
            (404, NOT_FOUND.to_string())
        }
    })
    .await;
    let config = kube::Config::new(server.url().parse().unwrap());
    (Client::try_from(config).unwrap(), server)
}

const NOT_FOUND: &str =
    r#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}"#;

#[tokio::test]
async fn concurrent_lookups_of_one_group_version_ask_once() {
    let (client, server) = discovery().await;
    let kinds = KindCache::new(client);
    let gvk = |k: &str| GroupVersionKind::gvk("", "v1", k);
    let (service, account) = (gvk("Service"), gvk("ServiceAccount"));
    let shared = kinds.clone();
    let (a, b, c) = tokio::join!(
        kinds.find(&service),
        kinds.find(&account),
        shared.find(&service),
    );
    let (svc, caps) = a.unwrap();
    assert_eq!(
        (svc.plural.as_str(), svc.kind.as_str()),
        ("services", "Service")
    );
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);
    assert_eq!(b.unwrap().0.plural, "serviceaccounts");
    assert_eq!(c.unwrap().0.plural, "services");
    // A kind of the same group version found by that one lookup.
    let (ns, caps) = kinds.find(&gvk("Namespace")).await.unwrap();
    assert_eq!(ns.plural, "namespaces");
    assert_eq!(caps.scope, kube::discovery::Scope::Cluster);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_kind_not_served_is_asked_for_again_then_reported() {
    let (client, server) = discovery().await;
    let kinds = KindCache::new(client);
    let widget = GroupVersionKind::gvk("", "v1", "Widget");
    let missing = kinds.find(&widget).await;
    assert!(matches!(missing, Err(KindError::NotServed)));
    assert_eq!(server.requests().len(), DISCOVERY_ATTEMPTS as usize);
}
