//! `fake-apiserver [--port N] [--kubeconfig PATH]`: run the fake Kubernetes
//! apiserver of `ferroflux_testkit::apiserver` until killed, writing a
//! kubeconfig that points at it, so any client (kubectl) can talk to it.

use std::path::PathBuf;
use std::process::ExitCode;

use ferroflux_testkit::apiserver::{FakeApiServer, Options};

fn usage() -> ExitCode {
    eprintln!("usage: fake-apiserver [--port N] [--kubeconfig PATH]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut opts = Options::default();
    let mut kubeconfig: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (arg.clone(), None),
        };
        let mut value = || inline.clone().or_else(|| args.next());
        match flag.as_str() {
            "--port" => match value().and_then(|v| v.parse().ok()) {
                Some(p) => opts.port = p,
                None => return usage(),
            },
            "--kubeconfig" => match value() {
                Some(p) => kubeconfig = Some(PathBuf::from(p)),
                None => return usage(),
            },
            "-h" | "--help" => {
                usage();
                return ExitCode::SUCCESS;
            }
            _ => return usage(),
        }
    }
    let server = match FakeApiServer::start_in_thread(opts) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(path) = &kubeconfig
        && let Err(e) = server.write_kubeconfig(path)
    {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    println!("fake apiserver listening on {}", server.url());
    loop {
        std::thread::park();
    }
}
