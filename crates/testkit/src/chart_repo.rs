//! A Helm chart repository on loopback: a static directory (`index.yaml`
//! and chart `.tgz` files the test writes into [`ChartRepo::root`]) served
//! by lighttpd, with optional Basic auth and TLS (mod_openssl, Debian
//! package lighttpd-mod-openssl). Killed on Drop.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::registry::free_port;
use crate::tls::CertPair;

const LIGHTTPD: &str = "/usr/sbin/lighttpd";
const MOD_OPENSSL: &str = "/usr/lib/lighttpd/mod_openssl.so";

/// How to start the server.
#[derive(Clone, Default)]
pub struct Options {
    /// Require HTTP Basic auth with this user and password.
    pub basic_auth: Option<(String, String)>,
    /// Serve HTTPS with this certificate (for `127.0.0.1`).
    pub tls: Option<CertPair>,
}

/// A running lighttpd serving a chart directory.
pub struct ChartRepo {
    child: Child,
    port: u16,
    tls: bool,
    root: PathBuf,
    dir: tempfile::TempDir,
}

impl ChartRepo {
    /// Start on 127.0.0.1 with a free port. None (after a skip notice, or
    /// a panic with `FERROFLUX_REQUIRE_SERVERS`) when lighttpd, or
    /// mod_openssl for TLS, is missing.
    pub fn start(opts: Options) -> Option<ChartRepo> {
        if !Path::new(LIGHTTPD).exists() {
            crate::env::skip_or_fail("lighttpd (Debian package lighttpd)");
            return None;
        }
        if opts.tls.is_some() && !Path::new(MOD_OPENSSL).exists() {
            crate::env::skip_or_fail(
                "lighttpd's mod_openssl (Debian package lighttpd-mod-openssl)",
            );
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir for lighttpd");
        let root = dir.path().join("charts");
        std::fs::create_dir_all(&root).expect("charts dir");
        let mut last_err = String::new();
        for _ in 0..5 {
            let port = free_port();
            let conf = config(dir.path(), &root, port, &opts);
            let conf_path = dir.path().join("lighttpd.conf");
            std::fs::write(&conf_path, conf).expect("lighttpd.conf");
            let log = std::fs::File::create(dir.path().join("lighttpd.stderr")).expect("log");
            let mut child = Command::new(LIGHTTPD)
                .arg("-D")
                .arg("-f")
                .arg(&conf_path)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("spawn lighttpd");
            if wait_ready(&mut child, port) {
                return Some(ChartRepo {
                    child,
                    port,
                    tls: opts.tls.is_some(),
                    root,
                    dir,
                });
            }
            let _ = child.kill();
            let _ = child.wait();
            last_err = std::fs::read_to_string(dir.path().join("lighttpd.stderr"))
                .unwrap_or_default()
                + &std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
        }
        panic!("lighttpd did not start: {last_err}");
    }

    /// The served directory: write `index.yaml` and charts here.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The repository URL (`http://127.0.0.1:<port>/` or `https://...`).
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}/", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// lighttpd's error log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for ChartRepo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_ready(child: &mut Child, port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn config(dir: &Path, root: &Path, port: u16, opts: &Options) -> String {
    let mut modules = vec!["mod_auth", "mod_authn_file", "mod_accesslog"];
    if opts.tls.is_some() {
        modules.push("mod_openssl");
    }
    let mut conf = format!(
        r#"server.modules = ({modules})
server.document-root = "{root}"
server.bind = "127.0.0.1"
server.port = {port}
server.errorlog = "{dir}/error.log"
accesslog.filename = "{dir}/access.log"
mimetype.assign = (".yaml" => "text/yaml", ".tgz" => "application/gzip")
"#,
        modules = modules
            .iter()
            .map(|m| format!("\"{m}\""))
            .collect::<Vec<_>>()
            .join(", "),
        root = root.display(),
        dir = dir.display(),
    );
    if let Some(pair) = &opts.tls {
        let cert = dir.join("server.crt");
        let key = dir.join("server.key");
        std::fs::write(&cert, &pair.cert_pem).expect("server.crt");
        std::fs::write(&key, &pair.key_pem).expect("server.key");
        conf.push_str(&format!(
            "ssl.engine = \"enable\"\nssl.pemfile = \"{}\"\nssl.privkey = \"{}\"\n",
            cert.display(),
            key.display()
        ));
    }
    if let Some((user, pass)) = &opts.basic_auth {
        let users = dir.join("users.plain");
        std::fs::write(&users, format!("{user}:{pass}\n")).expect("users file");
        conf.push_str(&format!(
            r#"auth.backend = "plain"
auth.backend.plain.userfile = "{users}"
auth.require = ("/" => ("method" => "basic", "realm" => "charts", "require" => "valid-user"))
"#,
            users = users.display()
        ));
    }
    conf
}
