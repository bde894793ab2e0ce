//! Decryption cost of what a Kustomization meets: a Secret of 1,000
//! encrypted values (YAML, with the age data key recovered each time, as
//! every build does), the same with PGP, and a 1 MiB binary file. The
//! fixtures are encrypted by the real sops (`$FERROFLUX_SOPS`, built by
//! .ci/setup.d/55-sops.sh); without it the bench says so and measures
//! nothing.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;

use criterion::{Criterion, criterion_group, criterion_main};
use ferroflux_sops::{Format, Keys, Options};

struct Fixture {
    dir: tempfile::TempDir,
    sops: PathBuf,
    recipient: String,
    keys: Keys,
}

fn fixture() -> Option<Fixture> {
    let sops = PathBuf::from(std::env::var_os("FERROFLUX_SOPS")?);
    if !Path::new(&sops).is_file() {
        return None;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("age.agekey");
    let made = Command::new("age-keygen")
        .arg("-o")
        .arg(&key)
        .output()
        .ok()?;
    if !made.status.success() {
        return None;
    }
    let text = std::fs::read_to_string(&key).expect("key");
    let recipient = text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .expect("public key")
        .to_string();
    let mut keys = Keys::new();
    keys.add_age_identities(&text).expect("identity");
    Some(Fixture {
        dir,
        sops,
        recipient,
        keys,
    })
}

impl Fixture {
    fn encrypt(&self, plain: &[u8], kind: &str) -> Vec<u8> {
        let src = self.dir.path().join(format!("plain.{kind}"));
        std::fs::write(&src, plain).expect("write");
        let out = Command::new(&self.sops)
            .current_dir(self.dir.path())
            .env("HOME", self.dir.path())
            .args(["encrypt", "--age", &self.recipient])
            .args(["--input-type", kind, "--output-type", kind])
            .arg(&src)
            .output()
            .expect("sops");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }
}

fn bench(c: &mut Criterion) {
    let Some(f) = fixture() else {
        eprintln!("decrypt bench: FERROFLUX_SOPS or age-keygen missing, nothing measured");
        return;
    };
    let mut secret =
        String::from("apiVersion: v1\nkind: Secret\nmetadata:\n  name: big\nstringData:\n");
    for i in 0..1000 {
        secret.push_str(&format!("  key{i}: value-{i}-{}\n", "x".repeat(32)));
    }
    let yaml = f.encrypt(secret.as_bytes(), "yaml");
    let binary = f.encrypt(&vec![b'a'; 1 << 20], "binary");
    let options = Options::flux();
    c.bench_function("yaml secret, 1000 values", |b| {
        b.iter(|| {
            ferroflux_sops::decrypt(
                black_box(&yaml),
                Format::Yaml,
                Format::Yaml,
                &f.keys,
                &options,
            )
            .expect("decrypt")
        })
    });
    c.bench_function("yaml secret, 1000 values, as JSON", |b| {
        b.iter(|| {
            ferroflux_sops::decrypt(
                black_box(&yaml),
                Format::Yaml,
                Format::Json,
                &f.keys,
                &options,
            )
            .expect("decrypt")
        })
    });
    c.bench_function("binary, 1 MiB", |b| {
        b.iter(|| {
            ferroflux_sops::decrypt(
                black_box(&binary),
                Format::Binary,
                Format::Binary,
                &f.keys,
                &options,
            )
            .expect("decrypt")
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
