//! HelmRepositories and HelmCharts in the local home (a target cluster
//! given, so GitOps kinds run): a chart repository served by lighttpd on
//! loopback with Basic auth or TLS, charts packaged by ferroflux-helm, the
//! fleet's manifests in a file:// Git repository.

use std::path::Path;
use std::sync::Arc;

use ferroflux_controllers::target::NoTarget;
use ferroflux_helm::chart::File;
use ferroflux_runtime::automate::{AutomateOptions, Runner};
use ferroflux_runtime::{Secrets, StatusStore};
use ferroflux_testkit::chart_repo::{self, ChartRepo};
use ferroflux_testkit::gitrepo;
use ferroflux_testkit::tls::TestCa;
use serde_json::Value;

use crate::automate::commit_all;

const PASSWORD: &str = "chart-s3cret";

fn chart_files(name: &str, version: &str) -> Vec<File> {
    let file = |n: &str, d: String| File {
        name: n.into(),
        data: d.into_bytes(),
    };
    vec![
        file(
            "Chart.yaml",
            format!("apiVersion: v2\nname: {name}\nversion: {version}\n"),
        ),
        file("values.yaml", "replicas: 1\nimage:\n  tag: stable\n".into()),
        file("values-prod.yaml", "replicas: 3\n".into()),
        file(
            "values.schema.json",
            r#"{"properties": {"replicas": {"type": "integer"}}}"#.into(),
        ),
        file(
            "templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n".into(),
        ),
    ]
}

/// Package `podinfo` at each version into the served directory and write
/// its index (relative URLs, as `helm repo index` writes them); the bytes
/// of each chart by version.
fn publish(root: &Path, versions: &[&str]) -> Vec<(String, Vec<u8>)> {
    let mut index = String::from("apiVersion: v1\nentries:\n  podinfo:\n");
    let mut out = Vec::new();
    for v in versions {
        let p = ferroflux_helm::package::package(chart_files("podinfo", v), 1_700_000_000)
            .expect("package");
        std::fs::write(root.join(&p.file_name), &p.data).expect("write chart");
        index.push_str(&format!(
            "  - apiVersion: v2\n    name: podinfo\n    version: {v}\n    created: \"2024-01-0{}T00:00:00Z\"\n    urls:\n    - {}\n",
            out.len() + 1,
            p.file_name
        ));
        out.push((v.to_string(), p.data));
    }
    index.push_str("generated: \"2024-02-01T00:00:00Z\"\n");
    std::fs::write(root.join("index.yaml"), index).expect("write index");
    out
}

fn secret(name: &str, data: &[(&str, &str)]) -> String {
    let mut s = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: apps\nstringData:\n"
    );
    for (k, v) in data {
        let v = v.replace('\n', "\n    ");
        s.push_str(&format!("  {k}: |-\n    {v}\n"));
    }
    s
}

/// The fleet repository: the self GitRepository, `manifests` under
/// `clusters/stage`, a chart directory at `charts/app`.
fn fleet(tmp: &Path, manifests: &str, app_chart: &str) -> std::path::PathBuf {
    let bare = gitrepo::init_bare(tmp, "fleet.git");
    let sync = "apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m0s
  ref:
    branch: main
  url: https://git.example/fleet.git
";
    let files = vec![
        (
            "clusters/stage/flux-system/gotk-sync.yaml".to_string(),
            sync.as_bytes().to_vec(),
        ),
        (
            "clusters/stage/helm.yaml".to_string(),
            manifests.as_bytes().to_vec(),
        ),
        (
            "charts/app/Chart.yaml".to_string(),
            app_chart.as_bytes().to_vec(),
        ),
        (
            "charts/app/values.yaml".to_string(),
            b"replicas: 1\n".to_vec(),
        ),
        (
            "charts/app/templates/cm.yaml".to_string(),
            b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n".to_vec(),
        ),
        ("env/prod.yaml".to_string(), b"replicas: 4\n".to_vec()),
    ];
    commit_all(&bare, &files);
    bare
}

fn options(bare: &Path, tmp: &Path, secrets: &str) -> AutomateOptions {
    let dir = tmp.join("secrets");
    std::fs::create_dir_all(&dir).expect("secrets dir");
    std::fs::write(dir.join("secrets.yaml"), secrets).expect("secrets");
    AutomateOptions {
        repo: bare.display().to_string(),
        path: "clusters/stage".into(),
        cache_dir: Some(tmp.join("cache")),
        secrets: Secrets::load_dir(&dir).expect("secrets load"),
        ..AutomateOptions::default()
    }
}

fn status_of(state: &StatusStore, kind: &str, name: &str) -> Value {
    state
        .list(kind)
        .expect("list")
        .into_iter()
        .find(|s| s.name == name)
        .and_then(|s| s.status)
        .unwrap_or_else(|| panic!("no status of {kind} {name}"))
}

fn ready(status: &Value) -> (String, String, String) {
    let c = status["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
        .unwrap_or_else(|| panic!("no Ready in {status}"));
    let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
    (s("status"), s("reason"), s("message"))
}

fn stored(tmp: &Path, status: &Value) -> Vec<u8> {
    let path = status["artifact"]["path"].as_str().expect("artifact path");
    std::fs::read(tmp.join("artifacts").join(path)).expect("artifact on disk")
}

async fn run_once(opts: &AutomateOptions, state: &StatusStore) -> String {
    let mut runner = Runner::new(opts.clone(), state.clone())
        .expect("runner")
        .with_targets(Arc::new(NoTarget));
    runner.run_once().await.expect("run").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charts_are_pulled_through_basic_auth_and_packaged_from_git() {
    if !gitrepo::git_available() {
        ferroflux_testkit::env::skip_or_fail("git binary");
        return;
    }
    let Some(server) = ChartRepo::start(chart_repo::Options {
        basic_auth: Some(("bob".into(), PASSWORD.into())),
        ..Default::default()
    }) else {
        return;
    };
    let charts = publish(server.root(), &["6.4.0", "6.5.0", "7.0.0"]);
    let url = server.url();
    let manifests = format!(
        "apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: charts
  namespace: apps
spec:
  url: {url}
  secretRef:
    name: auth
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: wrong
  namespace: apps
spec:
  url: {url}
  secretRef:
    name: wrong-auth
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmChart
metadata:
  name: podinfo
  namespace: apps
spec:
  chart: podinfo
  version: '6.x'
  interval: 5m
  sourceRef:
    kind: HelmRepository
    name: charts
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmChart
metadata:
  name: podinfo-prod
  namespace: apps
spec:
  chart: podinfo
  version: '6.4.0'
  valuesFiles: [values.yaml, values-prod.yaml]
  interval: 5m
  sourceRef:
    kind: HelmRepository
    name: charts
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmChart
metadata:
  name: podinfo-nine
  namespace: apps
spec:
  chart: podinfo
  version: '9.x'
  interval: 5m
  sourceRef:
    kind: HelmRepository
    name: charts
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: deps
  namespace: flux-system
spec:
  url: {url}
  secretRef:
    name: auth
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmChart
metadata:
  name: app
  namespace: apps
spec:
  chart: ./charts/app
  reconcileStrategy: Revision
  valuesFiles: [env/prod.yaml]
  interval: 5m
  sourceRef:
    kind: GitRepository
    name: flux-system
"
    );
    // The self GitRepository lives in flux-system; the chart reads it there.
    let manifests = manifests.replace(
        "  name: app\n  namespace: apps\n",
        "  name: app\n  namespace: flux-system\n",
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    // The Git chart depends on podinfo of the chart repository, fetched with
    // the credentials of the HelmRepository of that URL.
    let app_chart = format!(
        "apiVersion: v2\nname: app\nversion: 0.3.0\ndependencies:\n- name: podinfo\n  version: 6.4.x\n  repository: {url}\n"
    );
    let bare = fleet(tmp.path(), &manifests, &app_chart);
    let secrets = format!(
        "{}---\n{}---\n{}",
        secret("auth", &[("username", "bob"), ("password", PASSWORD)]),
        secret("auth", &[("username", "bob"), ("password", PASSWORD)])
            .replace("namespace: apps", "namespace: flux-system"),
        secret("wrong-auth", &[("username", "bob"), ("password", "nope")])
    );
    let opts = options(&bare, tmp.path(), &secrets);
    let state = StatusStore::open(&tmp.path().join("state.redb")).expect("state");
    let text = run_once(&opts, &state).await;

    // The index artifact is the served index as source-controller stores it.
    let repo = status_of(&state, "HelmRepository", "charts");
    let served = std::fs::read(server.root().join("index.yaml")).expect("index");
    let revision = ferroflux_helm::repo::revision(&served);
    assert_eq!(
        ready(&repo),
        (
            "True".into(),
            "Succeeded".into(),
            format!("stored artifact: revision '{revision}'")
        ),
        "{text}"
    );
    let want = ferroflux_helm::repo::Index::load(&served)
        .expect("index")
        .to_json();
    assert_eq!(stored(tmp.path(), &repo), want.as_bytes());
    assert_eq!(
        repo["url"],
        "http://localhost/helmrepository/apps/charts/index.yaml"
    );
    assert!(text.contains(&format!("apps/charts: {revision}")), "{text}");

    // A wrong password: Flux's message, no secret anywhere.
    let wrong = status_of(&state, "HelmRepository", "wrong");
    assert_eq!(
        ready(&wrong),
        (
            "False".into(),
            "Failed".into(),
            format!(
                "failed to fetch Helm repository index: failed to cache index to temporary file: failed to fetch {url}index.yaml : 401 Unauthorized"
            )
        )
    );
    let everything = format!("{text} {:?}", state.list("HelmRepository").expect("list"));
    assert!(!everything.contains(PASSWORD) && !everything.contains("nope"));

    // The highest 6.x, byte for byte as served.
    let podinfo = status_of(&state, "HelmChart", "podinfo");
    assert_eq!(
        ready(&podinfo),
        (
            "True".into(),
            "ChartPullSucceeded".into(),
            "pulled 'podinfo' chart with version '6.5.0'".into()
        )
    );
    assert_eq!(stored(tmp.path(), &podinfo), charts[1].1);
    assert_eq!(podinfo["observedSourceArtifactRevision"], revision.as_str());

    // valuesFiles merged into the chart's values, the generation in the
    // version.
    let prod = status_of(&state, "HelmChart", "podinfo-prod");
    let (_, reason, message) = ready(&prod);
    assert_eq!(reason, "ChartPackageSucceeded");
    assert_eq!(
        message,
        "packaged 'podinfo' chart with version '6.4.0+1' and merged values files [values.yaml values-prod.yaml]"
    );
    let chart = ferroflux_helm::chart::load_archive(&stored(tmp.path(), &prod)).expect("chart");
    assert_eq!(chart.values["replicas"], serde_json::json!(3.0));
    assert_eq!(chart.values["image"]["tag"], "stable");

    // No such version: a clear, stalled Ready=False.
    let nine = status_of(&state, "HelmChart", "podinfo-nine");
    assert_eq!(
        ready(&nine),
        (
            "False".into(),
            "InvalidChartReference".into(),
            "invalid chart reference: failed to get chart version for remote reference: no 'podinfo' chart with version matching '9.x' found".into()
        )
    );

    // From the GitRepository: packaged with the commit and the values of
    // the source root.
    let head = gitrepo::rev_parse(&bare, "main").expect("head");
    let app = status_of(&state, "HelmChart", "app");
    let version = format!("0.3.0+{}.1", &head[..12]);
    assert_eq!(
        ready(&app),
        (
            "True".into(),
            "ChartPackageSucceeded".into(),
            format!(
                "packaged 'app' chart with version '{version}' and merged values files [env/prod.yaml]"
            )
        ),
        "{app}"
    );
    let chart = ferroflux_helm::chart::load_archive(&stored(tmp.path(), &app)).expect("chart");
    assert_eq!(chart.metadata.version, version);
    assert_eq!(chart.values["replicas"], serde_json::json!(4.0));
    assert_eq!(chart.dependencies.len(), 1, "{app}");
    assert_eq!(chart.dependencies[0].metadata.version, "6.4.0");

    // A newly published version reaches the chart at the next run.
    publish(server.root(), &["6.4.0", "6.5.0", "6.6.0", "7.0.0"]);
    let text = run_once(&opts, &state).await;
    let podinfo = status_of(&state, "HelmChart", "podinfo");
    assert_eq!(
        ready(&podinfo).2,
        "pulled 'podinfo' chart with version '6.6.0'",
        "{text}"
    );
    assert_eq!(
        podinfo["artifact"]["path"],
        "helmchart/apps/podinfo/podinfo-6.6.0.tgz"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_repository_is_trusted_through_cert_secret_ref_only() {
    if !gitrepo::git_available() {
        ferroflux_testkit::env::skip_or_fail("git binary");
        return;
    }
    let ca = TestCa::new("ferroflux chart repo CA");
    let Some(server) = ChartRepo::start(chart_repo::Options {
        tls: Some(ca.server_cert(&["127.0.0.1"])),
        ..Default::default()
    }) else {
        return;
    };
    publish(server.root(), &["1.0.0"]);
    let url = server.url();
    assert!(url.starts_with("https://"), "{url}");
    let manifests = format!(
        "apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: trusted
  namespace: apps
spec:
  url: {url}
  certSecretRef:
    name: ca
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: untrusted
  namespace: apps
spec:
  url: {url}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmChart
metadata:
  name: podinfo
  namespace: apps
spec:
  chart: podinfo
  interval: 5m
  sourceRef:
    kind: HelmRepository
    name: trusted
"
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let bare = fleet(
        tmp.path(),
        &manifests,
        "apiVersion: v2\nname: app\nversion: 0.3.0\n",
    );
    let opts = options(
        &bare,
        tmp.path(),
        &secret("ca", &[("ca.crt", ca.cert_pem().trim_end())]),
    );
    let state = StatusStore::open(&tmp.path().join("state.redb")).expect("state");
    let text = run_once(&opts, &state).await;
    let trusted = status_of(&state, "HelmRepository", "trusted");
    assert_eq!(ready(&trusted).0, "True", "{trusted} {text}");
    let untrusted = status_of(&state, "HelmRepository", "untrusted");
    let (status, reason, message) = ready(&untrusted);
    assert_eq!((status.as_str(), reason.as_str()), ("False", "Failed"));
    assert!(
        message.starts_with(&format!(
            "failed to fetch Helm repository index: failed to cache index to temporary file: Get \"{url}index.yaml\": tls: "
        )),
        "{message}"
    );
    let podinfo = status_of(&state, "HelmChart", "podinfo");
    assert_eq!(
        ready(&podinfo).2,
        "pulled 'podinfo' chart with version '1.0.0'",
        "{podinfo}"
    );
}

/// The whole chain in `automate` against the real kube-apiserver, checked
/// with the real helm: a HelmRelease's `spec.chart` makes its HelmChart
/// (held beside it, as helm-controller creates it), which pulls the chart
/// through Basic auth; the release is installed, then upgraded when its
/// values change in Git, and `helm list`/`helm get values` read both
/// revisions as ours.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_helm_release_from_a_chart_repository_installs_and_upgrades_as_helm_reads_it() {
    use kube::api::Api;

    if !gitrepo::git_available() {
        ferroflux_testkit::env::skip_or_fail("git binary");
        return;
    }
    let Some(cp) = ferroflux_testkit::control_plane::ControlPlane::shared() else {
        return;
    };
    let Some(helm) = ferroflux_testkit::helm::Helm::find() else {
        return;
    };
    let Some(server) = ChartRepo::start(chart_repo::Options {
        basic_auth: Some(("bob".into(), PASSWORD.into())),
        ..Default::default()
    }) else {
        return;
    };
    publish(server.root(), &["6.4.0", "6.5.0"]);
    let ns = cp.namespace("hr-e2e");
    let (client, targets) = crate::targets(cp).await;
    let url = server.url();
    let manifests = |replicas: u32| {
        format!(
            "apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: charts
  namespace: {ns}
spec:
  url: {url}
  interval: 5m
  secretRef:
    name: auth
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
  namespace: {ns}
spec:
  interval: 5m
  chart:
    spec:
      chart: podinfo
      version: '6.x'
      sourceRef:
        kind: HelmRepository
        name: charts
  values:
    replicas: {replicas}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: missing
  namespace: {ns}
spec:
  interval: 5m
  chart:
    spec:
      chart: podinfo
      version: '9.x'
      sourceRef:
        kind: HelmRepository
        name: charts
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: invalid
  namespace: {ns}
spec:
  interval: 5m
  chart:
    spec:
      chart: podinfo
      sourceRef:
        kind: HelmRepository
        name: charts
  values:
    replicas: many
"
        )
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let bare = fleet(
        tmp.path(),
        &manifests(2),
        "apiVersion: v2\nname: app\nversion: 0.1.0\n",
    );
    let secrets = secret("auth", &[("username", "bob"), ("password", PASSWORD)])
        .replace("namespace: apps", &format!("namespace: {ns}"));
    let opts = options(&bare, tmp.path(), &secrets);
    let state = StatusStore::open(&tmp.path().join("state.redb")).expect("state");
    let run = || async {
        let mut runner = Runner::new(opts.clone(), state.clone())
            .expect("runner")
            .with_targets(Arc::clone(&targets));
        runner.run_once().await.expect("run").to_string()
    };

    let text = run().await;
    let chart_name = format!("{ns}-podinfo");
    let chart = status_of(&state, "HelmChart", &chart_name);
    assert_eq!(
        ready(&chart).2,
        "pulled 'podinfo' chart with version '6.5.0'",
        "{chart}\n{text}"
    );
    let hr = status_of(&state, "HelmRelease", "podinfo");
    let (status, reason, message) = ready(&hr);
    assert_eq!(
        (status.as_str(), reason.as_str(), message.as_str()),
        (
            "True",
            "InstallSucceeded",
            format!("Helm install succeeded for release {ns}/podinfo.v1 with chart podinfo@6.5.0")
                .as_str()
        ),
        "{hr}\n{text}"
    );
    assert_eq!(hr["helmChart"], format!("{ns}/{chart_name}"));
    // A version the repository does not have: a clear Ready=False, no
    // release.
    let missing = status_of(&state, "HelmRelease", "missing");
    let (status, reason, message) = ready(&missing);
    assert_eq!(
        (status.as_str(), reason.as_str(), message),
        (
            "False",
            "SourceNotReady",
            format!(
                "HelmChart '{ns}/{ns}-missing' is not ready: invalid chart reference: failed to \
                 get chart version for remote reference: no 'podinfo' chart with version \
                 matching '9.x' found"
            )
        ),
        "{missing}"
    );
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(client.clone(), &ns);
    assert!(
        secrets
            .get_opt("sh.helm.release.v1.missing.v1")
            .await
            .expect("get")
            .is_none(),
        "no release for a missing version"
    );
    let invalid = status_of(&state, "HelmRelease", "invalid");
    let (status, reason, message) = ready(&invalid);
    assert_eq!(
        (status.as_str(), reason.as_str(), message),
        (
            "False",
            "InstallFailed",
            format!(
                "Helm install failed for release {ns}/invalid with chart podinfo@6.5.0: values \
                 don't meet the specifications of the schema(s) in the following chart(s):\n\
                 podinfo:\n- at '/replicas': got string, want integer"
            )
        ),
        "{invalid}"
    );
    assert!(
        secrets
            .get_opt("sh.helm.release.v1.invalid.v1")
            .await
            .expect("get")
            .is_none(),
        "a values schema violation writes no release"
    );
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client.clone(), &ns);
    let cm = cms.get("podinfo").await.expect("the release's ConfigMap");
    let labels = cm.metadata.labels.unwrap_or_default();
    assert_eq!(
        labels
            .get("helm.toolkit.fluxcd.io/name")
            .map(String::as_str),
        Some("podinfo"),
        "origin labels"
    );

    let helm_run = |args: &[&str]| {
        let out = helm
            .command()
            .args(args)
            .env("KUBECONFIG", cp.kubeconfig())
            .output()
            .expect("run helm");
        assert!(
            out.status.success(),
            "helm {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let list: Value =
        serde_json::from_str(&helm_run(&["list", "-n", &ns, "-o", "json"])).expect("json");
    assert_eq!(list[0]["name"], "podinfo", "{list}");
    assert_eq!(list[0]["revision"], "1", "{list}");
    assert_eq!(list[0]["status"], "deployed", "{list}");
    assert_eq!(list[0]["chart"], "podinfo-6.5.0", "{list}");

    // New values in Git: an upgrade to revision 2.
    commit_all(
        &bare,
        &[(
            "clusters/stage/helm.yaml".to_string(),
            manifests(3).into_bytes(),
        )],
    );
    let text = run().await;
    let hr = status_of(&state, "HelmRelease", "podinfo");
    assert_eq!(
        ready(&hr).2,
        format!("Helm upgrade succeeded for release {ns}/podinfo.v2 with chart podinfo@6.5.0"),
        "{hr}\n{text}"
    );
    let values: Value = serde_json::from_str(&helm_run(&[
        "get", "values", "podinfo", "-n", &ns, "-o", "json",
    ]))
    .expect("json");
    assert_eq!(values, serde_json::json!({"replicas": 3}));
    let history: Value =
        serde_json::from_str(&helm_run(&["history", "podinfo", "-n", &ns, "-o", "json"]))
            .expect("json");
    let statuses: Vec<&str> = history
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|r| r["status"].as_str())
        .collect();
    assert_eq!(statuses, ["superseded", "deployed"], "{history}");

    // An upgrade the apiserver refuses (a post-renderer puts a number in
    // the ConfigMap's data), with one retry: the failed revision is rolled
    // back to the last good one, as helm-controller remediates.
    let failing = manifests(4).replace(
        "  values:\n",
        "  upgrade:
    remediation:
      retries: 1
  postRenderers:
  - kustomize:
      patches:
      - target:
          kind: ConfigMap
        patch: |
          - op: add
            path: /data
            value: {n: 3}
  values:
",
    );
    commit_all(
        &bare,
        &[("clusters/stage/helm.yaml".to_string(), failing.into_bytes())],
    );
    let text = run().await;
    let hr = status_of(&state, "HelmRelease", "podinfo");
    let condition = |t: &str| {
        hr["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == t))
            .cloned()
            .unwrap_or_else(|| panic!("no {t} in {hr}\n{text}"))
    };
    let remediated = condition("Remediated");
    assert_eq!(remediated["status"], "True", "{hr}\n{text}");
    assert_eq!(remediated["reason"], "RollbackSucceeded", "{hr}");
    assert_eq!(
        remediated["message"],
        format!(
            "Helm rollback to previous release {ns}/podinfo.v2 with chart podinfo@6.5.0 succeeded"
        ),
        "{hr}"
    );
    assert_eq!(ready(&hr).0, "False", "Remediated makes Ready False: {hr}");
    assert_eq!(hr["upgradeFailures"], 1, "{hr}");
    let history: Value =
        serde_json::from_str(&helm_run(&["history", "podinfo", "-n", &ns, "-o", "json"]))
            .expect("json");
    let rows: Vec<(String, String)> = history
        .as_array()
        .expect("history")
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap_or_default().to_string(),
                r["description"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(rows.len(), 4, "{history}");
    assert_eq!(rows[2].0, "failed", "{history}");
    assert!(
        rows[2].1.starts_with("Upgrade \"podinfo\" failed: "),
        "{history}"
    );
    assert_eq!(
        rows[3],
        ("deployed".to_string(), "Rollback to 2".to_string()),
        "{history}"
    );
    let values: Value = serde_json::from_str(&helm_run(&[
        "get", "values", "podinfo", "-n", &ns, "-o", "json",
    ]))
    .expect("json");
    assert_eq!(
        values,
        serde_json::json!({"replicas": 3}),
        "rolled back values"
    );
}

/// A chart `drifty` whose release holds two ConfigMaps and a Deployment,
/// published alone in the served directory.
fn publish_drifty(root: &Path) {
    let file = |n: &str, d: &str| File {
        name: n.into(),
        data: d.as_bytes().to_vec(),
    };
    let files = vec![
        file(
            "Chart.yaml",
            "apiVersion: v2\nname: drifty\nversion: 1.0.0\n",
        ),
        file("values.yaml", "replicas: 1\n"),
        file(
            "templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  a: \"1\"\n  b: \"2\"\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-extra\ndata:\n  c: \"3\"\n",
        ),
        file(
            "templates/deploy.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  replicas: {{ .Values.replicas }}\n  selector:\n    matchLabels:\n      app: {{ .Release.Name }}\n  template:\n    metadata:\n      labels:\n        app: {{ .Release.Name }}\n    spec:\n      containers:\n      - name: app\n        image: nginx:1.27\n",
        ),
    ];
    let p = ferroflux_helm::package::package(files, 1_700_000_000).expect("package");
    std::fs::write(root.join(&p.file_name), &p.data).expect("write chart");
    let index = format!(
        "apiVersion: v1\nentries:\n  drifty:\n  - apiVersion: v2\n    name: drifty\n    version: 1.0.0\n    created: \"2024-01-01T00:00:00Z\"\n    urls:\n    - {}\ngenerated: \"2024-02-01T00:00:00Z\"\n",
        p.file_name
    );
    std::fs::write(root.join("index.yaml"), index).expect("write index");
}

/// `driftDetection` on the real apiserver: objects of a release edited
/// and deleted behind Flux's back are put back by `enabled` (no new Helm
/// revision, an ignored field left as edited) and only reported by
/// `warn`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drifted_helm_release_is_corrected_or_reported_without_a_new_revision() {
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::{Api, DeleteParams, Patch, PatchParams};

    if !gitrepo::git_available() {
        ferroflux_testkit::env::skip_or_fail("git binary");
        return;
    }
    let Some(cp) = ferroflux_testkit::control_plane::ControlPlane::shared() else {
        return;
    };
    let Some(helm) = ferroflux_testkit::helm::Helm::find() else {
        return;
    };
    let Some(server) = ChartRepo::start(chart_repo::Options::default()) else {
        return;
    };
    publish_drifty(server.root());
    let ns = cp.namespace("hr-drift");
    let (client, targets) = crate::targets(cp).await;
    let url = server.url();
    let release = |name: &str, drift: &str| {
        format!(
            "---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: {name}
  namespace: {ns}
spec:
  interval: 5m
  install:
    disableWait: true
  chart:
    spec:
      chart: drifty
      sourceRef:
        kind: HelmRepository
        name: charts
  driftDetection:
{drift}"
        )
    };
    let manifests = format!(
        "apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: charts
  namespace: {ns}
spec:
  url: {url}
  interval: 5m
{}{}",
        release(
            "fixed",
            "    mode: enabled
    ignore:
    - paths: [\"/spec/replicas\"]
      target:
        kind: Deployment
"
        ),
        release("warned", "    mode: warn\n"),
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let bare = fleet(
        tmp.path(),
        &manifests,
        "apiVersion: v2\nname: app\nversion: 0.1.0\n",
    );
    let opts = options(&bare, tmp.path(), "");
    let state = StatusStore::open(&tmp.path().join("state.redb")).expect("state");
    let run = || async {
        let mut runner = Runner::new(opts.clone(), state.clone())
            .expect("runner")
            .with_targets(Arc::clone(&targets));
        runner.run_once().await.expect("run").to_string()
    };
    let condition = |hr: &Value, t: &str| -> (String, String, String) {
        let c = hr["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == t))
            .cloned()
            .unwrap_or_else(|| panic!("no {t} in {hr}"));
        let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
        (s("status"), s("reason"), s("message"))
    };

    let text = run().await;
    for name in ["fixed", "warned"] {
        let hr = status_of(&state, "HelmRelease", name);
        assert_eq!(ready(&hr).1, "InstallSucceeded", "{hr}\n{text}");
        assert_eq!(
            condition(&hr, "Drifted"),
            (
                "False".into(),
                "NoDriftDetected".into(),
                "No drift detected against the cluster state".into()
            ),
            "{hr}"
        );
    }

    // Behind Flux's back: a value edited, an object deleted, and (for
    // the ignore rule) the Deployment scaled.
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    let edit = PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..PatchParams::default()
    };
    for name in ["fixed", "warned"] {
        cms.patch(
            name,
            &edit,
            &Patch::Merge(serde_json::json!({"data": {"a": "edited"}})),
        )
        .await
        .expect("edit ConfigMap");
        cms.delete(&format!("{name}-extra"), &DeleteParams::default())
            .await
            .expect("delete ConfigMap");
        deployments
            .patch(
                name,
                &edit,
                &Patch::Merge(serde_json::json!({"spec": {"replicas": 5}})),
            )
            .await
            .expect("scale Deployment");
    }

    let text = run().await;
    // enabled: put back, except the ignored replicas.
    let hr = status_of(&state, "HelmRelease", "fixed");
    assert_eq!(
        condition(&hr, "Drifted").1,
        "NoDriftDetected",
        "corrected in the same run: {hr}\n{text}"
    );
    assert_eq!(ready(&hr).0, "True", "{hr}");
    let cm = cms.get("fixed").await.expect("ConfigMap");
    assert_eq!(
        cm.data.unwrap_or_default().get("a").map(String::as_str),
        Some("1"),
        "the edit undone"
    );
    assert!(
        cms.get_opt("fixed-extra").await.expect("get").is_some(),
        "the deleted ConfigMap created again"
    );
    let d = deployments.get("fixed").await.expect("Deployment");
    assert_eq!(
        d.spec.replicas,
        Some(5),
        "an ignored path is left as edited"
    );
    // warn: left as it is, and said so.
    let hr = status_of(&state, "HelmRelease", "warned");
    let (status, reason, message) = condition(&hr, "Drifted");
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("True", "DriftDetected"),
        "{hr}"
    );
    assert_eq!(
        message,
        format!(
            "Cluster state of release {ns}/warned.v1 has drifted from the desired state:\n\
             ConfigMap/{ns}/warned changed (0 additions, 1 changes, 0 removals)\n\
             ConfigMap/{ns}/warned-extra removed\n\
             Deployment/{ns}/warned changed (0 additions, 1 changes, 0 removals)"
        ),
        "{hr}"
    );
    assert_eq!(ready(&hr).0, "True", "warn leaves Ready alone: {hr}");
    let cm = cms.get("warned").await.expect("ConfigMap");
    assert_eq!(
        cm.data.unwrap_or_default().get("a").map(String::as_str),
        Some("edited")
    );
    assert!(cms.get_opt("warned-extra").await.expect("get").is_none());

    // Neither wrote a Helm revision.
    for name in ["fixed", "warned"] {
        let out = helm
            .command()
            .args(["history", name, "-n", &ns, "-o", "json"])
            .env("KUBECONFIG", cp.kubeconfig())
            .output()
            .expect("run helm");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let history: Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(
            history.as_array().map(Vec::len),
            Some(1),
            "{name}: {history}"
        );
        assert_eq!(history[0]["status"], "deployed", "{history}");
    }

    // The next run finds the corrected release in sync.
    let text = run().await;
    let hr = status_of(&state, "HelmRelease", "fixed");
    assert_eq!(
        condition(&hr, "Drifted").1,
        "NoDriftDetected",
        "{hr}\n{text}"
    );
}

/// A chart `hooked` with a `helm.sh/hook: test` Pod (named `*-failing`
/// when `failTest` is set) and a ConfigMap of its values, published
/// alone in the served directory.
fn publish_hooked(root: &Path) {
    let file = |n: &str, d: &str| File {
        name: n.into(),
        data: d.as_bytes().to_vec(),
    };
    let files = vec![
        file(
            "Chart.yaml",
            "apiVersion: v2\nname: hooked\nversion: 1.0.0\n",
        ),
        file("values.yaml", "greeting: hi\nfailTest: false\n"),
        file(
            "templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  greeting: {{ .Values.greeting | quote }}\n",
        ),
        file(
            "templates/tests/ping.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}-{{ if .Values.failTest }}failing{{ else }}ping{{ end }}\n  annotations:\n    helm.sh/hook: test\nspec:\n  restartPolicy: Never\n  containers:\n  - name: ping\n    image: busybox:1.36\n    command: [\"true\"]\n",
        ),
    ];
    let p = ferroflux_helm::package::package(files, 1_700_000_000).expect("package");
    std::fs::write(root.join(&p.file_name), &p.data).expect("write chart");
    let index = format!(
        "apiVersion: v1\nentries:\n  hooked:\n  - apiVersion: v2\n    name: hooked\n    version: 1.0.0\n    created: \"2024-01-01T00:00:00Z\"\n    urls:\n    - {}\ngenerated: \"2024-02-01T00:00:00Z\"\n",
        p.file_name
    );
    std::fs::write(root.join("index.yaml"), index).expect("write index");
}

/// Plays the kubelet for `ns` (the control plane has none): every Pod
/// is set `Succeeded`, those named `*-failing` `Failed`, until dropped.
struct Kubelet(tokio::task::JoinHandle<()>);

impl Kubelet {
    async fn start(client: kube::Client, ns: &str) -> Kubelet {
        use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
        use kube::api::{Api, Patch, PatchParams, PostParams};
        // No service-account controller: Pods need the default one.
        let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
        let sa: ServiceAccount =
            serde_json::from_value(serde_json::json!({"metadata": {"name": "default"}}))
                .expect("service account");
        match sas.create(&PostParams::default(), &sa).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 409 => {}
            Err(e) => panic!("create service account: {e}"),
        }
        let pods: Api<Pod> = Api::namespaced(client, ns);
        Kubelet(tokio::spawn(async move {
            loop {
                for pod in pods
                    .list(&Default::default())
                    .await
                    .map(|l| l.items)
                    .unwrap_or_default()
                {
                    let name = pod.metadata.name.clone().unwrap_or_default();
                    let phase = if name.ends_with("-failing") {
                        "Failed"
                    } else {
                        "Succeeded"
                    };
                    if pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some(phase) {
                        continue;
                    }
                    let _ = pods
                        .patch_status(
                            &name,
                            &PatchParams::default(),
                            &Patch::Merge(serde_json::json!({"status": {"phase": phase}})),
                        )
                        .await;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }))
    }
}

impl Drop for Kubelet {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Issue 19's remaining Helm checks on the real apiserver, each read back
/// with the real `helm`: `test.enable` runs the chart's test hook
/// (TestSuccess, the hook's phase in the release); a failing test is
/// remediated (install remediation: uninstall); a `valuesFrom` ConfigMap
/// changed in Git upgrades the release without a source change (a Secret
/// with `valuesKey`/`targetPath` kept in the values); a HelmRelease
/// removed from Git is uninstalled (history kept with
/// `uninstall.keepHistory`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_release_tests_values_from_and_uninstall_as_helm_reads_them() {
    use k8s_openapi::api::core::v1::Secret;
    use kube::api::Api;

    if !gitrepo::git_available() {
        ferroflux_testkit::env::skip_or_fail("git binary");
        return;
    }
    let Some(cp) = ferroflux_testkit::control_plane::ControlPlane::shared() else {
        return;
    };
    let Some(helm) = ferroflux_testkit::helm::Helm::find() else {
        return;
    };
    let Some(server) = ChartRepo::start(chart_repo::Options::default()) else {
        return;
    };
    publish_hooked(server.root());
    let ns = cp.namespace("hr-hooks");
    let (client, targets) = crate::targets(cp).await;
    let _kubelet = Kubelet::start(client.clone(), &ns).await;
    let url = server.url();
    let release = |name: &str, extra: &str| {
        format!(
            "---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: {name}
  namespace: {ns}
spec:
  interval: 5m
  chart:
    spec:
      chart: hooked
      sourceRef:
        kind: HelmRepository
        name: charts
{extra}"
        )
    };
    let repository = format!(
        "apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: charts
  namespace: {ns}
spec:
  url: {url}
  interval: 5m
"
    );
    // The valuesFrom ConfigMap lives in the cluster (a Kustomization or a
    // person puts it there): `automate --kubeconfig` reads it from there.
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client.clone(), &ns);
    let values_cm = |greeting: &str| {
        serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "tested-values"},
            "data": {"values.yaml": format!("greeting: {greeting}\n")}})
    };
    cms.patch(
        "tested-values",
        &kube::api::PatchParams::apply("test"),
        &kube::api::Patch::Apply(values_cm("hello")),
    )
    .await
    .expect("values ConfigMap");
    let tested = release(
        "tested",
        "  test:
    enable: true
  valuesFrom:
  - kind: ConfigMap
    name: tested-values
  - kind: Secret
    name: tested-token
    valuesKey: token
    targetPath: auth.token
",
    );
    let failing = release(
        "failing",
        "  install:
    remediation:
      retries: 1
  test:
    enable: true
  values:
    failTest: true
",
    );
    let kept = release(
        "kept",
        "  uninstall:
    keepHistory: true
",
    );
    let all = format!("{repository}{tested}{failing}{kept}");
    let tmp = tempfile::tempdir().expect("tempdir");
    let bare = fleet(
        tmp.path(),
        &all,
        "apiVersion: v2\nname: app\nversion: 0.1.0\n",
    );
    let secrets = secret("tested-token", &[("token", "t0ken")])
        .replace("namespace: apps", &format!("namespace: {ns}"));
    let opts = options(&bare, tmp.path(), &secrets);
    let state = StatusStore::open(&tmp.path().join("state.redb")).expect("state");
    // One runner, as one `automate --watch` process: an object that leaves
    // the checkout is cleaned up by the process that held it.
    let mut runner = Runner::new(opts.clone(), state.clone())
        .expect("runner")
        .with_targets(Arc::clone(&targets))
        .with_config_maps(client.clone());
    let condition = |hr: &Value, t: &str| -> (String, String, String) {
        let c = hr["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == t))
            .cloned()
            .unwrap_or_else(|| panic!("no {t} in {hr}"));
        let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
        (s("status"), s("reason"), s("message"))
    };
    let helm_out = |args: &[&str]| {
        helm.command()
            .args(args)
            .env("KUBECONFIG", cp.kubeconfig())
            .output()
            .expect("run helm")
    };
    let helm_json = |args: &[&str]| -> Value {
        let out = helm_out(args);
        assert!(
            out.status.success(),
            "helm {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("json")
    };

    let text = runner.run_once().await.expect("run").to_string();
    // The test hook ran and passed.
    let hr = status_of(&state, "HelmRelease", "tested");
    let passed = (
        "True".to_string(),
        "TestSucceeded".to_string(),
        format!(
            "Helm test succeeded for release {ns}/tested.v1 with chart hooked@1.0.0: 1 test hook completed successfully"
        ),
    );
    assert_eq!(condition(&hr, "TestSuccess"), passed, "{hr}\n{text}");
    assert_eq!(ready(&hr), passed, "{hr}");
    assert_eq!(
        hr["history"][0]["testHooks"]["tested-ping"]["phase"], "Succeeded",
        "{hr}"
    );
    let status = helm_json(&["status", "tested", "-n", &ns, "-o", "json"]);
    let hooks = status["hooks"].as_array().expect("hooks in helm status");
    assert_eq!(hooks.len(), 1, "{status}");
    assert_eq!(hooks[0]["name"], "tested-ping", "{status}");
    assert_eq!(hooks[0]["last_run"]["phase"], "Succeeded", "{status}");
    // valuesFrom: the ConfigMap's values and the Secret's key at its path.
    let values = helm_json(&["get", "values", "tested", "-n", &ns, "-o", "json"]);
    assert_eq!(
        values,
        serde_json::json!({"greeting": "hello", "auth": {"token": "t0ken"}})
    );

    // A failing test: TestSuccess False, the install remediated by an
    // uninstall.
    let hr = status_of(&state, "HelmRelease", "failing");
    let (status, reason, message) = condition(&hr, "TestSuccess");
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "TestFailed"),
        "{hr}\n{text}"
    );
    assert!(
        message.starts_with(&format!(
            "Helm test failed for release {ns}/failing.v1 with chart hooked@1.0.0: "
        )) && message.contains("failing-failing"),
        "{message}"
    );
    assert_eq!(
        condition(&hr, "Remediated"),
        (
            "True".into(),
            "UninstallSucceeded".into(),
            format!(
                "Helm uninstall remediation for release {ns}/failing.v1 with chart hooked@1.0.0 succeeded"
            )
        ),
        "{hr}"
    );
    assert_eq!(ready(&hr).0, "False", "{hr}");
    assert_eq!(hr["installFailures"], 1, "{hr}");
    let out = helm_out(&["history", "failing", "-n", &ns]);
    assert!(!out.status.success(), "remediated: no release left");

    // A new greeting in the valuesFrom ConfigMap, neither the chart nor
    // the HelmRelease changed: an upgrade to revision 2 with the new
    // values.
    cms.patch(
        "tested-values",
        &kube::api::PatchParams::apply("test"),
        &kube::api::Patch::Apply(values_cm("bonjour")),
    )
    .await
    .expect("values ConfigMap");
    let text = runner.run_once().await.expect("run").to_string();
    let hr = status_of(&state, "HelmRelease", "tested");
    assert_eq!(
        condition(&hr, "Released").2,
        format!("Helm upgrade succeeded for release {ns}/tested.v2 with chart hooked@1.0.0"),
        "{hr}\n{text}"
    );
    let values = helm_json(&["get", "values", "tested", "-n", &ns, "-o", "json"]);
    assert_eq!(
        values,
        serde_json::json!({"greeting": "bonjour", "auth": {"token": "t0ken"}})
    );
    let history = helm_json(&["history", "tested", "-n", &ns, "-o", "json"]);
    let statuses: Vec<&str> = history
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|r| r["status"].as_str())
        .collect();
    assert_eq!(statuses, ["superseded", "deployed"], "{history}");
    let list = helm_json(&["list", "-n", &ns, "-o", "json"]);
    let names: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(names, ["failing", "kept", "tested"], "{list}");
    // `failing` was installed again and failed its test again: out of
    // retries, it stays and stalls.
    let hr = status_of(&state, "HelmRelease", "failing");
    assert_eq!(hr["installFailures"], 2, "{hr}\n{text}");
    assert_eq!(
        condition(&hr, "Stalled"),
        (
            "True".into(),
            "RetriesExceeded".into(),
            "Failed to install after 2 attempt(s)".into()
        ),
        "{hr}"
    );

    // Both removed from Git: uninstalled; `kept` keeps its history.
    commit_all(
        &bare,
        &[(
            "clusters/stage/helm.yaml".to_string(),
            format!("{repository}{failing}").into_bytes(),
        )],
    );
    let text = runner.run_once().await.expect("run").to_string();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let storage = || async {
        let mut names: Vec<String> = secrets
            .list(&kube::api::ListParams::default().labels("owner=helm"))
            .await
            .expect("list secrets")
            .items
            .into_iter()
            .filter_map(|s| s.metadata.name)
            .collect();
        names.sort();
        names
    };
    // The cleanup runs in the background once the objects are gone.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut left = storage().await;
    let want = [
        "sh.helm.release.v1.failing.v1",
        "sh.helm.release.v1.kept.v1",
    ];
    while left != want && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        left = storage().await;
    }
    assert_eq!(left, want, "{text}");
    let list = helm_json(&["list", "-n", &ns, "-o", "json"]);
    let rows: Vec<(&str, &str)> = list
        .as_array()
        .expect("list")
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap_or_default(),
                r["status"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [("failing", "deployed"), ("kept", "uninstalled")],
        "{list}"
    );
    assert!(cms.get_opt("tested").await.expect("get").is_none());
    assert!(cms.get_opt("kept").await.expect("get").is_none());
}

/// Seed 001's ingress-nginx HelmRelease, as the article wrote it but for
/// its apiVersion mistake (which `validate` reports) and the repository
/// URL (a loopback chart repository serving a small generated chart named
/// ingress-nginx): installed in flux-system (no `targetNamespace`, as
/// Flux), with the values of its `valuesFrom` ConfigMap and Secret and
/// its own, picked from the `4.11.x` range.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_001_ingress_nginx_installs_once_its_api_version_is_corrected() {
    use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
    use kube::api::{Api, Patch, PatchParams};

    let Some(seeds) = ferroflux_testkit::env::dir_from_env("FERROFLUX_SEEDS_DIR") else {
        return;
    };
    if !gitrepo::git_available() {
        ferroflux_testkit::env::skip_or_fail("git binary");
        return;
    }
    let Some(cp) = ferroflux_testkit::control_plane::ControlPlane::shared() else {
        return;
    };
    let Some(helm) = ferroflux_testkit::helm::Helm::find() else {
        return;
    };
    let Some(server) = ChartRepo::start(chart_repo::Options::default()) else {
        return;
    };
    let seed = std::fs::read_to_string(seeds.join("manifests/001/08-nginx-ingress-helm.yaml"))
        .expect("seed 001's HelmRelease");
    let wrong = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRelease";
    assert!(seed.contains(wrong), "the seed's mistake is still there");
    let manifests = seed
        .replace(
            wrong,
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease",
        )
        .replace("https://kubernetes.github.io/ingress-nginx", &server.url());

    // ingress-nginx 4.11.3 and 4.12.0: the range picks 4.11.3.
    let file = |n: &str, d: &str| File {
        name: n.into(),
        data: d.as_bytes().to_vec(),
    };
    let mut index = String::from("apiVersion: v1\nentries:\n  ingress-nginx:\n");
    for v in ["4.11.3", "4.12.0"] {
        let files = vec![
            file(
                "Chart.yaml",
                &format!("apiVersion: v2\nname: ingress-nginx\nversion: {v}\nappVersion: 1.11.3\n"),
            ),
            file(
                "values.yaml",
                "controller:\n  replicaCount: 1\n  config: {}\n",
            ),
            file(
                "templates/controller-configmap.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-controller\n  namespace: {{ .Release.Namespace }}\ndata:\n  replicas: {{ .Values.controller.replicaCount | quote }}\n{{- range $k, $v := .Values.controller.config }}\n  {{ $k }}: {{ $v | quote }}\n{{- end }}\n",
            ),
        ];
        let p = ferroflux_helm::package::package(files, 1_700_000_000).expect("package");
        std::fs::write(server.root().join(&p.file_name), &p.data).expect("write chart");
        index.push_str(&format!(
            "  - apiVersion: v2\n    name: ingress-nginx\n    version: {v}\n    created: \"2024-01-01T00:00:00Z\"\n    urls:\n    - {}\n",
            p.file_name
        ));
    }
    std::fs::write(server.root().join("index.yaml"), index).expect("write index");

    let config = crate::kube_config(cp).await;
    let client = kube::Client::try_from(config.clone()).expect("client");
    let apply = PatchParams::apply("test");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .patch(
            "flux-system",
            &apply,
            &Patch::Apply(serde_json::json!({"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": "flux-system"}})),
        )
        .await
        .expect("flux-system namespace");
    // The seed's valuesFrom: its defaults ConfigMap in the cluster, its
    // sealed values as a Secret.
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "flux-system");
    cms.patch(
        "ingress-nginx-default-values",
        &apply,
        &Patch::Apply(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "ingress-nginx-default-values"},
            "data": {"values.yaml": "controller:\n  replicaCount: 1\n  config:\n    use-gzip: \"true\"\n"}})),
    )
    .await
    .expect("default values");
    let secrets = secret(
        "ingress-nginx-sealed-values",
        &[(
            "values.yaml",
            "controller:\n  config:\n    use-forwarded-headers: \"true\"",
        )],
    )
    .replace("namespace: apps", "namespace: flux-system");
    let targets: Arc<dyn ferroflux_controllers::target::TargetFactory> =
        Arc::new(ferroflux_runtime::target::KubeTargets::new(
            config,
            Arc::new(client.clone()),
            ferroflux_runtime::target::KubeTargetsOptions::default(),
        ));
    let tmp = tempfile::tempdir().expect("tempdir");
    let bare = fleet(
        tmp.path(),
        &manifests,
        "apiVersion: v2\nname: app\nversion: 0.1.0\n",
    );
    let opts = options(&bare, tmp.path(), &secrets);
    let state = StatusStore::open(&tmp.path().join("state.redb")).expect("state");
    let mut runner = Runner::new(opts, state.clone())
        .expect("runner")
        .with_targets(targets)
        .with_config_maps(client.clone());
    let text = runner.run_once().await.expect("run").to_string();

    let hr = status_of(&state, "HelmRelease", "ingress-nginx");
    assert_eq!(
        ready(&hr),
        (
            "True".into(),
            "InstallSucceeded".into(),
            "Helm install succeeded for release flux-system/ingress-nginx.v1 with chart ingress-nginx@4.11.3"
                .into()
        ),
        "{hr}\n{text}"
    );
    let cm = cms
        .get("ingress-nginx-controller")
        .await
        .expect("the chart's ConfigMap in flux-system");
    let data = cm.data.unwrap_or_default();
    let get = |k: &str| data.get(k).map(String::as_str);
    assert_eq!(get("replicas"), Some("3"), "the HelmRelease's values win");
    assert_eq!(get("proxy-body-size"), Some("50m"));
    assert_eq!(get("use-gzip"), Some("true"), "from the ConfigMap");
    assert_eq!(
        get("use-forwarded-headers"),
        Some("true"),
        "from the Secret"
    );

    let out = helm
        .command()
        .args(["list", "-n", "flux-system", "-o", "json"])
        .env("KUBECONFIG", cp.kubeconfig())
        .output()
        .expect("run helm");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).expect("json");
    let row = list
        .as_array()
        .and_then(|l| l.iter().find(|r| r["name"] == "ingress-nginx"))
        .unwrap_or_else(|| panic!("helm lists ingress-nginx: {list}"));
    assert_eq!(row["chart"], "ingress-nginx-4.11.3", "{list}");
    assert_eq!(row["status"], "deployed", "{list}");
    assert_eq!(row["app_version"], "1.11.3", "{list}");
}
