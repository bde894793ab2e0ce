//! `control-plane start DIR` / `control-plane stop DIR`: the real control
//! plane of `ferroflux_testkit::control_plane` (etcd, kube-apiserver with
//! RBAC, kube-controller-manager) for use outside the tests. `start` leaves
//! it running and prints `export KUBECONFIG=DIR/kubeconfig` for `eval`;
//! `stop` ends it. Wrapped by `scripts/control-plane`.

use std::path::PathBuf;
use std::process::ExitCode;

use ferroflux_testkit::control_plane::{ControlPlane, stop_dir};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, dir) = match args.as_slice() {
        [cmd, dir] => (cmd.as_str(), PathBuf::from(dir)),
        _ => {
            eprintln!("usage: control-plane start|stop DIR");
            return ExitCode::from(2);
        }
    };
    let result = match cmd {
        "start" => ControlPlane::start(&dir).and_then(|cp| {
            let kubeconfig = cp.kubeconfig();
            eprintln!(
                "control plane at {} ready in {:.1} s",
                cp.url(),
                cp.started_in().as_secs_f64()
            );
            cp.detach()?;
            println!("export KUBECONFIG={}", kubeconfig.display());
            Ok(())
        }),
        "stop" => stop_dir(&dir),
        _ => {
            eprintln!("usage: control-plane start|stop DIR");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("control-plane {cmd} {}: {e}", dir.display());
            ExitCode::FAILURE
        }
    }
}
