//! OpenSSH server on loopback for Git over SSH: `/usr/sbin/sshd -D -e` with a
//! fresh ed25519 host key, user keys (ed25519, ecdsa) for the current user, and
//! a read-only deploy key whose forced command refuses `git-receive-pack` with
//! the message GitHub prints (seed 003). Killed on Drop; everything lives in a
//! tempdir.

use std::net::TcpStream;

use crate::registry::free_port;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SSHD: &str = "/usr/sbin/sshd";

/// What the read-only key's forced command prints for a push.
pub const READ_ONLY_MESSAGE: &str =
    "ERROR: The key you are authenticating with has been marked as read only.";

/// A user key pair in OpenSSH format.
#[derive(Debug, Clone)]
pub struct UserKey {
    /// `-----BEGIN OPENSSH PRIVATE KEY-----` text (no passphrase unless made with one).
    pub private: String,
    /// `<type> <base64>` line.
    pub public: String,
}

/// Which user key to hand out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// ed25519, full access.
    Ed25519,
    /// ecdsa-sha2-nistp256, full access.
    Ecdsa,
    /// RSA 3072 (OpenSSH key format), full access.
    Rsa,
    /// ed25519 with a forced command that refuses pushes.
    ReadOnly,
    /// ed25519 protected by the passphrase [`PASSPHRASE`], full access.
    Encrypted,
}

/// Passphrase of the [`KeyKind::Encrypted`] key.
pub const PASSPHRASE: &str = "correct horse";

/// How to start the server.
#[derive(Debug, Clone, Default)]
pub struct Options {}

/// A running sshd.
pub struct Sshd {
    child: Child,
    port: u16,
    user: String,
    host_public: String,
    keys: Vec<(KeyKind, UserKey)>,
    dir: tempfile::TempDir,
}

impl Sshd {
    /// Start on 127.0.0.1 with a free port. None (after a skip notice, or a
    /// panic in CI) when sshd or ssh-keygen is missing.
    pub fn start(_opts: Options) -> Option<Self> {
        if !Path::new(SSHD).exists() {
            crate::env::skip_or_fail("/usr/sbin/sshd (Debian package openssh-server)");
            return None;
        }
        if Command::new("ssh-keygen").arg("-?").output().is_err() {
            crate::env::skip_or_fail("ssh-keygen (Debian package openssh-client)");
            return None;
        }
        // sshd's privilege separation directory.
        std::fs::create_dir_all("/run/sshd").expect("create /run/sshd");
        let dir = tempfile::tempdir().expect("tempdir for sshd");
        let d = dir.path();
        let host_key = keygen(d, "host_ed25519", &["-t", "ed25519"]);
        let host_public = public_line(&host_key);
        let mut keys = Vec::new();
        let mut authorized = String::new();
        for (kind, name, args) in [
            (KeyKind::Ed25519, "user_ed25519", vec!["-t", "ed25519"]),
            (
                KeyKind::Ecdsa,
                "user_ecdsa",
                vec!["-t", "ecdsa", "-b", "256"],
            ),
            (KeyKind::Rsa, "user_rsa", vec!["-t", "rsa", "-b", "3072"]),
            (KeyKind::ReadOnly, "user_readonly", vec!["-t", "ed25519"]),
            (
                KeyKind::Encrypted,
                "user_encrypted",
                vec!["-t", "ed25519", "-N", PASSPHRASE],
            ),
        ] {
            let path = keygen(d, name, &args);
            let key = UserKey {
                private: std::fs::read_to_string(&path).expect("private key"),
                public: public_line(&path),
            };
            if kind == KeyKind::ReadOnly {
                let script = d.join("readonly.sh");
                std::fs::write(&script, readonly_script()).expect("forced command");
                set_executable(&script);
                authorized.push_str(&format!(
                    "command=\"{}\",no-pty,no-port-forwarding {}\n",
                    script.display(),
                    key.public
                ));
            } else {
                authorized.push_str(&format!("{}\n", key.public));
            }
            keys.push((kind, key));
        }
        std::fs::write(d.join("authorized_keys"), authorized).expect("authorized_keys");
        let user = current_user();
        let mut last_err = String::new();
        for _ in 0..5 {
            let port = free_port();
            let conf = d.join("sshd_config");
            std::fs::write(&conf, config(d, &host_key, port)).expect("sshd_config");
            let log = std::fs::File::create(d.join("sshd.stderr")).expect("sshd log");
            let mut child = Command::new(SSHD)
                .arg("-D")
                .arg("-e")
                .arg("-f")
                .arg(&conf)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("spawn sshd");
            if wait_ready(&mut child, port) {
                return Some(Sshd {
                    child,
                    port,
                    user,
                    host_public,
                    keys,
                    dir,
                });
            }
            let _ = child.kill();
            let _ = child.wait();
            last_err = std::fs::read_to_string(d.join("sshd.stderr")).unwrap_or_default();
        }
        panic!("sshd did not start: {last_err}");
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The login name the user keys are authorized for (the current user).
    pub fn user(&self) -> &str {
        &self.user
    }

    /// `[127.0.0.1]:<port> ssh-ed25519 AAAA...`, as Flux's `known_hosts` Secret key holds it.
    pub fn known_hosts(&self) -> String {
        format!("[127.0.0.1]:{} {}\n", self.port, self.host_public)
    }

    /// The host's public key line (`ssh-ed25519 AAAA...`).
    pub fn host_public_key(&self) -> &str {
        &self.host_public
    }

    /// A user key.
    pub fn key(&self, kind: KeyKind) -> &UserKey {
        self.keys
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, key)| key)
            .expect("every KeyKind is generated at start")
    }

    /// `ssh://<user>@127.0.0.1:<port><absolute repository path>`.
    pub fn url(&self, repo: &Path) -> String {
        format!(
            "ssh://{}@127.0.0.1:{}{}",
            self.user,
            self.port,
            repo.display()
        )
    }

    /// sshd's stderr so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.stderr")).unwrap_or_default()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn keygen(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let mut cmd = Command::new("ssh-keygen");
    cmd.args(args)
        .arg("-q")
        .arg("-C")
        .arg(name)
        .arg("-f")
        .arg(&path);
    if !args.contains(&"-N") {
        cmd.args(["-N", ""]);
    }
    let out = cmd.output().expect("run ssh-keygen");
    assert!(
        out.status.success(),
        "ssh-keygen {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

fn public_line(private: &Path) -> String {
    let pubfile = private.with_extension("pub");
    let text = std::fs::read_to_string(&pubfile).expect("public key");
    text.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

fn readonly_script() -> String {
    format!(
        "#!/bin/sh\ncase \"$SSH_ORIGINAL_COMMAND\" in\n  git-receive-pack*) echo '{READ_ONLY_MESSAGE}' >&2; exit 1 ;;\n  *) exec sh -c \"$SSH_ORIGINAL_COMMAND\" ;;\nesac\n"
    )
}

fn set_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

fn current_user() -> String {
    let out = Command::new("id").arg("-un").output().expect("run id -un");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn config(dir: &Path, host_key: &Path, port: u16) -> String {
    format!(
        "ListenAddress 127.0.0.1
Port {port}
HostKey {host_key}
PidFile {dir}/sshd.pid
AuthorizedKeysFile {dir}/authorized_keys
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
LogLevel INFO
",
        host_key = host_key.display(),
        dir = dir.display(),
    )
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
