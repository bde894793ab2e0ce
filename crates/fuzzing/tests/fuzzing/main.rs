//! Replays every committed file of `fuzz/corpus/<target>/` through the
//! target's body: seeds and the reproducers of crashes found by fuzzing.

use std::path::PathBuf;

use ferroflux_fuzzing::TARGETS;

fn corpus_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
}

#[test]
fn every_target_has_a_corpus_and_replays_it() {
    for target in TARGETS {
        let dir = corpus_dir(target.name);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert!(
            files.len() >= 3,
            "{}: only {} seeds",
            target.name,
            files.len()
        );
        for file in files {
            let bytes = std::fs::read(&file).unwrap();
            eprintln!("{}: {}", target.name, file.display());
            (target.run)(&bytes);
        }
    }
}

#[test]
fn every_target_has_a_fuzz_target_file() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/fuzz_targets");
    for target in TARGETS {
        let file = dir.join(format!("{}.rs", target.name));
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(
            text.contains(&format!("ferroflux_fuzzing::{}(", target.name)),
            "{} does not call its body",
            file.display()
        );
    }
}
