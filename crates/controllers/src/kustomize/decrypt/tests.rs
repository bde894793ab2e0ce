//! The decryption steps of the build, with fixtures encrypted by the real
//! sops (`$FERROFLUX_SOPS`, .ci/setup.d/55-sops.sh) to a fresh age key.

use std::path::{Path, PathBuf};

use ferroflux_kustomize::DiskFs;
use ferroflux_kustomize::flux::{BuildOptions, build_for_apply};
use serde_json::json;

use super::*;
use crate::kind::SecretData;

use ferroflux_testkit::sops::Sops;

fn sops() -> Option<Sops> {
    Sops::age()
}

struct Secrets(BTreeMap<(String, String), SecretData>);

impl SecretSource for Secrets {
    fn secret(&self, namespace: &str, name: &str) -> Result<&SecretData, String> {
        self.0
            .get(&(namespace.into(), name.into()))
            .ok_or_else(|| format!("secret '{namespace}/{name}' not found"))
    }
}

fn kustomization(decryption: bool) -> Kustomization {
    let mut spec = json!({"interval": "10m", "prune": true, "path": "./apps",
        "sourceRef": {"kind": "GitRepository", "name": "fleet"}});
    if decryption {
        spec["decryption"] = json!({"provider": "sops", "secretRef": {"name": "sops-keys"}});
    }
    serde_json::from_value(
        json!({"metadata": {"name": "apps", "namespace": "flux-system"},
        "spec": spec}),
    )
    .expect("kustomization")
}

fn secrets_with(entries: &[(&str, &[u8])]) -> Secrets {
    let data = entries
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_vec()))
        .collect();
    Secrets(BTreeMap::from([(
        ("flux-system".to_string(), "sops-keys".to_string()),
        data,
    )]))
}

#[test]
fn keys_come_from_agekey_entries_and_unsupported_entries_say_so() {
    let ks = kustomization(true);
    assert!(
        import_keys(&kustomization(false), &secrets_with(&[]))
            .expect("none")
            .is_none()
    );
    let err = import_keys(&ks, &Secrets(BTreeMap::new())).expect_err("missing");
    assert_eq!(err, "secrets \"sops-keys\" not found");
    let err = import_keys(
        &ks,
        &secrets_with(&[("identity.agekey", b"AGE-SECRET-KEY-1XYZ\n")]),
    )
    .expect_err("bad key");
    assert!(
        err.starts_with(
            "failed to import 'identity.agekey' data from sops decryption Secret \
             'flux-system/sops-keys': "
        ),
        "{err}"
    );
    assert!(!err.contains("AGE-SECRET-KEY-1XYZ"), "{err}");
    let err = import_keys(
        &ks,
        &secrets_with(&[("sops.vault-token", b"s.token"), ("sops.aws-kms", b"x")]),
    )
    .expect_err("unsupported only");
    assert!(
        err.contains("'sops.vault-token' (HashiCorp Vault)"),
        "{err}"
    );
    assert!(err.contains("'sops.aws-kms' (AWS KMS)"), "{err}");
    assert!(err.contains("not supported by ferroflux"), "{err}");
    assert!(!err.contains("s.token"), "{err}");
    let err = import_keys(&ks, &secrets_with(&[("key.asc", b"garbage")])).expect_err("bad pgp");
    assert!(err.contains("'key.asc'"), "{err}");
    let mut with_sa = ks.clone();
    if let Some(d) = with_sa.spec.decryption.as_mut() {
        d.service_account_name = Some("kms-reader".into());
    }
    let err = import_keys(&with_sa, &secrets_with(&[])).expect_err("workload identity");
    assert!(
        err.starts_with("to use spec.decryption.serviceAccountName"),
        "{err}"
    );
    // Without a secretRef there are no keys, and decryption fails later.
    let mut bare = ks.clone();
    if let Some(d) = bare.spec.decryption.as_mut() {
        d.secret_ref = None;
    }
    let keys = import_keys(&bare, &secrets_with(&[]))
        .expect("ok")
        .expect("some");
    assert!(keys.keys.is_empty());
}

/// An artifact tree: `apps/` with a kustomization, a whole-resource SOPS
/// Secret, generator inputs in each format, and a Secret whose data entry
/// is a SOPS document.
fn tree(s: &Sops, root: &Path) {
    let apps = root.join("apps");
    std::fs::create_dir_all(&apps).expect("mkdir");
    let whole = s.encrypt(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: apps\nstringData:\n  password: hunter2-db\n",
        "yaml",
        &["--encrypted-regex", "^(data|stringData)$"],
    );
    std::fs::write(apps.join("db.yaml"), whole).expect("write");
    let nested = s.encrypt("user: admin\npass: hunter2-nested\n", "yaml", &[]);
    std::fs::write(
        apps.join("nested.yaml"),
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: nested\n  namespace: apps\ndata:\n  config.json: {}\n",
            STANDARD.encode(nested)
        ),
    )
    .expect("write");
    std::fs::write(
        apps.join("token.enc"),
        s.encrypt("hunter2-token", "binary", &[]),
    )
    .expect("write");
    std::fs::write(
        apps.join("app.env"),
        s.encrypt("PASS=hunter2-env\n", "dotenv", &[]),
    )
    .expect("write");
    std::fs::write(
        apps.join("kustomization.yaml"),
        "resources:\n- db.yaml\n- nested.yaml\nsecretGenerator:\n- name: gen\n  namespace: apps\n  \
         files:\n  - token=token.enc\n  envs:\n  - app.env\ngeneratorOptions:\n  \
         disableNameSuffixHash: true\n",
    )
    .expect("write");
}

fn build(root: &Path, keys: Option<DecryptionKeys>) -> Result<String, String> {
    let disk = DiskFs::new(root).map_err(|e| e.to_string())?;
    let ks = kustomization(keys.is_some());
    let dir = root.join("apps");
    let files = match &keys {
        Some(k) => decrypt_sources(&disk, root, &dir, &ks, k)?,
        None => BTreeMap::new(),
    };
    let opts = BuildOptions {
        strict_substitute: true,
        decrypt: keys.map(resource_hook),
        ..BuildOptions::default()
    };
    let fs = Decrypted {
        inner: &disk,
        files,
    };
    build_for_apply(&fs, &dir, &ks, &opts)
        .map(|m| m.yaml)
        .map_err(|e| e.to_string())
}

#[test]
fn the_build_decrypts_resources_and_generator_inputs_in_memory() {
    let Some(s) = sops() else { return };
    let root = tempfile::tempdir().expect("root");
    tree(&s, root.path());
    let before: Vec<(PathBuf, Vec<u8>)> = ["apps/token.enc", "apps/app.env", "apps/db.yaml"]
        .iter()
        .map(|p| {
            let p = root.path().join(p);
            let b = std::fs::read(&p).expect("read");
            (p, b)
        })
        .collect();
    let keys = import_keys(
        &kustomization(true),
        &secrets_with(&[("age.agekey", s.identity.as_bytes())]),
    )
    .expect("keys")
    .expect("decryption set");
    let debug = format!("{keys:?}");
    assert!(!debug.contains("AGE-SECRET-KEY"), "{debug}");
    let yaml = build(root.path(), Some(keys)).expect("build");
    assert!(!yaml.contains("ENC["), "{yaml}");
    assert!(!yaml.contains("sops:"), "{yaml}");
    assert!(
        yaml.contains("password: hunter2-db"),
        "whole resource: {yaml}"
    );
    assert!(
        yaml.contains(&format!("token: {}", STANDARD.encode("hunter2-token"))),
        "generator file: {yaml}"
    );
    assert!(
        yaml.contains(&format!("PASS: {}", STANDARD.encode("hunter2-env"))),
        "generator env: {yaml}"
    );
    let json_out = "{\n\t\"user\": \"admin\",\n\t\"pass\": \"hunter2-nested\"\n}\n";
    assert!(
        yaml.contains(&format!("config.json: {}", STANDARD.encode(json_out))),
        "Secret field converted to its key's format: {yaml}"
    );
    // Nothing decrypted was written back to the artifact.
    for (p, b) in before {
        assert_eq!(
            std::fs::read(&p).expect("read"),
            b,
            "{} unchanged",
            p.display()
        );
    }
}

#[test]
fn a_wrong_key_fails_the_build_with_flux_s_words_and_no_plaintext() {
    let Some(s) = sops() else { return };
    let Some(other) = sops() else { return };
    let root = tempfile::tempdir().expect("root");
    tree(&s, root.path());
    let keys = import_keys(
        &kustomization(true),
        &secrets_with(&[("age.agekey", other.identity.as_bytes())]),
    )
    .expect("keys")
    .expect("decryption set");
    let err = build(root.path(), Some(keys)).expect_err("wrong key");
    assert!(err.starts_with("error decrypting sources: apps/"), "{err}");
    assert!(
        err.contains("cannot get sops data key: Failed to get the data key"),
        "{err}"
    );
    assert!(err.contains(&s.recipient), "{err}");
    assert!(!err.contains("hunter2"), "{err}");

    // Without generators the resource step fails the same way.
    std::fs::write(
        root.path().join("apps/kustomization.yaml"),
        "resources:\n- db.yaml\n",
    )
    .expect("write");
    let keys = import_keys(
        &kustomization(true),
        &secrets_with(&[("age.agekey", other.identity.as_bytes())]),
    )
    .expect("keys")
    .expect("decryption set");
    let err = build(root.path(), Some(keys)).expect_err("wrong key");
    assert!(
        err.starts_with(
            "decryption failed for 'Secret.v1.[noGrp]/db': failed to decrypt and format \
             'apps/db' Secret data: cannot get sops data key: "
        ),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn a_tampered_value_fails_its_tag_and_the_opt_out_annotation_skips_decryption() {
    let Some(s) = sops() else { return };
    let root = tempfile::tempdir().expect("root");
    tree(&s, root.path());
    let db = root.path().join("apps/db.yaml");
    let text = std::fs::read_to_string(&db).expect("read");
    let at = text.find("password: ENC[AES256_GCM,data:").expect("value") + 30;
    let mut bytes = text.into_bytes();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    std::fs::write(&db, &bytes).expect("write");
    std::fs::write(
        root.path().join("apps/kustomization.yaml"),
        "resources:\n- db.yaml\n",
    )
    .expect("write");
    let keys = || {
        import_keys(
            &kustomization(true),
            &secrets_with(&[("age.agekey", s.identity.as_bytes())]),
        )
        .expect("keys")
    };
    let err = build(root.path(), keys()).expect_err("tampered");
    assert!(err.contains("message authentication failed"), "{err}");
    assert!(
        err.contains("'stringData.password'"),
        "names the key path: {err}"
    );

    let text = String::from_utf8(bytes).expect("utf8").replace(
        "    namespace: apps\n",
        "    namespace: apps\n    annotations:\n        kustomize.toolkit.fluxcd.io/decrypt: disabled\n",
    );
    std::fs::write(&db, text).expect("write");
    let yaml = build(root.path(), keys()).expect("skipped");
    assert!(yaml.contains("ENC["), "left encrypted: {yaml}");
}

#[test]
fn source_walk_errors_and_plain_files() {
    use ferroflux_kustomize::MemFs;
    let keys = DecryptionKeys {
        keys: Arc::new(Keys::new()),
        unsupported: Vec::new(),
    };
    let ks = kustomization(true);
    let mut fs = MemFs::new();
    fs.add("/src/apps/kustomization.yaml", "resources: []\n")
        .add("/src/apps/kustomization.yml", "resources: []\n");
    let err = decrypt_sources(&fs, Path::new("/src"), Path::new("/src/apps"), &ks, &keys)
        .expect_err("two files");
    assert_eq!(
        err,
        "error decrypting sources: found multiple kustomization files in apps"
    );
    let mut fs = MemFs::new();
    fs.add(
        "/src/apps/kustomization.yaml",
        "resources:\n- ../base\nsecretGenerator:\n- name: s\n  files:\n  - missing.txt\n",
    );
    let err = decrypt_sources(&fs, Path::new("/src"), Path::new("/src/apps"), &ks, &keys)
        .expect_err("missing");
    assert!(err.starts_with("error decrypting sources: "), "{err}");
    assert!(err.contains("missing.txt"), "{err}");
    // Plain inputs are left to the build; a base directory is walked.
    let mut fs = MemFs::new();
    fs.add(
        "/src/apps/kustomization.yaml",
        "resources:\n- ../base\nsecretGenerator:\n- name: s\n  files:\n  - plain.txt\n  envs:\n  - plain.env\n",
    )
    .add("/src/apps/plain.txt", "not encrypted")
    .add("/src/apps/plain.env", "A=1\n")
    .add(
        "/src/base/kustomization.yaml",
        "patches:\n- path: p.yaml\n",
    )
    .add("/src/base/p.yaml", "mac: ENC[broken");
    let err = decrypt_sources(&fs, Path::new("/src"), Path::new("/src/apps"), &ks, &keys)
        .expect_err("the base's patch has the YAML marker");
    assert!(
        err.starts_with("error decrypting sources: base/p.yaml: "),
        "{err}"
    );
    fs.add("/src/base/p.yaml", "kind: ConfigMap\n");
    let files =
        decrypt_sources(&fs, Path::new("/src"), Path::new("/src/apps"), &ks, &keys).expect("plain");
    assert!(files.is_empty());
}
