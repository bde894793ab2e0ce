//! Smart HTTP Git server on loopback: `git http-backend` (CGI) behind
//! lighttpd, with optional Basic auth. lighttpd rather than a hand-written
//! CGI shim because libgit2 pushes with chunked request bodies and lighttpd
//! already decodes those for CGI. Killed on Drop; repositories live in a
//! tempdir (`root()`), made with [`crate::gitrepo::init_bare`].

use std::net::TcpStream;

use crate::registry::free_port;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const LIGHTTPD: &str = "/usr/sbin/lighttpd";

/// How to start the server.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Require HTTP Basic auth with this user and password.
    pub basic_auth: Option<(String, String)>,
}

/// A running lighttpd + git http-backend.
pub struct GitHttpServer {
    child: Child,
    port: u16,
    root: PathBuf,
    dir: tempfile::TempDir,
}

impl GitHttpServer {
    /// Start on 127.0.0.1 with a free port. None (after a skip notice, or a
    /// panic in CI) when lighttpd or git is missing.
    pub fn start(opts: Options) -> Option<Self> {
        if !Path::new(LIGHTTPD).exists() {
            crate::env::skip_or_fail("lighttpd (Debian package lighttpd)");
            return None;
        }
        if !crate::gitrepo::git_available() {
            return None;
        }
        let backend = http_backend()?;
        let dir = tempfile::tempdir().expect("tempdir for lighttpd");
        let root = dir.path().join("repos");
        std::fs::create_dir_all(&root).expect("repos dir");
        let mut last_err = String::new();
        for _ in 0..5 {
            let port = free_port();
            let conf = config(dir.path(), &root, &backend, port, &opts);
            let conf_path = dir.path().join("lighttpd.conf");
            std::fs::write(&conf_path, conf).expect("lighttpd.conf");
            let log = std::fs::File::create(dir.path().join("lighttpd.stderr")).expect("log");
            let child = Command::new(LIGHTTPD)
                .arg("-D")
                .arg("-f")
                .arg(&conf_path)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("spawn lighttpd");
            let mut child = child;
            if wait_ready(&mut child, port) {
                return Some(GitHttpServer {
                    child,
                    port,
                    root,
                    dir,
                });
            }
            let _ = child.kill();
            let _ = child.wait();
            last_err =
                std::fs::read_to_string(dir.path().join("lighttpd.stderr")).unwrap_or_default();
        }
        panic!("lighttpd did not start: {last_err}");
    }

    /// `GIT_PROJECT_ROOT`: create bare repositories here.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// lighttpd's error log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    /// The access log, one `METHOD /path?query STATUS` line per request.
    /// lighttpd buffers it and flushes it on its periodic timer: this
    /// waits (up to 15 s) until it is not empty and has not grown for 1.5 s.
    pub fn access_log(&self) -> String {
        self.access_log_until(|_| true)
    }

    /// [`GitHttpServer::access_log`], also waiting (within the same 15 s)
    /// until `done` holds: on a busy machine a flush can come more than
    /// 1.5 s after an earlier one, so a test that knows which request it
    /// waits for says so.
    pub fn access_log_until(&self, done: impl Fn(&str) -> bool) -> String {
        let path = self.dir.path().join("access.log");
        let read = || std::fs::read_to_string(&path).unwrap_or_default();
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut last = read();
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1500));
            let now = read();
            if now == last && !now.is_empty() && done(&now) {
                break;
            }
            last = now;
        }
        read()
    }

    /// Clone URL of the repository `<root>/<name>`.
    pub fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/git/{name}", self.port)
    }
}

impl Drop for GitHttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_backend() -> Option<PathBuf> {
    let out = Command::new("git").arg("--exec-path").output().ok()?;
    let exec = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let backend = exec.join("git-http-backend");
    if backend.exists() {
        Some(backend)
    } else {
        crate::env::skip_or_fail(&format!("{} (Debian package git)", backend.display()));
        None
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

fn config(dir: &Path, root: &Path, backend: &Path, port: u16, opts: &Options) -> String {
    let mut conf = format!(
        r#"server.modules = ("mod_alias", "mod_setenv", "mod_cgi", "mod_auth", "mod_authn_file", "mod_accesslog")
server.document-root = "{dir}"
accesslog.filename = "{dir}/access.log"
accesslog.format = "%m %U%q %>s"
server.bind = "127.0.0.1"
server.port = {port}
server.errorlog = "{dir}/error.log"
alias.url = ("/git" => "{backend}")
$HTTP["url"] =~ "^/git" {{
  cgi.assign = ("" => "")
  setenv.add-environment = (
    "GIT_PROJECT_ROOT" => "{root}",
    "GIT_HTTP_EXPORT_ALL" => "1",
    "GIT_CONFIG_NOSYSTEM" => "1",
    "HOME" => "{dir}"
  )
}}
"#,
        dir = dir.display(),
        root = root.display(),
        backend = backend.display(),
    );
    if let Some((user, pass)) = &opts.basic_auth {
        let users = dir.join("users.plain");
        std::fs::write(&users, format!("{user}:{pass}\n")).expect("users file");
        conf.push_str(&format!(
            r#"auth.backend = "plain"
auth.backend.plain.userfile = "{users}"
auth.require = ("/git" => ("method" => "basic", "realm" => "git", "require" => "valid-user"))
"#,
            users = users.display()
        ));
    }
    conf
}
