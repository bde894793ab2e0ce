//! The Kubernetes of this test binary: the testkit's shared control plane
//! (etcd, kube-apiserver with RBAC, kube-controller-manager; one per
//! process, stopped at exit), kubectl 1.32, and Flux's CRDs from `ferroflux
//! install --export` applied server-side once. Every test works in
//! namespaces of its own (`ControlPlane::namespace`).
//!
//! Before the CRDs go in, the first caller runs `ferroflux controller`
//! against the bare cluster and keeps what it said: the only moment this
//! process has a cluster without the CRDs, which
//! `controller::controller_fails_fast_without_crds_or_with_a_bad_selector`
//! checks. So nothing in this binary may install the CRDs except [`env`].

use ferroflux_testkit::process;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use ferroflux_testkit::control_plane::ControlPlane;
use ferroflux_testkit::env::skip_or_fail;

pub struct Env {
    pub cp: &'static ControlPlane,
    pub kubectl: PathBuf,
    /// `ferroflux controller` on the cluster before the CRDs were applied.
    pub without_crds: Output,
}

pub fn kubectl_bin() -> Option<PathBuf> {
    match std::env::var_os("FERROFLUX_KUBECTL") {
        Some(p) if Path::new(&p).is_file() => Some(PathBuf::from(p)),
        _ => {
            skip_or_fail("FERROFLUX_KUBECTL (kubectl 1.32, .ci/setup.d/70-kube.sh) is not set");
            None
        }
    }
}

/// The control plane with the CRDs established; `None` after a skip notice
/// when the binaries or kubectl are missing.
pub fn env() -> Option<&'static Env> {
    static ENV: OnceLock<Env> = OnceLock::new();
    let kubectl = kubectl_bin()?;
    let cp = ControlPlane::shared()?;
    Some(ENV.get_or_init(|| {
        let tmp = tempfile::tempdir().expect("tempdir");
        let without_crds = Command::new(env!("CARGO_BIN_EXE_ferroflux"))
            .env("HOME", "/nonexistent")
            .arg("controller")
            .arg("--kubeconfig")
            .arg(cp.kubeconfig())
            .arg("--storage-path")
            .arg(tmp.path().join("data"))
            .output()
            .expect("ferroflux controller");
        let crds = install_export()
            .split("\n---\n")
            .filter(|d| d.contains("\nkind: CustomResourceDefinition\n"))
            .collect::<Vec<_>>()
            .join("\n---\n");
        // The install's Kustomization CRD too, which `diff`/`tree
        // kustomization` and the gitops verbs read.
        apply_server_side(&kubectl, &cp.kubeconfig(), &crds);
        let (ok, out) = kubectl_run(
            &kubectl,
            &cp.kubeconfig(),
            &[
                "wait",
                "--for=condition=established",
                "--timeout=60s",
                "crd",
                "--all",
            ],
        );
        assert!(ok, "CRDs not established: {out}");
        // So that its garbage collector watches the new kinds at once.
        cp.restart_controller_manager()
            .expect("restart kube-controller-manager");
        Env {
            cp,
            kubectl,
            without_crds,
        }
    }))
}

/// `ferroflux install --export`.
pub fn install_export() -> String {
    let install = Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .args(["install", "--export"])
        .output()
        .expect("ferroflux install --export");
    assert!(install.status.success());
    String::from_utf8_lossy(&install.stdout).to_string()
}

/// `kubectl ARGS`: success and stdout+stderr.
pub fn kubectl_run(bin: &Path, kubeconfig: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(bin)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .expect("kubectl runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// `kubectl apply --server-side --field-manager=ferroflux-test -f -`.
pub fn apply_server_side(bin: &Path, kubeconfig: &Path, yaml: &str) {
    let mut cmd = Command::new(bin);
    cmd.arg("--kubeconfig").arg(kubeconfig).args([
        "apply",
        "--server-side",
        "--field-manager=ferroflux-test",
        "-f",
        "-",
    ]);
    let out = process::output_with_stdin(&mut cmd, yaml).expect("kubectl apply");
    assert!(
        out.status.success(),
        "kubectl apply --server-side: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A kube-rs client of the control plane, from its kubeconfig as the
/// binary reads it.
pub async fn client(env: &Env) -> kube::Client {
    use kube::config::{KubeConfigOptions, Kubeconfig};
    let kubeconfig = env.cp.kubeconfig();
    kube::Client::try_from(
        kube::Config::from_custom_kubeconfig(
            Kubeconfig::read_from(&kubeconfig).expect("kubeconfig"),
            &KubeConfigOptions::default(),
        )
        .await
        .expect("config"),
    )
    .expect("client")
}
