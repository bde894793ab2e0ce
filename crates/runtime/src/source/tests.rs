use super::*;
use ferroflux_api::image::{ImagePolicy, ImageRepository, ImageUpdateAutomation};
use ferroflux_api::notification::Receiver;
use ferroflux_api::source::GitRepository;

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

const REPO: &str = "apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageRepository
metadata:
  name: app
  namespace: flux-system
spec:
  image: registry.example/app
  interval: 5m0s
";

const POLICY: &str = "apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: app
spec:
  imageRepositoryRef:
    name: app
  policy:
    semver:
      range: '>=1.0.0'
";

const OTHERS: &str = "apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m0s
  url: ssh://git@example/repo
  ref:
    branch: main
---
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata:
  name: harbor
  namespace: flux-system
spec:
  type: harbor
  secretRef:
    name: webhook-token
  resources:
    - kind: ImageRepository
      name: app
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec: {}
";

#[test]
fn loads_and_indexes_by_kind_namespace_name() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            ("clusters/stage/repo.yaml", REPO),
            ("clusters/stage/policy.yaml", POLICY),
            ("clusters/stage/others.yml", OTHERS),
            ("apps/ignored.yaml", REPO),
        ],
    );
    let src = LocalSource::load(dir.path(), Path::new("./clusters/stage")).unwrap();
    assert_eq!(src.errors().count(), 0, "{:?}", src.findings);
    let o = &src.objects;
    assert_eq!(o.len(), 4);
    let repo = &o.of::<ImageRepository>()[&ObjectKey::new("ImageRepository", "flux-system", "app")];
    assert_eq!(repo.spec.image, "registry.example/app");
    // no namespace: default, also in the object's metadata
    let key = ObjectKey::new("ImagePolicy", "default", "app");
    assert_eq!(
        o.of::<ImagePolicy>()[&key].metadata.namespace.as_deref(),
        Some("default")
    );
    assert_eq!(key.to_string(), "ImagePolicy/default/app");
    assert!(o.origins[&key].file.ends_with("clusters/stage/policy.yaml"));
    assert_eq!(o.of::<GitRepository>().len(), 1);
    assert_eq!(o.of::<Receiver>().len(), 1);
    let kinds: Vec<String> = o.keys().iter().map(|k| k.kind.clone()).collect();
    assert_eq!(
        kinds,
        [
            "GitRepository",
            "Receiver",
            "ImageRepository",
            "ImagePolicy"
        ]
    );
}

#[test]
fn duplicates_and_broken_documents_are_findings_not_failures() {
    let dir = tempfile::tempdir().unwrap();
    let broken = "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: bad\nspec:\n  policy: {}\n";
    write(
        dir.path(),
        &[("a.yaml", REPO), ("b.yaml", REPO), ("c.yaml", broken)],
    );
    let src = LocalSource::load(dir.path(), Path::new(".")).unwrap();
    assert_eq!(src.objects.of::<ImageRepository>().len(), 1);
    let errors: Vec<String> = src.errors().map(|f| f.to_string()).collect();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("b.yaml") && e.contains("duplicate object")),
        "{errors:?}"
    );
    assert!(errors.iter().any(|e| e.contains("c.yaml")), "{errors:?}");
    assert!(
        src.objects.origins[&ObjectKey::new("ImageRepository", "flux-system", "app")]
            .file
            .ends_with("a.yaml")
    );
}

#[test]
fn paths_must_stay_inside_the_checkout() {
    let dir = tempfile::tempdir().unwrap();
    for (path, ok) in [("..", false), ("/etc", false), ("nope", false), (".", true)] {
        let got = LocalSource::load(dir.path(), Path::new(path));
        assert_eq!(got.is_ok(), ok, "{path}: {got:?}");
    }
}

#[test]
fn same_specs_ignores_status() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &[("a.yaml", REPO)]);
    let a = LocalSource::load(dir.path(), Path::new("."))
        .unwrap()
        .objects;
    let mut b = a.clone();
    for r in b.of_mut::<ImageRepository>().values_mut() {
        r.status = Some(Default::default());
    }
    assert!(a.same_specs(&b));
    for r in b.of_mut::<ImageRepository>().values_mut() {
        r.spec.interval = ferroflux_api::Duration::parse("1m").unwrap();
    }
    assert!(!a.same_specs(&b));
}

#[test]
fn a_pass_waits_for_what_an_object_reads_and_exists() {
    use serde_json::json;
    let mut o = Objects::default();
    let k = |kind: &str, name: &str| ObjectKey::new(kind, "apps", name);
    o.of_mut::<ImageRepository>().insert(
        k("ImageRepository", "web"),
        serde_json::from_value(json!({"metadata": {"name": "web", "namespace": "apps"},
            "spec": {"image": "r.example/web", "interval": "5m"}}))
        .expect("repository"),
    );
    for (name, repo) in [("web", "web"), ("db", "missing")] {
        o.of_mut::<ImagePolicy>().insert(
            k("ImagePolicy", name),
            serde_json::from_value(json!({"metadata": {"name": name, "namespace": "apps"},
                "spec": {"imageRepositoryRef": {"name": repo}, "policy": {"alphabetical": {}}}}))
            .expect("policy"),
        );
    }
    o.of_mut::<ImageUpdateAutomation>().insert(
        k("ImageUpdateAutomation", "a"),
        serde_json::from_value(json!({"metadata": {"name": "a", "namespace": "apps"},
            "spec": {"sourceRef": {"kind": "GitRepository", "name": "fleet"}, "interval": "5m"}}))
        .expect("automation"),
    );
    o.of_mut::<GitRepository>().insert(
        k("GitRepository", "fleet"),
        serde_json::from_value(json!({"metadata": {"name": "fleet", "namespace": "apps"},
            "spec": {"url": "https://git.example/fleet", "interval": "1m"}}))
        .expect("git repository"),
    );
    assert_eq!(
        o.waits_for(&k("ImagePolicy", "web")),
        [k("ImageRepository", "web")]
    );
    // A repository that is not there is not waited for (the policy fails).
    assert!(o.waits_for(&k("ImagePolicy", "db")).is_empty());
    // Every policy of the namespace, and its GitRepository.
    assert_eq!(
        o.waits_for(&k("ImageUpdateAutomation", "a")),
        [
            k("GitRepository", "fleet"),
            k("ImagePolicy", "db"),
            k("ImagePolicy", "web")
        ]
    );
    assert!(o.waits_for(&k("ImageRepository", "web")).is_empty());
}

/// A kind's map exists once its first object arrives; until then it reads
/// as empty, and an emptied map equals no map.
#[test]
fn a_kind_without_objects_reads_as_empty() {
    let mut a = Objects::default();
    let b = Objects::default();
    assert!(a.of::<ImagePolicy>().is_empty());
    let key = ObjectKey::new("ImagePolicy", "apps", "web");
    let p: ImagePolicy = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "web", "namespace": "apps"},
        "spec": {"imageRepositoryRef": {"name": "web"}, "policy": {"alphabetical": {}}}
    }))
    .expect("policy");
    a.of_mut::<ImagePolicy>().insert(key.clone(), p);
    assert_ne!(a, b);
    assert_eq!(a.len(), 1);
    assert_eq!(a.keys(), vec![key.clone()]);
    assert!(a.remove(&key));
    assert_eq!(a, b, "an emptied map is no map");
    assert!(a.is_empty());
}

/// The loader holds the kinds of its registry only: others are left to
/// the validator (their documents load, nothing holds them).
#[test]
fn objects_of_kinds_not_registered_are_not_held() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[(
            "x.yaml",
            "apiVersion: test.ferroflux.dev/v1\nkind: Dummy\nmetadata:\n  name: d\nspec: {}\n",
        )],
    );
    let src = LocalSource::load(dir.path(), Path::new(".")).unwrap();
    assert!(src.objects.is_empty());
    assert!(src.errors().next().is_none(), "{:?}", src.findings);
}

/// `Lookup::json`: a held object as Flux's JSON, status included, for
/// readers that do not name its type (a HelmRelease's chart source).
#[test]
fn lookup_json_is_the_object_with_its_status() {
    use ferroflux_controllers::kind::Lookup;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &[("clusters/stage/repo.yaml", REPO)]);
    let mut src = LocalSource::load(dir.path(), Path::new("./clusters/stage")).unwrap();
    let key = ObjectKey::new("ImageRepository", "flux-system", "app");
    let v = src.objects.json(&key).expect("held");
    assert_eq!(v["spec"]["image"], "registry.example/app");
    assert!(v.get("status").is_none());
    let status = serde_json::json!({"observedGeneration": 3});
    let kind = crate::registry::flux().get("ImageRepository").unwrap();
    assert!(kind.set_status(&mut src.objects, &key, &status));
    assert_eq!(
        src.objects.json(&key).unwrap()["status"]["observedGeneration"],
        3
    );
    assert!(
        src.objects
            .json(&ObjectKey::new("HelmChart", "a", "b"))
            .is_none()
    );
}
