//! sprig's random functions draw from a ChaCha20 stream keyed by the
//! caller: the same key renders the same chart, another key another one,
//! and without a key they fail saying why (the engine has no entropy of
//! its own).

use ferroflux_helm::chart::{File, load_files};
use ferroflux_helm::render::{RenderOptions, render_on_big_stack};

fn chart() -> ferroflux_helm::chart::Chart {
    load_files(vec![
        File {
            name: "Chart.yaml".into(),
            data: b"apiVersion: v2\nname: rnd\nversion: 0.1.0\n".to_vec(),
        },
        File {
            name: "templates/s.yaml".into(),
            data: b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  password: {{ randAlphaNum 24 | quote }}\n  id: {{ uuidv4 | quote }}\n".to_vec(),
        },
    ])
    .expect("loads")
}

fn manifest(seed: Option<[u8; 32]>) -> Result<String, String> {
    let opts = RenderOptions {
        seed,
        ..RenderOptions::default()
    };
    render_on_big_stack(chart(), serde_json::Map::new(), opts)
        .map(|r| r.manifest)
        .map_err(|e| e.helm_message())
}

#[test]
fn the_key_decides_the_random_text() {
    let a = manifest(Some([1; 32])).expect("renders");
    let again = manifest(Some([1; 32])).expect("renders");
    let b = manifest(Some([2; 32])).expect("renders");
    assert_eq!(a, again);
    assert_ne!(a, b);
    let password = a
        .lines()
        .find_map(|l| l.trim().strip_prefix("password: "))
        .expect("a password line");
    assert_eq!(password.trim_matches('"').len(), 24, "{password}");
}

#[test]
fn without_a_key_the_random_functions_fail_clearly() {
    let err = manifest(None).expect_err("no entropy");
    assert!(err.contains("randAlphaNum"), "{err}");
    assert!(err.contains("randomness"), "{err}");
}
