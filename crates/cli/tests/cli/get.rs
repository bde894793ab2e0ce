//! `ferroflux get image ...` on a state database written like `automate` does.

use std::path::Path;
use std::process::Command;

use ferroflux_runtime::{ObjectKey, StatusStore};
use serde_json::json;

fn seed(path: &Path) {
    let st = StatusStore::open(path).expect("test state");
    let ready = |ok: bool, msg: &str| {
        json!([{"type": "Ready", "status": if ok {"True"} else {"False"}, "reason": "Succeeded",
                "message": msg, "lastTransitionTime": "2026-11-23T10:00:00Z"}])
    };
    let repo = ObjectKey::new("ImageRepository", "flux-system", "keyword-correction");
    st.put_status(
        &repo,
        &json!({
            "conditions": ready(true, "successful scan: found 4 tags with checksum sha256:ab"),
            "lastScanResult": {"tagCount": 4, "scanTime": "2026-11-23T10:00:00Z"}
        }),
    )
    .expect("test state");
    st.put_spec(
        &repo,
        &json!({"image": "r/kc", "interval": "5m0s", "suspend": true}),
    )
    .expect("test state");
    let other = ObjectKey::new("ImageRepository", "apps", "web");
    st.put_status(
        &other,
        &json!({"conditions": ready(false, "scan failed: 401")}),
    )
    .expect("test state");
    st.put_spec(&other, &json!({"image": "r/web", "interval": "1m0s"}))
        .expect("test state");
    let pol = ObjectKey::new("ImagePolicy", "flux-system", "keyword-correction");
    st.put_status(
        &pol,
        &json!({
            "conditions": ready(true, "Latest image tag for r/kc resolved to 0.13.3"),
            "latestRef": {"name": "r/kc", "tag": "0.13.3"}
        }),
    )
    .expect("test state");
    let upd = ObjectKey::new("ImageUpdateAutomation", "flux-system", "flux-system");
    st.put_status(
        &upd,
        &json!({
            "conditions": ready(true, "repository up-to-date"),
            "lastAutomationRunTime": "2026-11-23T10:01:02Z"
        }),
    )
    .expect("test state");
    st.put_spec(
        &upd,
        &json!({"interval": "1m0s", "sourceRef": {"kind": "GitRepository", "name": "flux-system"}}),
    )
    .expect("test state");
}

fn get(state: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .args(["get", "image"])
        .args(args)
        .arg("--state")
        .arg(state)
        .output()
        .expect("test state");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn tables_like_flux_get_image() {
    let dir = tempfile::tempdir().expect("test state");
    let state = dir.path().join("state.redb");
    seed(&state);
    let cases: [(&[&str], &str); 5] = [
        (&["repository"], "\
NAME                 LAST SCAN              SUSPENDED   READY   MESSAGE
keyword-correction   2026-11-23T10:00:00Z   True        True    successful scan: found 4 tags with checksum sha256:ab
"),
        (&["repositories", "-A"], "\
NAMESPACE     NAME                 LAST SCAN              SUSPENDED   READY   MESSAGE
apps          web                                         False       False   scan failed: 401
flux-system   keyword-correction   2026-11-23T10:00:00Z   True        True    successful scan: found 4 tags with checksum sha256:ab
"),
        (&["repository", "-n", "apps"], "\
NAME   LAST SCAN   SUSPENDED   READY   MESSAGE
web                False       False   scan failed: 401
"),
        (&["policy"], "\
NAME                 IMAGE   TAG      READY   MESSAGE
keyword-correction   r/kc    0.13.3   True    Latest image tag for r/kc resolved to 0.13.3
"),
        (&["update"], "\
NAME          LAST RUN               SUSPENDED   READY   MESSAGE
flux-system   2026-11-23T10:01:02Z   False       True    repository up-to-date
"),
    ];
    for (args, want) in cases {
        let (code, stdout, stderr) = get(&state, args);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        assert_eq!(stdout, want, "{args:?}");
    }
}

#[test]
fn empty_namespace_and_missing_state() {
    let dir = tempfile::tempdir().expect("test state");
    let state = dir.path().join("state.redb");
    seed(&state);
    let (code, stdout, stderr) = get(&state, &["policy", "-n", "nowhere"]);
    assert_eq!((code, stdout.as_str()), (1, ""));
    assert_eq!(
        stderr,
        "✗ no ImagePolicy objects found in \"nowhere\" namespace\n"
    );
    let (code, _, stderr) = get(&dir.path().join("missing.redb"), &["policy"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no state database at") && stderr.contains("missing.redb"),
        "{stderr}"
    );
}

/// GitRepository and Kustomization statuses as the runtime stores them
/// (`Kind/namespace/name`, Flux's v1 status JSON; specs under
/// `Kind.spec/...`), printed as `flux get sources git` and `flux get ks`.
fn seed_gitops(path: &Path) {
    let st = StatusStore::open(path).expect("test state");
    let rev = "main@sha1:5f6d7fa5c0ffee0123456789abcdef0123456789";
    let cond = |ok: bool, msg: &str| {
        json!([{"type": "Ready", "status": if ok {"True"} else {"False"},
                "reason": if ok {"Succeeded"} else {"Failed"}, "message": msg,
                "lastTransitionTime": "2026-11-23T10:00:00Z"}])
    };
    let git = ObjectKey::new("GitRepository", "flux-system", "flux-system");
    st.put_status(
        &git,
        &json!({"artifact": {"path": "p", "url": "u", "revision": rev, "digest": "sha256:00"},
                "conditions": cond(true, &format!("stored artifact for revision '{rev}'"))}),
    )
    .expect("test state");
    st.put_spec(
        &git,
        &json!({"url": "ssh://git@example.com/fleet.git", "interval": "1m0s"}),
    )
    .expect("test state");
    let ks = ObjectKey::new("Kustomization", "flux-system", "apps");
    st.put_status(
        &ks,
        &json!({"lastAppliedRevision": rev,
                "conditions": cond(true, &format!("Applied revision: {rev}"))}),
    )
    .expect("test state");
    st.put_spec(
        &ks,
        &json!({"interval": "10m0s", "prune": true, "path": "./apps",
                "sourceRef": {"kind": "GitRepository", "name": "flux-system"}}),
    )
    .expect("test state");
    let infra = ObjectKey::new("Kustomization", "infra", "cert-manager");
    st.put_status(
        &infra,
        &json!({"conditions": cond(false, "kustomization path not found: stat /tmp/x/infra: no such file or directory")}),
    )
    .expect("test state");
    st.put_spec(
        &infra,
        &json!({"interval": "1h0m0s", "prune": true, "suspend": true, "path": "./infra",
                "sourceRef": {"kind": "GitRepository", "name": "flux-system", "namespace": "flux-system"}}),
    )
    .expect("test state");
}

fn ff(state: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .args(args)
        .arg("--state")
        .arg(state)
        .output()
        .expect("ferroflux");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn sources_and_kustomizations_from_the_state_file() {
    let dir = tempfile::tempdir().expect("test state");
    let state = dir.path().join("state.redb");
    seed(&state);
    seed_gitops(&state);
    let cases: [(&[&str], &str); 5] = [
        (&["get", "sources", "git"], "\
NAME          REVISION             SUSPENDED   READY   MESSAGE
flux-system   main@sha1:5f6d7fa5   False       True    stored artifact for revision 'main@sha1:5f6d7fa5'
"),
        (&["get", "ks", "-A"], "\
NAMESPACE     NAME           REVISION             SUSPENDED   READY   MESSAGE
flux-system   apps           main@sha1:5f6d7fa5   False       True    Applied revision: main@sha1:5f6d7fa5
infra         cert-manager                        True        False   kustomization path not found: stat /tmp/x/infra: no such file or directory
"),
        (&["get", "kustomizations", "-A", "--status-selector", "ready=false", "--show-source"], "\
NAMESPACE   NAME           SOURCE                                  REVISION   SUSPENDED   READY   MESSAGE
infra       cert-manager   GitRepository/flux-system/flux-system              True        False   kustomization path not found: stat /tmp/x/infra: no such file or directory
"),
        (&["get", "ks", "apps", "--show-source"], "\
NAME   SOURCE                                  REVISION             SUSPENDED   READY   MESSAGE
apps   GitRepository/flux-system/flux-system   main@sha1:5f6d7fa5   False       True    Applied revision: main@sha1:5f6d7fa5
"),
        (&["get", "all"], "\
NAME                                   REVISION             SUSPENDED   READY   MESSAGE
gitrepository/flux-system              main@sha1:5f6d7fa5   False       True    stored artifact for revision 'main@sha1:5f6d7fa5'

NAME                                   LAST SCAN              SUSPENDED   READY   MESSAGE
imagerepository/keyword-correction     2026-11-23T10:00:00Z   True        True    successful scan: found 4 tags with checksum sha256:ab

NAME                                   IMAGE   TAG      READY   MESSAGE
imagepolicy/keyword-correction         r/kc    0.13.3   True    Latest image tag for r/kc resolved to 0.13.3

NAME                                   LAST RUN               SUSPENDED   READY   MESSAGE
imageupdateautomation/flux-system      2026-11-23T10:01:02Z   False       True    repository up-to-date

NAME                                   REVISION             SUSPENDED   READY   MESSAGE
kustomization/apps                     main@sha1:5f6d7fa5   False       True    Applied revision: main@sha1:5f6d7fa5

"),
    ];
    for (args, want) in cases {
        let (code, stdout, stderr) = ff(&state, args);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        let words = |t: &str| {
            t.lines()
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect::<Vec<_>>()
        };
        // `get all` pads each table on its own.
        if args.contains(&"all") {
            assert_eq!(words(&stdout), words(want), "{args:?}");
        } else {
            assert_eq!(stdout, want, "{args:?}");
        }
    }
    let (code, stdout, stderr) = ff(&state, &["get", "ks", "nope"]);
    assert_eq!((code, stdout.as_str()), (1, ""));
    assert_eq!(
        stderr,
        "✗ Kustomization object 'nope' not found in \"flux-system\" namespace\n"
    );
    let (code, _, stderr) = ff(&state, &["get", "sources", "git", "-n", "apps"]);
    assert_eq!(code, 1);
    assert_eq!(
        stderr,
        "✗ no GitRepository objects found in \"apps\" namespace\n"
    );
}

/// HelmRepository and HelmChart statuses as the runtime stores them,
/// printed as `flux get sources helm` and `flux get sources chart`.
#[test]
fn helm_sources_from_the_state_file() {
    let dir = tempfile::tempdir().expect("test state");
    let state = dir.path().join("state.redb");
    let st = StatusStore::open(&state).expect("test state");
    let rev = "sha256:77d58f2f0123456789abcdef0123456789abcdef0123456789abcdef01234567";
    let repo = ObjectKey::new("HelmRepository", "flux-system", "podinfo");
    st.put_status(
        &repo,
        &json!({"artifact": {"path": "p", "url": "u", "revision": rev, "digest": "sha256:00"},
                "url": "http://localhost/helmrepository/flux-system/podinfo/index.yaml",
                "conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded",
                    "message": format!("stored artifact: revision '{rev}'"),
                    "lastTransitionTime": "2026-11-23T10:00:00Z"}]}),
    )
    .expect("test state");
    st.put_spec(
        &repo,
        &json!({"url": "https://stefanprodan.github.io/podinfo"}),
    )
    .expect("test state");
    let chart = ObjectKey::new("HelmChart", "flux-system", "podinfo");
    st.put_status(
        &chart,
        &json!({"artifact": {"path": "p", "url": "u", "revision": "6.5.0", "digest": "sha256:00"},
                "observedChartName": "podinfo",
                "conditions": [{"type": "Ready", "status": "True", "reason": "ChartPullSucceeded",
                    "message": "pulled 'podinfo' chart with version '6.5.0'",
                    "lastTransitionTime": "2026-11-23T10:00:00Z"}]}),
    )
    .expect("test state");
    st.put_spec(
        &chart,
        &json!({"chart": "podinfo", "interval": "5m0s", "suspend": true,
                "sourceRef": {"kind": "HelmRepository", "name": "podinfo"}}),
    )
    .expect("test state");
    // A static OCI repository: no status, shown Ready as flux shows it.
    let oci = ObjectKey::new("HelmRepository", "flux-system", "ghcr");
    st.put_status(&oci, &json!({})).expect("test state");
    st.put_spec(
        &oci,
        &json!({"url": "oci://ghcr.io/stefanprodan/charts", "type": "oci"}),
    )
    .expect("test state");
    drop(st);
    let (code, stdout, stderr) = ff(&state, &["get", "sources", "helm"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        "\
NAME      REVISION          SUSPENDED   READY   MESSAGE
ghcr                        False       True    Helm repository is Ready
podinfo   sha256:77d58f2f   False       True    stored artifact: revision 'sha256:77d58f2f'
"
    );
    let (code, stdout, stderr) = ff(&state, &["get", "sources", "chart"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        "\
NAME      REVISION   SUSPENDED   READY   MESSAGE
podinfo   6.5.0      True        True    pulled 'podinfo' chart with version '6.5.0'
"
    );
    let (code, _, stderr) = ff(&state, &["get", "sources", "chart", "-n", "apps"]);
    assert_eq!(code, 1);
    assert_eq!(
        stderr,
        "✗ no HelmChart objects found in \"apps\" namespace\n"
    );
}

/// OCIRepository statuses as the runtime stores them, printed as
/// `flux get sources oci` (digests cut to 8 hex digits).
#[test]
fn oci_sources_from_the_state_file() {
    let dir = tempfile::tempdir().expect("test state");
    let state = dir.path().join("state.redb");
    let st = StatusStore::open(&state).expect("test state");
    let rev = "6.5.0@sha256:d9ad944896b1d2fad40d04ff5294a173ed2ab11fe8f5087b14099cc6373a0409";
    let ok = ObjectKey::new("OCIRepository", "flux-system", "podinfo");
    st.put_status(
        &ok,
        &json!({"artifact": {"path": "p", "url": "u", "revision": rev, "digest": "sha256:00"},
                "conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded",
                    "message": format!("stored artifact for digest '{rev}'"),
                    "lastTransitionTime": "2026-11-23T10:00:00Z"}]}),
    )
    .expect("test state");
    st.put_spec(
        &ok,
        &json!({"url": "oci://ghcr.io/stefanprodan/charts/podinfo", "interval": "5m"}),
    )
    .expect("test state");
    let bad = ObjectKey::new("OCIRepository", "flux-system", "manifests");
    st.put_status(
        &bad,
        &json!({"conditions": [{"type": "Ready", "status": "False", "reason": "OCIArtifactPullFailed",
                    "message": "failed to determine artifact digest: unexpected status code 401 Unauthorized",
                    "lastTransitionTime": "2026-11-23T10:00:00Z"}]}),
    )
    .expect("test state");
    st.put_spec(
        &bad,
        &json!({"url": "oci://ghcr.io/org/manifests", "interval": "5m", "suspend": true}),
    )
    .expect("test state");
    drop(st);
    let (code, stdout, stderr) = ff(&state, &["get", "sources", "oci"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        "\
NAME        REVISION                SUSPENDED   READY   MESSAGE
manifests                           True        False   failed to determine artifact digest: unexpected status code 401 Unauthorized
podinfo     6.5.0@sha256:d9ad9448   False       True    stored artifact for digest '6.5.0@sha256:d9ad9448'
"
    );
    let (code, _, stderr) = ff(&state, &["get", "sources", "oci", "-n", "apps"]);
    assert_eq!(code, 1);
    assert_eq!(
        stderr,
        "✗ no OCIRepository objects found in \"apps\" namespace\n"
    );
}

#[test]
fn helm_releases_from_the_state_file() {
    let dir = tempfile::tempdir().expect("test state");
    let state = dir.path().join("state.redb");
    let st = StatusStore::open(&state).expect("test state");
    let ok = ObjectKey::new("HelmRelease", "flux-system", "podinfo");
    st.put_status(
        &ok,
        &json!({"lastAttemptedRevision": "6.5.0", "helmChart": "flux-system/flux-system-podinfo",
                "conditions": [{"type": "Ready", "status": "True", "reason": "InstallSucceeded",
                    "message": "Helm install succeeded for release flux-system/podinfo.v1 with chart podinfo@6.5.0",
                    "lastTransitionTime": "2026-11-23T10:00:00Z"}]}),
    )
    .expect("test state");
    st.put_spec(
        &ok,
        &json!({"interval": "5m", "chart": {"spec": {"chart": "podinfo",
                "sourceRef": {"kind": "HelmRepository", "name": "podinfo"}}}}),
    )
    .expect("test state");
    let failed = ObjectKey::new("HelmRelease", "flux-system", "ingress-nginx");
    st.put_status(
        &failed,
        &json!({"conditions": [{"type": "Ready", "status": "False", "reason": "SourceNotReady",
                    "message": "HelmChart 'flux-system/flux-system-ingress-nginx' is not ready",
                    "lastTransitionTime": "2026-11-23T10:00:00Z"}]}),
    )
    .expect("test state");
    st.put_spec(
        &failed,
        &json!({"interval": "5m", "suspend": true, "chart": {"spec": {"chart": "ingress-nginx",
                "sourceRef": {"kind": "HelmRepository", "name": "ingress-nginx"}}}}),
    )
    .expect("test state");
    drop(st);
    for args in [&["get", "helmreleases"][..], &["get", "hr"][..]] {
        let (code, stdout, stderr) = ff(&state, args);
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(
            stdout,
            "\
NAME            REVISION   SUSPENDED   READY   MESSAGE
ingress-nginx              True        False   HelmChart 'flux-system/flux-system-ingress-nginx' is not ready
podinfo         6.5.0      False       True    Helm install succeeded for release flux-system/podinfo.v1 with chart podinfo@6.5.0
"
        );
    }
}
