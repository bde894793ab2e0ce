//! What a case directory cannot state: bounds on what a stranger's tree may
//! hold (kustomize has none, so no oracle output), and secrets kept out of
//! errors (an assertion on what a message must not say).

use crate::support::{build, tree};

const CM: &[u8] = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n";

/// Replacements read from files count toward one bound per kustomization.
#[test]
fn too_many_replacements_across_files_are_refused() {
    let many = "- {}\n".repeat(6_000);
    let fs = tree(&[
        (
            "/t/kustomization.yaml",
            b"resources: [cm.yaml]\nreplacements:\n- path: a.yaml\n- path: b.yaml\n",
        ),
        ("/t/cm.yaml", CM),
        ("/t/a.yaml", many.as_bytes()),
        ("/t/b.yaml", many.as_bytes()),
    ]);
    let e = build(&fs, "/t").expect_err("too many").to_string();
    assert!(e.contains("more than 10000 replacements"), "{e}");
}

/// A replacement file above the size bound is refused before it is parsed.
#[test]
fn a_too_large_replacement_file_is_refused() {
    let large = "#".repeat(4 << 20 | 1);
    let fs = tree(&[
        (
            "/t/kustomization.yaml",
            b"resources: [cm.yaml]\nreplacements:\n- path: r.yaml\n",
        ),
        ("/t/cm.yaml", CM),
        ("/t/r.yaml", large.as_bytes()),
    ]);
    let e = build(&fs, "/t").expect_err("too large").to_string();
    assert!(e.contains("'/t/r.yaml' is larger than"), "{e}");
}

/// A Secret's literal never shows in an error.
#[test]
fn secret_values_stay_out_of_errors() {
    let fs = tree(&[(
        "/t/kustomization.yaml",
        b"secretGenerator:\n- name: s\n  literals:\n  - hunter2-no-equals\n",
    )]);
    let err = build(&fs, "/t").expect_err("no key").to_string();
    assert!(err.contains("literals[0]"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}
