//! The same trees archived by us and by Flux's `pkg/artifact`
//! (`storage.Archive` + `SourceIgnoreFilter`, run by
//! `scripts/artifact-oracle`, `FERROFLUX_ARTIFACT_ORACLE`): the tar streams
//! inside must be byte-identical and the gzip headers equal. Without the
//! oracle the tar streams are compared with the SHA-256 Flux's stream had
//! when recorded (`testdata/flux-tars.json`, rewritten by a run with the
//! oracle and `FERROFLUX_BLESS=1`; `flux_digest` there shows that Go's
//! gzip bytes, unlike its tar bytes, are not ours); CI (`FERROFLUX_REQUIRE_SERVERS=1`)
//! always runs the oracle.

use std::io::Read as _;
use std::os::unix::fs::{PermissionsExt as _, symlink};
use std::path::Path;

use ferroflux_artifact::{Limits, archive};
use ferroflux_kustomize::flux::ignore::Matcher;
use ferroflux_kustomize::fs::DiskFs;
use sha2::{Digest as _, Sha256};

struct Case {
    name: &'static str,
    ignore: Option<&'static str>,
    sourceignore: Option<&'static str>,
}

const CASES: &[Case] = &[
    Case {
        name: "defaults",
        ignore: None,
        sourceignore: None,
    },
    Case {
        name: "spec-ignore",
        ignore: Some("# comment\n*.md\n!docs/keep.md\ndrafts/\n!drafts/keep.yaml\n"),
        sourceignore: None,
    },
    Case {
        name: "sourceignore",
        ignore: None,
        sourceignore: Some("*.txt\n/local.yaml\n"),
    },
    Case {
        name: "empty-spec-ignore",
        ignore: Some(""),
        sourceignore: None,
    },
];

fn write(root: &Path, rel: &str, content: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, content).expect("write");
}

/// A repository-like tree with every kind of entry Flux treats specially.
fn tree(root: &Path, case: &Case) {
    write(root, "apps/deploy.yaml", "kind: Deployment\n");
    write(root, "apps/sub/local.yaml", "x: 1\n");
    write(root, "apps/sub/notes.txt", "n\n");
    write(root, "local.yaml", "y: 2\n");
    write(root, "README.md", "# r\n");
    write(root, "docs/keep.md", "keep\n");
    write(root, "docs/drop.md", "drop\n");
    write(root, "drafts/keep.yaml", "k\n");
    write(root, "drafts/drop.yaml", "d\n");
    write(root, ".git/HEAD", "ref: refs/heads/main\n");
    write(root, ".git/objects/ab/cdef", "obj");
    write(root, ".gitignore", "*.tmp\n");
    write(root, ".github/workflows/ci.yaml", "on: push\n");
    write(root, "img/logo.png", "png");
    write(root, "clusters/.sops.yaml", "creation_rules: []\n");
    write(root, "scripts/run.sh", "#!/bin/sh\necho hi\n");
    std::fs::set_permissions(
        root.join("scripts/run.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .expect("chmod");
    write(root, &format!("{}/deep.yaml", "d".repeat(130)), "deep\n");
    write(
        root,
        &format!("{}/{}/f.yaml", "p".repeat(90), "q".repeat(60)),
        "f\n",
    );
    write(root, "ünïcode/ï.yaml", "u\n");
    write(root, "big", &"0123456789".repeat(1000));
    std::fs::create_dir_all(root.join("empty")).expect("mkdir");
    symlink("/etc/hostname", root.join("apps/escape")).expect("symlink");
    symlink("../apps", root.join("docs/apps-link")).expect("symlink");
    if let Some(s) = case.sourceignore {
        write(root, "apps/.sourceignore", s);
    }
}

fn ours(dir: &Path, ignore: Option<&str>) -> Vec<u8> {
    let fs = DiskFs::new(dir).expect("fs");
    let m = Matcher::for_artifact(&fs, dir, ignore);
    archive::write_tar(dir, Some(&m), &Limits::default(), Vec::new()).expect("archive")
}

fn recorded() -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/artifact/testdata/flux-tars.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("flux-tars.json")).expect("json")
}

fn oracle() -> Option<String> {
    match std::env::var("FERROFLUX_ARTIFACT_ORACLE") {
        Ok(p) if !p.is_empty() => Some(p),
        _ => {
            assert!(
                std::env::var("FERROFLUX_REQUIRE_SERVERS").as_deref() != Ok("1"),
                "FERROFLUX_ARTIFACT_ORACLE is not set (scripts/artifact-oracle --print-path)"
            );
            eprintln!(
                "notice: FERROFLUX_ARTIFACT_ORACLE not set; comparing with recorded digests only"
            );
            None
        }
    }
}

#[test]
fn our_tar_streams_are_flux_s_byte_for_byte() {
    let recorded = recorded();
    let oracle = oracle();
    let bless = std::env::var("FERROFLUX_BLESS").as_deref() == Ok("1") && oracle.is_some();
    let mut blessed = serde_json::Map::new();
    for case in CASES {
        let t = tempfile::tempdir().expect("tempdir");
        let dir = t.path().join("repo");
        tree(&dir, case);
        let tar = ours(&dir, case.ignore);
        let sha = hex::encode(Sha256::digest(&tar));
        if let Some(oracle) = &oracle {
            let out = t.path().join("out/flux.tar.gz");
            std::fs::create_dir_all(out.parent().expect("parent")).expect("mkdir");
            let mut cmd = std::process::Command::new(oracle);
            cmd.arg(&dir).arg(&out);
            if let Some(ignore) = case.ignore {
                let f = t.path().join("ignore");
                std::fs::write(&f, ignore).expect("write");
                cmd.arg(f);
            }
            let run = cmd.output().expect("run the oracle");
            assert!(
                run.status.success(),
                "{}",
                String::from_utf8_lossy(&run.stderr)
            );
            let gz = std::fs::read(&out).expect("flux's archive");
            let mut flux_tar = Vec::new();
            flate2::read::GzDecoder::new(gz.as_slice())
                .read_to_end(&mut flux_tar)
                .expect("gunzip");
            if flux_tar != tar {
                let at = flux_tar.iter().zip(&tar).position(|(a, b)| a != b);
                panic!(
                    "{}: tar streams differ at byte {at:?} (flux {} bytes, ours {})",
                    case.name,
                    flux_tar.len(),
                    tar.len()
                );
            }
            let our_gz =
                archive::write_tar_gz(&dir, None, &Limits::default(), Vec::new()).expect("gz");
            assert_eq!(gz[..10], our_gz[..10], "{}: gzip header", case.name);
            let flux: serde_json::Value =
                serde_json::from_slice(&run.stdout).expect("oracle output");
            blessed.insert(
                case.name.to_string(),
                serde_json::json!({"tar_sha256": sha, "flux_digest": flux["digest"]}),
            );
            if bless {
                continue;
            }
        }
        assert_eq!(
            recorded[case.name]["tar_sha256"].as_str(),
            Some(sha.as_str()),
            "{}: our tar stream differs from the one Flux wrote when recorded",
            case.name
        );
    }
    if bless {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/artifact/testdata/flux-tars.json");
        let text = serde_json::to_string_pretty(&blessed).expect("json");
        std::fs::write(path, text + "\n").expect("bless");
    }
}
