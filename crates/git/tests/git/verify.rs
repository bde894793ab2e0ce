//! `spec.verify`: commits and tags signed by the real git (with gpg, and
//! with ssh-keygen for SSH signatures), checked out through a Workspace and
//! verified with the keys a Secret would hold.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use ferroflux_git::verify::{self, Keys};
use ferroflux_git::{Auth, CheckoutRef, Options, Workspace};
use ferroflux_testkit::gitrepo::{self, git, init_bare};

use super::file_url;

struct Fixture {
    _tmp: tempfile::TempDir,
    gnupg: PathBuf,
    bare: PathBuf,
    work: PathBuf,
    ssh_key: PathBuf,
    cache: PathBuf,
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().expect("run");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn gpg(gnupg: &Path, args: &[&str]) -> Vec<u8> {
    run(Command::new("gpg")
        .env("GNUPGHOME", gnupg)
        .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
        .args(args))
}

/// A bare repository and a clone of it whose commits and tags git signs.
fn fixture() -> Option<Fixture> {
    if !gitrepo::git_available() {
        return None;
    }
    for tool in ["gpg", "ssh-keygen"] {
        if Command::new(tool).arg("--help").output().is_err() {
            ferroflux_testkit::env::skip_or_fail(tool);
            return None;
        }
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let gnupg = tmp.path().join("gnupg");
    std::fs::create_dir_all(&gnupg).expect("gnupghome");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&gnupg, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    for who in ["flux@example.com", "other@example.com"] {
        gpg(
            &gnupg,
            &["--quick-gen-key", who, "ed25519", "sign", "never"],
        );
    }
    let ssh_key = tmp.path().join("id_ed25519");
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "bot", "-f"])
        .arg(&ssh_key));
    let bare = init_bare(tmp.path(), "repo.git");
    let work = tmp.path().join("w");
    git(
        tmp.path(),
        &["clone", "--quiet", &bare.to_string_lossy(), "w"],
    );
    git(&work, &["checkout", "--quiet", "-b", "main"]);
    let cache = tmp.path().join("cache");
    Some(Fixture {
        _tmp: tmp,
        gnupg,
        bare,
        work,
        ssh_key,
        cache,
    })
}

impl Fixture {
    /// git with the fixture's gpg home and signing settings.
    fn git(&self, config: &[&str], args: &[&str]) -> String {
        let mut cmd = Command::new("git");
        cmd.env("GNUPGHOME", &self.gnupg).current_dir(&self.work);
        for c in config {
            cmd.args(["-c", c]);
        }
        String::from_utf8_lossy(&run(cmd.args(args)))
            .trim()
            .to_string()
    }

    fn commit(&self, config: &[&str], file: &str, sign: bool) -> String {
        std::fs::write(self.work.join(file), file).expect("file");
        self.git(&[], &["add", "--all"]);
        let mut args = vec!["commit", "--quiet", "-m", file];
        if sign {
            args.push("-S");
        }
        self.git(config, &args);
        self.git(&[], &["rev-parse", "HEAD"])
    }

    fn push(&self) {
        self.git(
            &[],
            &[
                "push",
                "--quiet",
                "--tags",
                "origin",
                "HEAD:refs/heads/main",
            ],
        );
    }

    fn checkout(&self, r: CheckoutRef) -> Workspace {
        let _ = std::fs::remove_dir_all(&self.cache);
        Workspace::open_or_clone(
            &self.cache,
            &file_url(&self.bare),
            &Auth::none(),
            &r,
            Options::default(),
        )
        .expect("checkout")
    }

    fn pgp_keys(&self, who: &str, name: &str) -> Keys {
        let armored = gpg(&self.gnupg, &["--armor", "--export", who]);
        Keys::from_secret(&BTreeMap::from([(name.to_string(), armored)]))
    }

    fn key_id(&self, who: &str) -> String {
        let out = String::from_utf8(gpg(&self.gnupg, &["--with-colons", "--list-keys", who]))
            .expect("utf8");
        out.lines()
            .find(|l| l.starts_with("pub:"))
            .and_then(|l| l.split(':').nth(4))
            .expect("key id")
            .to_string()
    }

    fn ssh_keys(&self) -> Keys {
        let public = std::fs::read(self.ssh_key.with_extension("pub")).expect("pub");
        let mut line = b"# the bot\n".to_vec();
        line.extend(public);
        Keys::from_secret(&BTreeMap::from([("bot.sshpub".to_string(), line)]))
    }

    fn ssh_config(&self) -> Vec<String> {
        vec![
            "gpg.format=ssh".to_string(),
            format!("user.signingkey={}", self.ssh_key.display()),
        ]
    }
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn commits_signed_by_git_with_gpg_and_ssh_verify_and_name_their_key() {
    let Some(f) = fixture() else {
        return;
    };
    let pgp = ["user.signingkey=flux@example.com"];
    f.commit(&pgp, "a", true);
    f.push();
    let ws = f.checkout(CheckoutRef::branch("main"));
    let signed = ws.signed_commit().expect("read").expect("signed");
    assert_eq!(verify::signature_type(&signed.signature), "openpgp");
    assert_eq!(
        verify::verify(&signed, &f.pgp_keys("flux@example.com", "flux.asc")),
        Ok(f.key_id("flux@example.com"))
    );
    // Any key name but *.sshpub is a key ring (Flux's fallback).
    assert!(verify::verify(&signed, &f.pgp_keys("flux@example.com", "key")).is_ok());
    assert_eq!(
        verify::verify(&signed, &f.pgp_keys("other@example.com", "o.asc"))
            .expect_err("other key")
            .to_string(),
        "unable to verify payload with any of the given key rings: no matching key"
    );
    assert_eq!(
        verify::verify(&signed, &f.ssh_keys())
            .expect_err("no pgp keys")
            .to_string(),
        "PGP signature detected but no PGP public keys found in secret (keys with .asc suffix)"
    );
    let garbage = Keys::from_secret(&BTreeMap::from([("a.asc".to_string(), b"nope".to_vec())]));
    assert!(
        verify::verify(&signed, &garbage)
            .expect_err("bad ring")
            .to_string()
            .starts_with("unable to read armored key ring: "),
    );

    let ssh = f.ssh_config();
    f.commit(&strs(&ssh), "b", true);
    f.push();
    let ws = f.checkout(CheckoutRef::branch("main"));
    let signed = ws.signed_commit().expect("read").expect("signed");
    assert_eq!(verify::signature_type(&signed.signature), "ssh");
    let fp = String::from_utf8(run(Command::new("ssh-keygen")
        .args(["-l", "-E", "sha256", "-f"])
        .arg(f.ssh_key.with_extension("pub"))))
    .expect("utf8");
    let fp = fp
        .split_whitespace()
        .nth(1)
        .expect("fingerprint")
        .to_string();
    assert_eq!(verify::verify(&signed, &f.ssh_keys()), Ok(fp));
    assert!(
        verify::verify(&signed, &f.pgp_keys("flux@example.com", "flux.asc"))
            .expect_err("no ssh keys")
            .to_string()
            .starts_with("SSH signature detected but no SSH public keys")
    );
    // A payload changed by one byte does not verify.
    let mut tampered = signed.clone();
    tampered.payload[0] ^= 1;
    assert_eq!(
        verify::verify(&tampered, &f.ssh_keys())
            .expect_err("tampered")
            .to_string(),
        "unable to verify payload with any of the given authorized keys: no matching key"
    );

    f.commit(&[], "c", false);
    f.push();
    assert_eq!(
        f.checkout(CheckoutRef::branch("main"))
            .signed_commit()
            .expect("read"),
        None
    );
}

#[test]
fn tags_signed_by_git_verify_and_lightweight_tags_have_no_tag_object() {
    let Some(f) = fixture() else {
        return;
    };
    f.commit(&[], "a", false);
    f.git(
        &["user.signingkey=flux@example.com"],
        &["tag", "-s", "v1.0.0", "-m", "release 1.0.0"],
    );
    let ssh = f.ssh_config();
    f.git(&strs(&ssh), &["tag", "-s", "v1.1.0", "-m", "release 1.1.0"]);
    f.git(&[], &["tag", "-a", "v1.2.0", "-m", "unsigned"]);
    f.git(&[], &["tag", "v1.3.0"]);
    f.push();
    let tag = |name: &str| {
        f.checkout(CheckoutRef {
            tag: Some(name.to_string()),
            ..CheckoutRef::default()
        })
        .signed_tag()
        .expect("read")
    };
    let t = tag("v1.0.0").expect("annotated");
    let object = git(&f.bare, &["rev-parse", "refs/tags/v1.0.0"]);
    assert_eq!(t.display, format!("v1.0.0@{}", object.trim()));
    let signed = t.signed.expect("signed");
    assert_eq!(
        verify::verify(&signed, &f.pgp_keys("flux@example.com", "flux.asc")),
        Ok(f.key_id("flux@example.com"))
    );
    let signed = tag("v1.1.0").expect("annotated").signed.expect("signed");
    assert!(verify::verify(&signed, &f.ssh_keys()).is_ok());
    assert_eq!(tag("v1.2.0").expect("annotated").signed, None);
    assert_eq!(tag("v1.3.0"), None);
    // A branch checkout went through no tag.
    assert_eq!(
        f.checkout(CheckoutRef::branch("main"))
            .signed_tag()
            .expect("read"),
        None
    );
}
