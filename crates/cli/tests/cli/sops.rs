//! `ferroflux sops decrypt`: what `sops decrypt` prints for a file the real
//! sops encrypted (`$FERROFLUX_SOPS`, .ci/setup.d/55-sops.sh), sops' exit
//! codes for a MAC mismatch and a wrong key, and no plaintext on stderr.

use std::path::PathBuf;
use std::process::{Command, Output};

use ferroflux_testkit::sops::Sops as Setup;

fn setup() -> Option<Setup> {
    Setup::age()
}

trait Cli {
    fn sops(&self, args: &[&str]) -> Output;
    fn encrypt_file(&self, name: &str, plain: &str, flags: &[&str]) -> PathBuf;
    fn ours(&self, args: &[&str]) -> Output;
}

impl Cli for Setup {
    fn sops(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("test setup")
    }

    fn encrypt_file(&self, name: &str, plain: &str, flags: &[&str]) -> PathBuf {
        let src = self.dir.path().join(format!("plain-{name}"));
        std::fs::write(&src, plain).expect("test setup");
        let mut args = vec!["encrypt", "--age", &self.recipient];
        args.extend(flags);
        let src_str = src.to_str().expect("test setup").to_string();
        args.push(&src_str);
        let out = self.sops(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let enc = self.dir.path().join(name);
        std::fs::write(&enc, out.stdout).expect("test setup");
        enc
    }

    fn ours(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_ferroflux"))
            .args([
                "sops",
                "decrypt",
                "--age-key-file",
                self.key.to_str().expect("test setup"),
            ])
            .args(args)
            .output()
            .expect("test setup")
    }
}

#[test]
fn prints_what_sops_decrypt_prints_for_each_format() {
    let Some(s) = setup() else { return };
    let cases = [
        (
            "secret.yaml",
            "# db\nuser: admin\nport: 5432\nlist:\n  - a\n  - b: c\n",
        ),
        (
            "secret.json",
            "{\"user\": \"admin\", \"n\": [1, 2.5, true]}\n",
        ),
        ("secret.env", "USER=admin\nPASS=p=w\n"),
        ("secret.ini", "[db]\nuser = admin\n"),
        ("secret.bin", "raw bytes\n"),
    ];
    for (name, plain) in cases {
        let enc = s.encrypt_file(name, plain, &[]);
        let path = enc.to_str().expect("test setup");
        let theirs = s.sops(&["decrypt", path]);
        assert!(
            theirs.status.success(),
            "{}",
            String::from_utf8_lossy(&theirs.stderr)
        );
        let ours = s.ours(&[path]);
        assert_eq!(
            ours.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&ours.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&ours.stdout),
            String::from_utf8_lossy(&theirs.stdout),
            "{name}"
        );
    }
    let enc = s.encrypt_file("convert.yaml", "a: 1\nb: [x]\n", &[]);
    let path = enc.to_str().expect("test setup");
    let theirs = s.sops(&["decrypt", "--output-type", "json", path]);
    let ours = s.ours(&["--output-type", "json", path]);
    assert_eq!(ours.stdout, theirs.stdout);
}

#[test]
fn a_changed_plain_value_exits_51_unless_the_mac_is_ignored() {
    let Some(s) = setup() else { return };
    let enc = s.encrypt_file(
        "mac.yaml",
        "user: admin\npassword: hunter2\n",
        &["--encrypted-regex", "^password$"],
    );
    let text = std::fs::read_to_string(&enc)
        .expect("test setup")
        .replace("user: admin", "user: root");
    std::fs::write(&enc, text).expect("test setup");
    let path = enc.to_str().expect("test setup");
    let ours = s.ours(&[path]);
    assert_eq!(ours.status.code(), Some(51), "sops' MacMismatch code");
    let stderr = String::from_utf8_lossy(&ours.stderr);
    assert!(stderr.contains("MAC mismatch"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert_eq!(s.sops(&["decrypt", path]).status.code(), Some(51));
    let ours = s.ours(&["--ignore-mac", path]);
    assert_eq!(ours.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&ours.stdout).contains("password: hunter2"));
}

#[test]
fn a_wrong_key_exits_128_and_names_the_recipient() {
    let Some(s) = setup() else { return };
    let enc = s.encrypt_file("wrong.yaml", "password: hunter2\n", &[]);
    let other = s.dir.path().join("other.txt");
    let out = Command::new("age-keygen")
        .arg("-o")
        .arg(&other)
        .output()
        .expect("test setup");
    assert!(out.status.success());
    let ours = Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .args(["sops", "decrypt", "--age-key-file"])
        .arg(&other)
        .arg(&enc)
        .output()
        .expect("test setup");
    assert_eq!(
        ours.status.code(),
        Some(128),
        "sops' CouldNotRetrieveKey code"
    );
    let stderr = String::from_utf8_lossy(&ours.stderr);
    assert!(stderr.contains(&s.recipient), "{stderr}");
    assert!(stderr.contains("wrong.yaml"), "names the file: {stderr}");
    assert!(
        !stderr.contains("hunter2") && !stderr.contains("AGE-SECRET-KEY"),
        "{stderr}"
    );
}

#[test]
fn no_key_and_bad_types_are_clear_errors() {
    let dir = tempfile::tempdir().expect("test setup");
    let file = dir.path().join("x.yaml");
    std::fs::write(&file, "a: 1\n").expect("test setup");
    let out = Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .args(["sops", "decrypt"])
        .arg(&file)
        .output()
        .expect("test setup");
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--age-key-file"));
    let key = dir.path().join("k.txt");
    std::fs::write(&key, "AGE-SECRET-KEY-1QQQ\n").expect("test setup");
    let out = Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .args(["sops", "decrypt", "--age-key-file"])
        .arg(&key)
        .arg(&file)
        .output()
        .expect("test setup");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr.contains("k.txt") && stderr.contains("line 1"),
        "{stderr}"
    );
    assert!(!stderr.contains("AGE-SECRET-KEY-1QQQ"), "{stderr}");
}
