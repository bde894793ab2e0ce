use std::collections::BTreeMap;
use std::sync::Mutex;

use ferroflux_api::source::{HelmChartSpec, HelmRepositorySpec, LocalHelmChartSourceReference};
use ferroflux_artifact::Retention;
use ferroflux_artifact::http::HttpError;
use ferroflux_helm::chart::File;
use k8s_openapi::jiff::Timestamp;

use super::*;
use crate::FixedClock;

fn file(name: &str, data: &str) -> File {
    File {
        name: name.into(),
        data: data.as_bytes().to_vec(),
    }
}

/// A chart `name` at `version` with a values.yaml and an extra values file.
fn chart_files(name: &str, version: &str) -> Vec<File> {
    vec![
        file(
            "Chart.yaml",
            &format!("apiVersion: v2\nname: {name}\nversion: {version}\n"),
        ),
        file("values.yaml", "replicas: 1\nimage:\n  tag: a\n"),
        file("values-prod.yaml", "replicas: 3\n"),
        file(
            "templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
        ),
    ]
}

fn tgz(name: &str, version: &str) -> Vec<u8> {
    package::package(chart_files(name, version), 1_700_000_000)
        .expect("package")
        .data
}

const INDEX: &str = "apiVersion: v1
entries:
  podinfo:
  - name: podinfo
    apiVersion: v2
    version: 6.4.0
    urls: [podinfo-6.4.0.tgz]
  - name: podinfo
    apiVersion: v2
    version: 6.5.0
    urls: [podinfo-6.5.0.tgz]
  - name: podinfo
    apiVersion: v2
    version: 7.0.0-rc.1
    urls: [https://cdn.example/podinfo-7.0.0-rc.1.tgz]
generated: \"2024-01-01T00:00:00Z\"
";

struct World {
    _t: tempfile::TempDir,
    storage: Storage,
    repository: HelmRepository,
    charts: BTreeMap<String, Vec<u8>>,
    seen: Mutex<Vec<(String, bool)>>,
}

impl World {
    fn new() -> World {
        let t = tempfile::tempdir().expect("tempdir");
        let storage = Storage::new(
            &t.path().join("data"),
            "localhost:9090",
            Retention::default(),
        )
        .expect("storage");
        let mut repository = HelmRepository::new(
            "charts",
            HelmRepositorySpec {
                url: "https://charts.example/stable".into(),
                ..Default::default()
            },
        );
        repository.metadata.namespace = Some("default".into());
        let mut w = World {
            _t: t,
            storage,
            repository,
            charts: BTreeMap::from([
                (
                    "https://charts.example/stable/podinfo-6.4.0.tgz".to_string(),
                    tgz("podinfo", "6.4.0"),
                ),
                (
                    "https://charts.example/stable/podinfo-6.5.0.tgz".to_string(),
                    tgz("podinfo", "6.5.0"),
                ),
            ]),
            seen: Mutex::new(Vec::new()),
        };
        w.publish(INDEX);
        w
    }

    /// Store `index` as the repository's artifact.
    fn publish(&mut self, index: &str) {
        let json = Index::load(index.as_bytes()).expect("index").to_json();
        let rev = repo::revision(index.as_bytes());
        let path = format!("helmrepository/default/charts/index-{}.yaml", &rev[7..]);
        let stored = self.storage.write(&path, json.as_bytes()).expect("write");
        self.repository.status = Some(ferroflux_api::source::SourceStatus {
            artifact: Some(Artifact {
                url: self.storage.url(&path),
                path,
                revision: rev,
                digest: Some(stored.digest),
                ..Default::default()
            }),
            ..Default::default()
        });
    }

    fn fetch(&self, url: &str, opts: &HttpOptions) -> Result<Vec<u8>, HttpError> {
        self.seen
            .lock()
            .expect("lock")
            .push((url.to_string(), opts.basic_auth.is_some()));
        self.charts.get(url).cloned().ok_or(HttpError::Status {
            url: url.into(),
            status: "404 Not Found".into(),
        })
    }

    fn run(&self, hc: &HelmChart) -> HelmChartResult {
        let source = ChartSource::HelmRepository {
            repository: Box::new(self.repository.clone()),
            secret: None,
            cert_secret: None,
        };
        self.run_with(hc, &source)
    }

    fn run_with(&self, hc: &HelmChart, source: &ChartSource) -> HelmChartResult {
        let input = HelmChartInput {
            chart: hc,
            source,
            storage: &self.storage,
            limits: &Limits::default(),
            requeue_dependency: Duration::from_secs(30),
            repositories: &[],
            oci: None,
        };
        let clock = FixedClock::new(Timestamp::from_second(1_778_655_974).expect("ts"));
        reconcile(&input, &clock, &|u, o| self.fetch(u, o))
    }

    fn run_deps(
        &self,
        hc: &HelmChart,
        source: &ChartSource,
        repositories: &[DependencyRepository],
    ) -> HelmChartResult {
        let input = HelmChartInput {
            chart: hc,
            source,
            storage: &self.storage,
            limits: &Limits::default(),
            requeue_dependency: Duration::from_secs(30),
            repositories,
            oci: None,
        };
        let clock = FixedClock::new(Timestamp::from_second(1_778_655_974).expect("ts"));
        reconcile(&input, &clock, &|u, o| self.fetch(u, o))
    }

    fn run_oci(&self, hc: &HelmChart, source: &ChartSource, oci: OciPull<'_>) -> HelmChartResult {
        let input = HelmChartInput {
            chart: hc,
            source,
            storage: &self.storage,
            limits: &Limits::default(),
            requeue_dependency: Duration::from_secs(30),
            repositories: &[],
            oci: Some(oci),
        };
        let clock = FixedClock::new(Timestamp::from_second(1_778_655_974).expect("ts"));
        reconcile(&input, &clock, &|u, o| self.fetch(u, o))
    }

    fn downloads(&self) -> usize {
        self.seen.lock().expect("lock").len()
    }
}

fn helm_chart(version: Option<&str>) -> HelmChart {
    let mut hc = HelmChart::new(
        "podinfo",
        HelmChartSpec {
            chart: "podinfo".into(),
            version: version.map(String::from),
            source_ref: LocalHelmChartSourceReference {
                kind: "HelmRepository".into(),
                name: "charts".into(),
                api_version: None,
            },
            interval: ferroflux_api::Duration::from_secs(300),
            ..Default::default()
        },
    );
    hc.metadata.namespace = Some("default".into());
    hc.metadata.generation = Some(1);
    hc
}

fn cond(st: &HelmChartStatus, type_: &str) -> Option<(String, String, String)> {
    status::get(&st.conditions, type_)
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

#[test]
fn the_highest_stable_version_is_pulled_as_served_then_kept() {
    let w = World::new();
    let mut hc = helm_chart(None);
    let r = w.run(&hc);
    let message = "pulled 'podinfo' chart with version '6.5.0'";
    assert_eq!(
        cond(&r.status, "Ready"),
        Some(("True".into(), "ChartPullSucceeded".into(), message.into()))
    );
    assert_eq!(
        cond(&r.status, "ArtifactInStorage"),
        Some(("True".into(), "ChartPullSucceeded".into(), message.into()))
    );
    let a = r.status.artifact.clone().expect("artifact");
    assert_eq!(a.revision, "6.5.0");
    assert_eq!(a.path, "helmchart/default/podinfo/podinfo-6.5.0.tgz");
    // Stored byte for byte as served.
    assert_eq!(
        std::fs::read(w.storage.local_path(&a.path)).expect("stored"),
        w.charts["https://charts.example/stable/podinfo-6.5.0.tgz"]
    );
    assert_eq!(r.status.observed_chart_name.as_deref(), Some("podinfo"));
    assert_eq!(
        r.status.observed_source_artifact_revision,
        w.repository
            .status
            .as_ref()
            .and_then(|s| s.artifact.as_ref())
            .map(|a| a.revision.clone())
    );
    assert_eq!(
        r.status.url.as_deref(),
        Some("http://localhost:9090/helmchart/default/podinfo/latest.tar.gz")
    );
    let ev = r.event.clone().expect("event");
    assert_eq!(
        (ev.reason.as_str(), ev.message.as_str()),
        ("ChartPullSucceeded", message)
    );
    assert_eq!(w.downloads(), 1);
    // Same generation, same version: nothing downloaded again.
    hc.status = Some(r.status.clone());
    let again = w.run(&hc);
    assert_eq!(w.downloads(), 1);
    assert_eq!(again.status.artifact, r.status.artifact);
    assert_eq!(again.event.expect("event").type_, EventType::Trace);
}

#[test]
fn a_newly_published_version_is_pulled_on_the_next_run() {
    let mut w = World::new();
    let mut hc = helm_chart(Some("6.x"));
    let r = w.run(&hc);
    assert_eq!(r.status.artifact.as_ref().expect("a").revision, "6.5.0");
    hc.status = Some(r.status);
    w.charts.insert(
        "https://charts.example/stable/podinfo-6.6.1.tgz".into(),
        tgz("podinfo", "6.6.1"),
    );
    w.publish(&INDEX.replace(
        "generated:",
        "  - name: podinfo\n    apiVersion: v2\n    version: 6.6.1\n    urls: [podinfo-6.6.1.tgz]\ngenerated:",
    ));
    let r = w.run(&hc);
    assert_eq!(
        cond(&r.status, "Ready").expect("ready").2,
        "pulled 'podinfo' chart with version '6.6.1'"
    );
    assert_eq!(r.status.artifact.expect("a").revision, "6.6.1");
    assert_eq!(r.event.expect("event").reason, "ChartPullSucceeded");
}

#[test]
fn a_missing_version_or_name_is_an_invalid_reference() {
    let w = World::new();
    let r = w.run(&helm_chart(Some("9.x")));
    let message = "invalid chart reference: failed to get chart version for remote reference: no 'podinfo' chart with version matching '9.x' found";
    assert_eq!(
        cond(&r.status, "Ready"),
        Some((
            "False".into(),
            "InvalidChartReference".into(),
            message.into()
        ))
    );
    assert_eq!(
        cond(&r.status, "FetchFailed"),
        Some((
            "True".into(),
            "InvalidChartReference".into(),
            message.into()
        ))
    );
    assert_eq!(
        cond(&r.status, "Stalled").expect("stalled").1,
        "InvalidChartReference"
    );
    assert_eq!(r.outcome, Outcome::Wait);
    let mut bad = helm_chart(None);
    bad.spec.chart = "Pod_Info".into();
    let r = w.run(&bad);
    assert!(
        cond(&r.status, "Ready")
            .expect("ready")
            .2
            .starts_with("invalid chart reference: invalid chart name 'Pod_Info'"),
        "{:?}",
        r.status
    );
    let mut other = helm_chart(None);
    other.spec.chart = "nginx".into();
    let r = w.run(&other);
    assert!(
        cond(&r.status, "Ready")
            .expect("ready")
            .2
            .ends_with("no chart name found"),
        "{:?}",
        r.status
    );
    assert_eq!(w.downloads(), 0);
}

#[test]
fn download_failures_are_pull_errors_or_authentication_failures() {
    let mut w = World::new();
    w.charts.clear();
    let r = w.run(&helm_chart(None));
    assert_eq!(
        cond(&r.status, "FetchFailed"),
        Some((
            "True".into(),
            "ChartPullError".into(),
            "chart pull error: failed to download chart for remote reference: failed to fetch https://charts.example/stable/podinfo-6.5.0.tgz : 404 Not Found".into()
        ))
    );
    assert_eq!(r.outcome, Outcome::Backoff);
    w.charts.insert(
        "https://charts.example/stable/podinfo-6.5.0.tgz".into(),
        b"not a chart".to_vec(),
    );
    let r = w.run(&helm_chart(None));
    let (_, reason, message) = cond(&r.status, "FetchFailed").expect("failed");
    assert_eq!(reason, "ChartPullError");
    assert!(
        message.contains("failed to load chart metadata from written chart"),
        "{message}"
    );
    assert!(r.status.artifact.is_none());
}

#[test]
fn values_files_are_merged_and_the_generation_is_in_the_version() {
    let w = World::new();
    let mut hc = helm_chart(Some("6.4.0"));
    hc.spec.values_files = vec!["values.yaml".into(), "values-prod.yaml".into()];
    hc.metadata.generation = Some(3);
    let r = w.run(&hc);
    assert_eq!(
        cond(&r.status, "Ready"),
        Some((
            "True".into(),
            "ChartPackageSucceeded".into(),
            "packaged 'podinfo' chart with version '6.4.0+3' and merged values files [values.yaml values-prod.yaml]".into()
        ))
    );
    let a = r.status.artifact.clone().expect("artifact");
    assert_eq!(a.path, "helmchart/default/podinfo/podinfo-6.4.0+3.tgz");
    let chart = chart::load_archive(&std::fs::read(w.storage.local_path(&a.path)).expect("tgz"))
        .expect("loads");
    assert_eq!(chart.metadata.version, "6.4.0+3");
    assert_eq!(chart.values["replicas"], serde_json::json!(3.0));
    assert_eq!(chart.values["image"]["tag"], "a");
    // A missing file stalls, unless ignored.
    hc.spec.values_files = vec!["values-none.yaml".into()];
    let r = w.run(&hc);
    assert_eq!(
        cond(&r.status, "BuildFailed"),
        Some((
            "True".into(),
            "ValuesFilesError".into(),
            "values files merge error: failed to merge chart values: no values file found at path 'values-none.yaml'".into()
        ))
    );
    assert_eq!(r.outcome, Outcome::Wait);
    hc.spec.ignore_missing_values_files = Some(true);
    hc.spec.values_files = vec!["values-none.yaml".into(), "values-prod.yaml".into()];
    let r = w.run(&hc);
    assert!(cond(&r.status, "BuildFailed").is_none());
    assert_eq!(
        r.status.observed_values_files,
        vec!["values-prod.yaml".to_string()]
    );
}

#[test]
fn sources_that_are_missing_or_empty_wait_and_unknown_kinds_stall() {
    let w = World::new();
    let hc = helm_chart(None);
    let r = w.run_with(
        &hc,
        &ChartSource::Missing(
            "helmrepositories.source.toolkit.fluxcd.io \"charts\" not found".into(),
        ),
    );
    assert_eq!(
        cond(&r.status, "FetchFailed"),
        Some((
            "True".into(),
            "SourceUnavailable".into(),
            "failed to get source: helmrepositories.source.toolkit.fluxcd.io \"charts\" not found"
                .into()
        ))
    );
    assert_eq!(r.outcome, Outcome::Backoff);
    let mut empty = w.repository.clone();
    empty.status = None;
    let r = w.run_with(
        &hc,
        &ChartSource::HelmRepository {
            repository: Box::new(empty),
            secret: None,
            cert_secret: None,
        },
    );
    assert_eq!(
        cond(&r.status, "FetchFailed"),
        Some((
            "True".into(),
            "NoSourceArtifact".into(),
            "no artifact available for HelmRepository source 'charts'".into()
        ))
    );
    assert_eq!(r.outcome, Outcome::RequeueAfter(Duration::from_secs(30)));
    let r = w.run_with(&hc, &ChartSource::Unsupported("OCIRepository".into()));
    assert_eq!(
        cond(&r.status, "Stalled").expect("s").1,
        "UnsupportedSourceKind"
    );
}

/// A GitRepository artifact holding `files` (path, content).
fn git_artifact(w: &World, files: &[(&str, &str)], commit: &str) -> Artifact {
    let dir = tempfile::tempdir().expect("tempdir");
    for (p, data) in files {
        let path = dir.path().join(p);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, data).expect("write");
    }
    let path = format!("gitrepository/default/fleet/{commit}.tar.gz");
    let stored = w
        .storage
        .archive(&path, dir.path(), None, &Limits::default())
        .expect("archive");
    Artifact {
        url: w.storage.url(&path),
        path,
        revision: format!("main@sha1:{commit}"),
        digest: Some(stored.digest),
        ..Default::default()
    }
}

fn git_chart(path: &str) -> HelmChart {
    let mut hc = helm_chart(None);
    hc.spec.chart = path.into();
    hc.spec.source_ref = LocalHelmChartSourceReference {
        kind: "GitRepository".into(),
        name: "fleet".into(),
        api_version: None,
    };
    hc
}

#[test]
fn a_chart_directory_of_a_git_source_is_packaged() {
    let w = World::new();
    let commit = "0123456789abcdef0123456789abcdef01234567";
    let files = [
        (
            "charts/app/Chart.yaml",
            "apiVersion: v2\nname: app\nversion: 1.2.3\n",
        ),
        ("charts/app/values.yaml", "replicas: 1\n"),
        (
            "charts/app/templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
        ),
        ("env/prod.yaml", "replicas: 5\n"),
    ];
    let artifact = git_artifact(&w, &files, commit);
    let source = ChartSource::GitRepository(Some(artifact.clone()));
    let mut hc = git_chart("./charts/app");
    let r = w.run_with(&hc, &source);
    assert_eq!(
        cond(&r.status, "Ready"),
        Some((
            "True".into(),
            "ChartPackageSucceeded".into(),
            "packaged 'app' chart with version '1.2.3'".into()
        ))
    );
    assert_eq!(
        r.status.observed_source_artifact_revision.as_deref(),
        Some(artifact.revision.as_str())
    );
    // Revision strategy and values files of the source root.
    hc.spec.reconcile_strategy = Some("Revision".into());
    hc.spec.values_files = vec!["env/prod.yaml".into()];
    hc.metadata.generation = Some(2);
    let r = w.run_with(&hc, &source);
    let a = r.status.artifact.clone().expect("artifact");
    assert_eq!(a.revision, "1.2.3+0123456789ab.2");
    let chart = chart::load_archive(&std::fs::read(w.storage.local_path(&a.path)).expect("tgz"))
        .expect("loads");
    assert_eq!(chart.values["replicas"], serde_json::json!(5.0));
    hc.spec.values_files = vec!["env/none.yaml".into()];
    let r = w.run_with(&hc, &source);
    assert_eq!(
        cond(&r.status, "BuildFailed").expect("failed").2,
        "values files merge error: no values file found at path '/env/none.yaml' (reference 'env/none.yaml')"
    );
}

#[test]
fn a_git_chart_without_its_dependencies_or_directory_fails_clearly() {
    let w = World::new();
    let files = [(
        "charts/app/Chart.yaml",
        "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: redis\n  version: 1.x\n  repository: https://charts.example\n",
    )];
    let source = ChartSource::GitRepository(Some(git_artifact(&w, &files, "ab")));
    let r = w.run_with(&git_chart("charts/app"), &source);
    let (_, reason, message) = cond(&r.status, "BuildFailed").expect("build failed");
    assert_eq!(reason, "DependencyBuildError");
    assert_eq!(
        message,
        "dependency build error: failed to add remote dependency 'redis': failed to get chart 'redis' version '1.x' from 'https://charts.example': failed to cache index: failed to cache index to temporary file: failed to fetch https://charts.example/index.yaml : 404 Not Found"
    );
    assert_eq!(r.outcome, Outcome::Backoff);
    let r = w.run_with(&git_chart("charts/none"), &source);
    let (_, reason, message) = cond(&r.status, "FetchFailed").expect("fetch failed");
    assert_eq!(reason, "InvalidChartReference");
    assert!(message.contains("'charts/none'"), "{message}");
    let r = w.run_with(&git_chart("/abs"), &source);
    assert_eq!(
        cond(&r.status, "Stalled").expect("s").1,
        "InvalidChartReference"
    );
    let r = w.run_with(&git_chart("charts/app"), &ChartSource::GitRepository(None));
    assert_eq!(
        cond(&r.status, "FetchFailed").expect("f").2,
        "no artifact available for GitRepository source 'fleet'"
    );
}

#[test]
fn local_file_dependencies_are_packaged_as_subcharts() {
    let w = World::new();
    let parent = |constraint: &str| {
        format!(
            "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: common\n  version: '{constraint}'\n  repository: file://../common\n"
        )
    };
    let common = [
        (
            "charts/common/Chart.yaml",
            "apiVersion: v2\nname: common\nversion: 2.1.0\n",
        ),
        (
            "charts/common/templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: common\n",
        ),
    ];
    let ok = parent("2.x");
    let mut files = vec![("charts/app/Chart.yaml", ok.as_str())];
    files.extend(common);
    let source = ChartSource::GitRepository(Some(git_artifact(&w, &files, "cd")));
    let r = w.run_with(&git_chart("charts/app"), &source);
    assert_eq!(
        cond(&r.status, "Ready").expect("ready").2,
        "packaged 'app' chart with version '1.0.0'",
        "{:?}",
        r.status
    );
    let a = r.status.artifact.expect("artifact");
    let chart = chart::load_archive(&std::fs::read(w.storage.local_path(&a.path)).expect("tgz"))
        .expect("loads");
    assert_eq!(chart.dependencies.len(), 1);
    assert_eq!(chart.dependencies[0].metadata.version, "2.1.0");
    // A version outside the constraint, and a path that is not there.
    let bad = parent("3.x");
    let mut files = vec![("charts/app/Chart.yaml", bad.as_str())];
    files.extend(common);
    let source = ChartSource::GitRepository(Some(git_artifact(&w, &files, "ce")));
    let r = w.run_with(&git_chart("charts/app"), &source);
    assert_eq!(
        cond(&r.status, "BuildFailed").expect("failed").2,
        "dependency build error: failed to add local dependency 'common': can't get a valid version for constraint '3.x'"
    );
    let files = vec![("charts/app/Chart.yaml", ok.as_str())];
    let source = ChartSource::GitRepository(Some(git_artifact(&w, &files, "cf")));
    let r = w.run_with(&git_chart("charts/app"), &source);
    assert_eq!(
        cond(&r.status, "BuildFailed").expect("failed").2,
        "dependency build error: failed to add local dependency 'common': no chart found at '/charts/common' (reference 'file://../common')"
    );
}

#[test]
fn remote_dependencies_come_from_their_repository_with_its_credentials() {
    let mut w = World::new();
    w.charts.insert(
        "https://charts.example/stable/index.yaml".into(),
        INDEX.as_bytes().to_vec(),
    );
    let files = [(
        "charts/app/Chart.yaml",
        "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: podinfo\n  version: 6.4.x\n  repository: https://charts.example/stable/\n",
    )];
    let source = ChartSource::GitRepository(Some(git_artifact(&w, &files, "dd")));
    let mut repository = w.repository.clone();
    repository.spec.secret_ref = Some(ferroflux_api::meta::LocalObjectReference {
        name: "auth".into(),
    });
    let auth: SecretData = BTreeMap::from([
        ("username".to_string(), b"bob".to_vec()),
        ("password".to_string(), b"pw".to_vec()),
    ]);
    let repos = [DependencyRepository {
        repository,
        secret: Some(Ok(auth)),
        cert_secret: None,
    }];
    let r = w.run_deps(&git_chart("charts/app"), &source, &repos);
    assert_eq!(
        cond(&r.status, "Ready").expect("ready").2,
        "packaged 'app' chart with version '1.0.0'",
        "{:?}",
        r.status
    );
    let a = r.status.artifact.expect("artifact");
    let chart = chart::load_archive(&std::fs::read(w.storage.local_path(&a.path)).expect("tgz"))
        .expect("loads");
    assert_eq!(chart.dependencies[0].metadata.name, "podinfo");
    assert_eq!(chart.dependencies[0].metadata.version, "6.4.0");
    let seen = w.seen.lock().expect("lock").clone();
    assert_eq!(
        seen,
        vec![
            ("https://charts.example/stable/index.yaml".to_string(), true),
            (
                "https://charts.example/stable/podinfo-6.4.0.tgz".to_string(),
                true
            ),
        ]
    );
}

#[test]
fn verify_on_an_http_repository_fails_as_flux_does() {
    let w = World::new();
    let mut hc = helm_chart(None);
    hc.spec.verify = Some(ferroflux_api::source::OCIRepositoryVerification {
        provider: "cosign".into(),
        ..Default::default()
    });
    let r = w.run(&hc);
    let message = "chart verification error: not implemented";
    assert_eq!(
        cond(&r.status, "BuildFailed"),
        Some((
            "True".into(),
            "ChartVerificationError".into(),
            message.into()
        ))
    );
    assert_eq!(
        cond(&r.status, "SourceVerified"),
        Some(("False".into(), "VerificationError".into(), message.into()))
    );
    assert_eq!(r.outcome, Outcome::Backoff);
    assert_eq!(w.downloads(), 0);
}

/// A `type: oci` HelmRepository: no artifact, the chart resolved and
/// pulled through the OCI puller (with the repository's credentials),
/// kept while the version stays; failures as Flux words them.
#[test]
fn charts_of_an_oci_repository_are_resolved_and_pulled_from_the_registry() {
    use ferroflux_api::source::HelmRepositoryType;
    let w = World::new();
    let mut repository = w.repository.clone();
    repository.spec.url = "oci://registry.example/charts/".into();
    repository.spec.repo_type = Some(HelmRepositoryType::Oci);
    repository.spec.secret_ref = Some(ferroflux_api::meta::LocalObjectReference {
        name: "creds".into(),
    });
    repository.status = None;
    let creds = BTreeMap::from([
        ("username".to_string(), b"bob".to_vec()),
        ("password".to_string(), b"s3cret".to_vec()),
    ]);
    let source = ChartSource::HelmRepository {
        repository: Box::new(repository),
        secret: Some(Ok(creds)),
        cert_secret: None,
    };
    let pulls: Mutex<Vec<(String, String, bool)>> = Mutex::new(Vec::new());
    let oci = |p: &ChartPull| -> Result<PulledChart, ChartPullError> {
        pulls
            .lock()
            .expect("lock")
            .push((p.url.clone(), p.version.clone(), p.download));
        assert_eq!(
            p.auth,
            ferroflux_registry::Auth::Basic {
                username: "bob".into(),
                password: "s3cret".into()
            }
        );
        match p.version.as_str() {
            "6.x" | "6.5.0" => Ok(PulledChart {
                version: "6.5.0".into(),
                data: p.download.then(|| tgz("podinfo", "6.5.0")),
                digest: None,
            }),
            other => Err(ChartPullError {
                message: format!(
                    "could not locate a version matching provided version string {other}"
                ),
                reference: true,
                auth: false,
            }),
        }
    };
    let mut hc = helm_chart(Some("6.x"));
    let r = w.run_oci(&hc, &source, &oci);
    assert_eq!(
        cond(&r.status, "Ready"),
        Some((
            "True".into(),
            "ChartPullSucceeded".into(),
            "pulled 'podinfo' chart with version '6.5.0'".into()
        )),
        "{:?}",
        r.status.conditions
    );
    let a = r.status.artifact.clone().expect("artifact");
    assert_eq!(a.revision, "6.5.0");
    assert_eq!(
        w.storage.local_path(&a.path),
        w.storage
            .local_path("helmchart/default/podinfo/podinfo-6.5.0.tgz")
    );
    assert_eq!(
        *pulls.lock().expect("lock"),
        [
            (
                "oci://registry.example/charts".to_string(),
                "6.x".to_string(),
                false
            ),
            (
                "oci://registry.example/charts".to_string(),
                "6.5.0".to_string(),
                true
            ),
        ]
    );
    // The same version again: resolved, not downloaded.
    hc.status = Some(r.status.clone());
    hc.metadata.generation = r.status.observed_generation;
    let again = w.run_oci(&hc, &source, &oci);
    assert_eq!(again.status.artifact, r.status.artifact);
    assert_eq!(pulls.lock().expect("lock").len(), 3);
    // No version in range: Flux's reference error, stalled.
    let missing = helm_chart(Some("9.x"));
    let r = w.run_oci(&missing, &source, &oci);
    assert_eq!(
        cond(&r.status, "Ready"),
        Some((
            "False".into(),
            "InvalidChartReference".into(),
            "invalid chart reference: failed to get chart version for remote reference: could not locate a version matching provided version string 9.x".into()
        ))
    );
    assert!(cond(&r.status, "Stalled").is_some());
    // A refused login: AuthenticationFailed, retried, no secret shown.
    let denied = |_: &ChartPull| -> Result<PulledChart, ChartPullError> {
        Err(ChartPullError {
            message: "GET https://registry.example/v2/charts/podinfo/tags/list: unexpected status code 401 Unauthorized".into(),
            reference: true,
            auth: true,
        })
    };
    let r = w.run_oci(&helm_chart(Some("6.x")), &source, &denied);
    let (status, reason, message) = cond(&r.status, "Ready").expect("ready");
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "AuthenticationFailed")
    );
    assert!(
        message.starts_with("failed to authenticate with the Helm repository: "),
        "{message}"
    );
    assert!(!format!("{:?}", r.status).contains("s3cret"));
}
