//! kubectl 1.32 against the real control plane: `apply -f` of the install
//! manifests (deploy/install.yaml, moved into a namespace of the test's
//! own), seed 000's objects, `get -A`, `get -o yaml`, a status patch, seed
//! 000's cheat sheet `-o jsonpath='{.status.latestRef.tag}'`, `get -w`,
//! and a second apply that changes nothing.

use ferroflux_testkit::process;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use ferroflux_testkit::control_plane::ControlPlane;
use ferroflux_testkit::env::{dir_from_env, skip_or_fail};

use crate::cluster::{control_plane, install_yaml};

struct Kubectl {
    bin: PathBuf,
    dir: tempfile::TempDir,
    cp: &'static ControlPlane,
}

impl Kubectl {
    fn start() -> Option<Kubectl> {
        let bin = match std::env::var_os("FERROFLUX_KUBECTL") {
            Some(p) if Path::new(&p).is_file() => PathBuf::from(p),
            _ => {
                skip_or_fail("FERROFLUX_KUBECTL (kubectl 1.32, .ci/setup.d/70-kube.sh) is not set");
                return None;
            }
        };
        let cp = control_plane()?;
        let dir = tempfile::tempdir().expect("tempdir");
        Some(Kubectl { bin, dir, cp })
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--kubeconfig")
            .arg(self.cp.kubeconfig())
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .args(args)
            .env("HOME", self.dir.path());
        cmd
    }

    fn run(&self, args: &[&str]) -> String {
        let out: Output = self.command(args).output().expect("kubectl runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "kubectl {args:?} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// `kubectl apply -f -` of `yaml`: stdout.
    fn apply(&self, yaml: &str) -> String {
        let out = process::output_with_stdin(&mut self.command(&["apply", "-f", "-"]), yaml)
            .expect("kubectl apply");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "kubectl apply failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }
}

#[test]
fn kubectl_applies_install_and_seed_000_and_reads_the_cheat_sheet() {
    let Some(seeds) = dir_from_env("FERROFLUX_SEEDS_DIR") else {
        return;
    };
    let Some(k) = Kubectl::start() else {
        return;
    };
    let ns = k.cp.unique_name("kubectl-seed");
    let out = k.apply(&install_yaml(&ns));
    // The CRDs are the binary's, installed before: any verb.
    assert!(
        out.contains(
            "customresourcedefinition.apiextensions.k8s.io/imagepolicies.image.toolkit.fluxcd.io "
        ),
        "{out}"
    );
    for want in [
        format!("namespace/{ns} created"),
        "serviceaccount/ferroflux created".to_string(),
        format!("clusterrole.rbac.authorization.k8s.io/ferroflux-{ns} created"),
        format!("clusterrolebinding.rbac.authorization.k8s.io/ferroflux-{ns} created"),
        "deployment.apps/ferroflux created".to_string(),
    ] {
        assert!(out.contains(&want), "missing {want:?} in:\n{out}");
    }
    let seed = seeds.join("manifests/000");
    for prefix in ["01-", "03-", "04-", "05-"] {
        let file = std::fs::read_dir(&seed)
            .expect("seed 000 manifests")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".yaml"))
            })
            .expect("seed file");
        let yaml = std::fs::read_to_string(&file)
            .expect("seed file")
            .replace("namespace: flux-system", &format!("namespace: {ns}"));
        let out = k.apply(&yaml);
        assert!(out.contains(" created"), "{out}");
    }

    // Flux's printer columns, all namespaces.
    let table = k.run(&["get", "imagepolicy", "-A"]);
    let header: Vec<&str> = table
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        [
            "NAMESPACE",
            "NAME",
            "IMAGE",
            "TAG",
            "READY",
            "STATUS",
            "AGE"
        ]
    );
    assert!(
        table.contains("keyword-correction") && table.contains("realtime-asr"),
        "{table}"
    );
    // Short names and categories resolve through discovery.
    let short = k.run(&["get", "imgpol", "-n", &ns, "-o", "name"]);
    assert!(
        short.contains("imagepolicy.image.toolkit.fluxcd.io/keyword-correction"),
        "{short}"
    );
    let images = k.run(&["get", "fluxcd-images", "-n", &ns, "-o", "name"]);
    assert!(
        images.contains("imageupdateautomation.image.toolkit.fluxcd.io/flux-system"),
        "{images}"
    );

    let yaml = k.run(&[
        "get",
        "imagepolicy",
        "keyword-correction",
        "-n",
        &ns,
        "-o",
        "yaml",
    ]);
    for want in [
        "apiVersion: image.toolkit.fluxcd.io/v1",
        "kind: ImagePolicy",
        "generation: 1",
        "range: '>=0.0.0'",
        "extract: $version",
    ] {
        assert!(yaml.contains(want), "missing {want:?} in:\n{yaml}");
    }

    // Watch the policy while its status changes.
    let mut watch = k
        .command(&[
            "get",
            "imagepolicy",
            "keyword-correction",
            "-n",
            &ns,
            "-w",
            "--output-watch-events",
            "--request-timeout=20s",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl get -w");
    // Patch only once the watch has listed the object, so that the change
    // arrives as MODIFIED however slowly kubectl starts.
    let stdout = watch.stdout.take().expect("watch stdout");
    let (tx, lines) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let wait_for = |prefix: &str| -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(_) => continue,
                Err(e) => panic!("no {prefix} line from kubectl get -w: {e}"),
            }
        }
    };
    let added = wait_for("ADDED");
    assert!(added.contains("keyword-correction"), "{added}");

    let patch = r#"{"status":{"latestRef":{"name":"harbor.thebarkingdog.tw/tbd/keyword_correction","tag":"1.4.2"}}}"#;
    let out = k.run(&[
        "patch",
        "imagepolicy",
        "keyword-correction",
        "-n",
        &ns,
        "--subresource=status",
        "--type=merge",
        "-p",
        patch,
    ]);
    assert!(out.contains("patched"), "{out}");
    let tag = k.run(&[
        "get",
        "imagepolicy",
        "keyword-correction",
        "-n",
        &ns,
        "-o",
        "jsonpath={.status.latestRef.tag}",
    ]);
    assert_eq!(tag, "1.4.2");
    // A spec change through the status subresource is ignored.
    let out = k.run(&[
        "patch",
        "imagepolicy",
        "keyword-correction",
        "-n",
        &ns,
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"spec":{"suspend":true}}"#,
    ]);
    assert!(out.contains("patched"), "{out}");
    let suspend = k.run(&[
        "get",
        "imagepolicy",
        "keyword-correction",
        "-n",
        &ns,
        "-o",
        "jsonpath={.spec.suspend}",
    ]);
    assert_eq!(suspend, "");

    let modified = wait_for("MODIFIED");
    assert!(modified.contains("1.4.2"), "{modified}");
    let _ = watch.kill();
    let _ = watch.wait();
}

#[test]
fn kubectl_reapplies_without_changes() {
    let Some(k) = Kubectl::start() else {
        return;
    };
    let ns = k.cp.unique_name("kubectl-reapply");
    let install = install_yaml(&ns);
    k.apply(&install);
    // A second apply is a three-way patch of every object that changes
    // nothing: the apiserver's defaults are no difference.
    let out = k.apply(&install);
    let changed: Vec<&str> = out.lines().filter(|l| !l.ends_with(" unchanged")).collect();
    assert!(
        changed.is_empty(),
        "changed on a second apply: {changed:?}\n{out}"
    );
    let crds = k.run(&["get", "crd", "-o", "name"]);
    assert_eq!(
        crds.lines().filter(|l| l.contains(".fluxcd.io")).count(),
        12,
        "{crds}"
    );
}
