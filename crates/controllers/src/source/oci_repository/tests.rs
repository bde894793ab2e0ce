//! Against the fake registry of ferroflux-testkit: artifacts served as
//! `flux push artifact` and `helm push` write them, and hostile answers.

use std::collections::BTreeMap;

use ferroflux_api::meta::{Condition, LocalObjectReference};
use ferroflux_api::source::{OCILayerSelector, OCIRepositoryRef, OCIRepositorySpec};
use ferroflux_artifact::Retention;
use ferroflux_registry::manifest::{FLUX_CONFIG, FLUX_CONTENT, HELM_CONFIG, OCI_MANIFEST, sha256};
use ferroflux_testkit::fake_registry::{FakeRegistry, Options as FakeOptions, Served};
use k8s_openapi::jiff::Timestamp;

use super::*;
use crate::FixedClock;

fn clock() -> FixedClock {
    FixedClock::new(Timestamp::from_second(1_778_655_974).expect("ts"))
}

fn storage(t: &tempfile::TempDir) -> Storage {
    Storage::new(
        &t.path().join("data"),
        "localhost:9090",
        Retention::default(),
    )
    .expect("storage")
}

/// A tar.gz of `files` as Flux writes artifacts.
fn tgz(files: &[(&str, &str)]) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("dir");
    for (name, body) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, body).expect("write");
    }
    ferroflux_artifact::archive::write_tar_gz(
        dir.path(),
        None,
        &ferroflux_artifact::Limits::default(),
        Vec::new(),
    )
    .expect("tgz")
}

/// The objects of one artifact `repo:tag` with a config and one layer.
fn artifact(
    objects: &mut BTreeMap<String, Served>,
    repo: &str,
    tags: &[&str],
    (config_type, layer_type): (&str, &str),
    layer: &[u8],
) -> String {
    let layer_digest = sha256(layer);
    let config_digest = sha256(b"{}");
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": config_type, "digest": config_digest, "size": 2},
        "layers": [{"mediaType": layer_type, "digest": layer_digest, "size": layer.len()}],
        "annotations": {
            "org.opencontainers.image.source": "https://github.com/org/fleet",
            "org.opencontainers.image.revision": "main@sha1:0123abcd",
        },
    }))
    .expect("json");
    let digest = sha256(&manifest);
    let served = |body: Vec<u8>| Served {
        content_type: OCI_MANIFEST.into(),
        body,
        digest: None,
    };
    for tag in tags {
        objects.insert(format!("{repo}/manifests/{tag}"), served(manifest.clone()));
    }
    objects.insert(format!("{repo}/manifests/{digest}"), served(manifest));
    objects.insert(
        format!("{repo}/blobs/{layer_digest}"),
        served(layer.to_vec()),
    );
    digest
}

fn repo(url: &str, reference: Option<OCIRepositoryRef>) -> OCIRepository {
    let mut r = OCIRepository::new(
        "podinfo",
        OCIRepositorySpec {
            url: url.into(),
            reference,
            insecure: Some(true),
            interval: ferroflux_api::Duration::from_secs(300),
            ..Default::default()
        },
    );
    r.metadata.namespace = Some("apps".into());
    r.metadata.generation = Some(1);
    r
}

fn tag(t: &str) -> Option<OCIRepositoryRef> {
    Some(OCIRepositoryRef {
        tag: Some(t.into()),
        ..Default::default()
    })
}

async fn run(r: &OCIRepository, storage: &Storage) -> OciRepositoryResult {
    run_with(r, storage, None).await
}

async fn run_with(
    r: &OCIRepository,
    storage: &Storage,
    secret: Option<Result<&SecretData, &str>>,
) -> OciRepositoryResult {
    let options = Options {
        rate_limit: 0,
        timeout: Duration::from_secs(10),
        ..Options::default()
    };
    let input = OciRepositoryInput {
        repository: r,
        secret,
        cert_secret: None,
        storage,
        client: &options,
    };
    reconcile(&input, &clock()).await
}

fn cond<'a>(st: &'a SourceStatus, t: &str) -> &'a Condition {
    status::get(&st.conditions, t).unwrap_or_else(|| panic!("no {t} in {:?}", st.conditions))
}

#[tokio::test]
async fn a_flux_artifact_is_extracted_stored_and_then_up_to_date() {
    let layer = tgz(&[("deploy/app.yaml", "kind: ConfigMap\n"), ("README.md", "x")]);
    let mut objects = BTreeMap::new();
    let digest = artifact(
        &mut objects,
        "org/manifests",
        &["v1.0.0"],
        (FLUX_CONFIG, FLUX_CONTENT),
        &layer,
    );
    let fake = FakeRegistry::start(FakeOptions {
        objects,
        ..FakeOptions::default()
    })
    .await;
    let t = tempfile::tempdir().expect("tmp");
    let storage = storage(&t);
    let url = format!("oci://{}", fake.image("org/manifests"));
    let mut r = repo(&url, tag("v1.0.0"));
    r.spec.ignore = Some("*.md\n".into());
    let out = run(&r, &storage).await;
    let st = &out.status;
    let revision = format!("v1.0.0@{digest}");
    let ready = cond(st, condition::READY);
    assert_eq!(ready.status, "True", "{ready:?}");
    assert_eq!(
        ready.message,
        format!("stored artifact for digest '{revision}'")
    );
    assert_eq!(cond(st, condition::ARTIFACT_IN_STORAGE).status, "True");
    let a = st.artifact.as_ref().expect("artifact");
    assert_eq!(a.revision, revision);
    assert_eq!(
        a.path,
        format!("ocirepository/apps/podinfo/{digest}.tar.gz")
    );
    assert_eq!(
        a.metadata["org.opencontainers.image.revision"],
        "main@sha1:0123abcd"
    );
    assert_eq!(
        st.url.as_deref(),
        Some("http://localhost:9090/ocirepository/apps/podinfo/latest.tar.gz")
    );
    assert_eq!(st.observed_ignore.as_deref(), Some("*.md\n"));
    // The stored tree: the manifests, not what `ignore` names.
    let unpacked = t.path().join("unpacked");
    ferroflux_artifact::archive::unpack_tar_gz(
        &storage.local_path(&a.path),
        &unpacked,
        &ferroflux_artifact::Limits::default(),
    )
    .expect("unpack");
    assert_eq!(
        std::fs::read_to_string(unpacked.join("deploy/app.yaml")).expect("app"),
        "kind: ConfigMap\n"
    );
    assert!(!unpacked.join("README.md").exists());
    let event = out.event.expect("event");
    assert_eq!(event.reason, "NewArtifact");
    assert_eq!(
        event.message,
        format!(
            "stored artifact with revision '{revision}' from '{url}', origin source 'https://github.com/org/fleet', origin revision 'main@sha1:0123abcd'"
        )
    );
    assert_eq!(out.outcome, Outcome::RequeueAfter(Duration::from_secs(300)));

    // Again: nothing pulled, the same artifact.
    r.status = Some(out.status.clone());
    let again = run(&r, &storage).await;
    assert_eq!(again.status.artifact, out.status.artifact);
    assert_eq!(again.event.expect("event").reason, "ArtifactUpToDate");
    // `ignore` moved: rebuilt from the same revision, README kept now.
    r.spec.ignore = None;
    r.status = Some(again.status.clone());
    let rebuilt = run(&r, &storage).await;
    assert_eq!(cond(&rebuilt.status, condition::READY).status, "True");
    assert_eq!(rebuilt.status.observed_ignore, None);
    assert_ne!(
        rebuilt.status.artifact.as_ref().expect("a").digest,
        a.digest
    );
}

#[tokio::test]
async fn semver_picks_the_newest_tag_in_range_and_filter_and_digest_pins() {
    let mut objects = BTreeMap::new();
    let mut digests = BTreeMap::new();
    for v in ["1.0.0", "1.2.0", "1.3.0-rc.1", "2.0.0", "v1.2.5"] {
        let layer = tgz(&[("v.yaml", v)]);
        digests.insert(
            v,
            artifact(
                &mut objects,
                "org/app",
                &[v],
                (FLUX_CONFIG, FLUX_CONTENT),
                &layer,
            ),
        );
    }
    let tags = digests.keys().map(|s| s.to_string()).collect();
    let fake = FakeRegistry::start(FakeOptions {
        objects,
        repositories: BTreeMap::from([("org/app".to_owned(), tags)]),
        ..FakeOptions::default()
    })
    .await;
    let t = tempfile::tempdir().expect("tmp");
    let storage = storage(&t);
    let url = format!("oci://{}", fake.image("org/app"));
    let semver = |range: &str, filter: Option<&str>| {
        Some(OCIRepositoryRef {
            semver: Some(range.into()),
            semver_filter: filter.map(Into::into),
            ..Default::default()
        })
    };
    let cases = [
        (semver("1.x", None), format!("v1.2.5@{}", digests["v1.2.5"])),
        (
            semver(">=1.0.0", Some("^1\\.")),
            format!("1.2.0@{}", digests["1.2.0"]),
        ),
        (
            semver(">=1.3.0-0 <2.0.0", None),
            format!("1.3.0-rc.1@{}", digests["1.3.0-rc.1"]),
        ),
        (
            Some(OCIRepositoryRef {
                digest: Some(digests["1.0.0"].clone()),
                tag: Some("2.0.0".into()),
                ..Default::default()
            }),
            digests["1.0.0"].clone(),
        ),
    ];
    for (reference, want) in cases {
        let r = repo(&url, reference.clone());
        let out = run(&r, &storage).await;
        let a = out.status.artifact.as_ref();
        assert_eq!(
            a.map(|a| a.revision.as_str()),
            Some(want.as_str()),
            "{reference:?}: {:?}",
            out.status.conditions
        );
    }
    let r = repo(&url, semver("3.x", None));
    let out = run(&r, &storage).await;
    let ready = cond(&out.status, condition::READY);
    assert_eq!(ready.reason, reason::READ_OPERATION_FAILED);
    assert_eq!(
        ready.message,
        format!("failed to determine the artifact tag for '{url}': no match found for semver: 3.x")
    );
    assert_eq!(cond(&out.status, condition::FETCH_FAILED).status, "True");
}

#[test]
fn helm_chart_tags_read_underscore_as_plus() {
    let tags: Vec<String> = ["0.0.9", "0.1.0_build.2", "0.2.0-rc.1"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        select_semver(&tags, "*", "", HELM_CHART_CONTENT).as_deref(),
        Ok("0.1.0_build.2")
    );
    assert_eq!(select_semver(&tags, "*", "", "").as_deref(), Ok("0.0.9"));
    assert_eq!(
        select_semver(&tags, ">=0.1.0-0", "", "").as_deref(),
        Ok("0.2.0-rc.1")
    );
    assert_eq!(
        select_semver(&tags, "not a range", "", "").unwrap_err(),
        "semver 'not a range' parse error: improper constraint: not a range"
    );
    assert!(
        select_semver(&tags, "*", "(", "")
            .unwrap_err()
            .contains("regex parse error")
    );
}

#[tokio::test]
async fn a_chart_layer_is_copied_as_it_is() {
    let chart = b"\x1f\x8b chart bytes, stored unopened".to_vec();
    let mut objects = BTreeMap::new();
    let digest = artifact(
        &mut objects,
        "charts/podinfo",
        &["6.5.0"],
        (HELM_CONFIG, HELM_CHART_CONTENT),
        &chart,
    );
    let fake = FakeRegistry::start(FakeOptions {
        objects,
        ..FakeOptions::default()
    })
    .await;
    let t = tempfile::tempdir().expect("tmp");
    let storage = storage(&t);
    let mut r = repo(
        &format!("oci://{}", fake.image("charts/podinfo")),
        tag("6.5.0"),
    );
    r.spec.layer_selector = Some(OCILayerSelector {
        media_type: Some(HELM_CHART_CONTENT.into()),
        operation: Some("copy".into()),
    });
    let out = run(&r, &storage).await;
    let a = out.status.artifact.as_ref().expect("artifact");
    assert_eq!(a.revision, format!("6.5.0@{digest}"));
    assert_eq!(
        std::fs::read(storage.local_path(&a.path)).expect("stored"),
        chart
    );
    assert_eq!(a.digest.as_deref(), Some(sha256(&chart).as_str()));
    assert_eq!(out.status.observed_layer_selector, r.spec.layer_selector);
}

#[tokio::test]
async fn failures_are_flux_conditions() {
    let layer = tgz(&[("a.yaml", "a: 1\n")]);
    let mut objects = BTreeMap::new();
    artifact(
        &mut objects,
        "org/app",
        &["v1"],
        (FLUX_CONFIG, FLUX_CONTENT),
        &layer,
    );
    // A layer whose bytes do not hash to its digest.
    artifact(
        &mut objects,
        "org/liar",
        &["v1"],
        (FLUX_CONFIG, FLUX_CONTENT),
        &layer,
    );
    let layer_digest = sha256(&layer);
    objects.insert(
        format!("org/liar/blobs/{layer_digest}"),
        Served {
            content_type: "application/octet-stream".into(),
            body: layer.iter().rev().copied().collect(),
            digest: None,
        },
    );
    // Not a tar.gz.
    artifact(
        &mut objects,
        "org/garbage",
        &["v1"],
        (FLUX_CONFIG, FLUX_CONTENT),
        b"not gzip",
    );
    let fake = FakeRegistry::start(FakeOptions {
        objects,
        ..FakeOptions::default()
    })
    .await;
    let t = tempfile::tempdir().expect("tmp");
    let storage = storage(&t);
    let url = |r: &str| format!("oci://{}", fake.image(r));
    let with = |u: String, f: &dyn Fn(&mut OCIRepository)| {
        let mut r = repo(&u, tag("v1"));
        f(&mut r);
        r
    };
    let registry = fake.host();
    let cases: Vec<(OCIRepository, bool, &str, String)> = vec![
        (
            with(format!("https://{registry}/org/app"), &|_| {}),
            true,
            reasons::URL_INVALID,
            format!("URL validation failed for 'https://{registry}/org/app': URL must be in format 'oci://<domain>/<org>/<repo>'"),
        ),
        (
            with(format!("oci://{registry}/org/app:v1"), &|_| {}),
            true,
            reasons::URL_INVALID,
            "URL must not contain a tag; remove ':v1'".into(),
        ),
        (
            with(url("org/app"), &|r| r.spec.reference = tag("v2")),
            false,
            reasons::OCI_PULL_FAILED,
            "failed to determine artifact digest: GET http://".into(),
        ),
        (
            with(url("org/app"), &|r| {
                r.spec.layer_selector = Some(OCILayerSelector {
                    media_type: Some("application/x-other".into()),
                    operation: None,
                })
            }),
            false,
            reasons::OCI_LAYER_OPERATION_FAILED,
            "failed to find layer with media type 'application/x-other' in artifact".into(),
        ),
        (
            with(url("org/app"), &|r| {
                r.spec.layer_selector = Some(OCILayerSelector {
                    media_type: None,
                    operation: Some("move".into()),
                })
            }),
            true,
            reasons::OCI_LAYER_OPERATION_FAILED,
            "unsupported layer operation: move".into(),
        ),
        (
            with(url("org/liar"), &|_| {}),
            false,
            reasons::OCI_PULL_FAILED,
            format!("failed to pull artifact from '{}': registry {registry}: blob of org/liar has digest sha256:", url("org/liar")),
        ),
        (
            with(url("org/garbage"), &|_| {}),
            false,
            reasons::OCI_LAYER_OPERATION_FAILED,
            "failed to extract layer contents from artifact:".into(),
        ),
        (
            with(url("org/app"), &|r| r.spec.provider = Some("aws".into())),
            true,
            reason::AUTHENTICATION_FAILED,
            "provider 'aws' is not supported by ferroflux yet".into(),
        ),
        (
            with(url("org/app"), &|r| r.spec.secret_ref = Some(LocalObjectReference { name: "creds".into() })),
            false,
            reason::AUTHENTICATION_FAILED,
            "failed to get credential: failed to get secret 'apps/creds': secrets \"creds\" not found".into(),
        ),
    ];
    for (r, stalled, want_reason, want) in cases {
        let secret = r
            .spec
            .secret_ref
            .as_ref()
            .map(|_| Err("secrets \"creds\" not found"));
        let out = run_with(&r, &storage, secret).await;
        let ready = cond(&out.status, condition::READY);
        assert_eq!(ready.status, "False", "{}", r.spec.url);
        assert_eq!(
            ready.reason, want_reason,
            "{}: {}",
            r.spec.url, ready.message
        );
        assert!(
            ready.message.contains(&want),
            "{}\n{}\n!~ {want}",
            r.spec.url,
            ready.message
        );
        assert_eq!(cond(&out.status, condition::FETCH_FAILED).status, "True");
        assert_eq!(
            status::is_true(&out.status.conditions, condition::STALLED),
            stalled,
            "{}",
            ready.message
        );
        assert!(out.status.artifact.is_none());
        let event = out.event.expect("event");
        assert_eq!(event.type_, EventType::Warning);
        if !stalled {
            assert_eq!(
                out.outcome,
                status::outcome(&Err(StepError::retry("x", "y")), None)
            );
        }
    }
}

#[tokio::test]
async fn verify_is_a_clear_source_verified_false() {
    let t = tempfile::tempdir().expect("tmp");
    let storage = storage(&t);
    let layer = tgz(&[("a.yaml", "a: 1\n")]);
    let mut objects = BTreeMap::new();
    artifact(
        &mut objects,
        "org/app",
        &["v1"],
        (FLUX_CONFIG, FLUX_CONTENT),
        &layer,
    );
    let fake = FakeRegistry::start(FakeOptions {
        objects,
        ..FakeOptions::default()
    })
    .await;
    let mut r = repo(&format!("oci://{}", fake.image("org/app")), tag("v1"));
    r.spec.verify = Some(serde_json::json!({"provider": "cosign"}));
    let out = run(&r, &storage).await;
    let verified = cond(&out.status, condition::SOURCE_VERIFIED);
    assert_eq!(verified.status, "False");
    assert_eq!(verified.reason, reasons::VERIFICATION_ERROR);
    assert!(
        verified
            .message
            .starts_with("failed to verify the signature using provider 'cosign': ")
    );
    let ready = cond(&out.status, condition::READY);
    assert_eq!(ready.status, "False");
    assert!(out.status.artifact.is_none());
}

#[tokio::test]
async fn suspended_does_nothing_and_delete_removes_artifacts() {
    let t = tempfile::tempdir().expect("tmp");
    let storage = storage(&t);
    let mut r = repo("oci://127.0.0.1:1/none", tag("v1"));
    r.spec.suspend = Some(true);
    let out = run(&r, &storage).await;
    assert_eq!(out.outcome, Outcome::Wait);
    assert!(out.status.conditions.is_empty());
    let path = storage::artifact_path(KIND, "apps", "podinfo", "x.tar.gz");
    storage.write(&path, b"x").expect("write");
    delete(&r, &storage).expect("delete");
    assert!(!storage.exists(&path));
}

/// An index: the revision is the index's digest (what the tag names), the
/// content the linux/amd64 manifest's, as go-containerregistry picks it.
#[tokio::test]
async fn an_index_resolves_to_its_linux_amd64_manifest() {
    let mut objects = BTreeMap::new();
    let amd = artifact(
        &mut objects,
        "org/multi",
        &[],
        (FLUX_CONFIG, FLUX_CONTENT),
        &tgz(&[("arch", "amd64")]),
    );
    let arm = artifact(
        &mut objects,
        "org/multi",
        &[],
        (FLUX_CONFIG, FLUX_CONTENT),
        &tgz(&[("arch", "arm64")]),
    );
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": ferroflux_registry::manifest::OCI_INDEX,
        "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": arm, "size": 1, "platform": {"os": "linux", "architecture": "arm64"}},
            {"mediaType": OCI_MANIFEST, "digest": amd, "size": 1, "platform": {"os": "linux", "architecture": "amd64"}},
        ],
    }))
    .expect("json");
    let index_digest = sha256(&index);
    objects.insert(
        "org/multi/manifests/v2".into(),
        Served {
            content_type: ferroflux_registry::manifest::OCI_INDEX.into(),
            body: index,
            digest: Some(index_digest.clone()),
        },
    );
    let fake = FakeRegistry::start(FakeOptions {
        objects,
        ..FakeOptions::default()
    })
    .await;
    let t = tempfile::tempdir().expect("tmp");
    let storage = storage(&t);
    let r = repo(&format!("oci://{}", fake.image("org/multi")), tag("v2"));
    let out = run(&r, &storage).await;
    let a = out.status.artifact.as_ref().expect("artifact");
    assert_eq!(a.revision, format!("v2@{index_digest}"));
    let unpacked = t.path().join("unpacked");
    ferroflux_artifact::archive::unpack_tar_gz(
        &storage.local_path(&a.path),
        &unpacked,
        &ferroflux_artifact::Limits::default(),
    )
    .expect("unpack");
    assert_eq!(
        std::fs::read_to_string(unpacked.join("arch")).expect("arch"),
        "amd64"
    );
}
