//! What the case replays and the remaining Rust tests share: reading a case
//! directory (the layout of the shared corpus, `case.json`, `input/`,
//! `expected.yaml` | `expected.err`), running it through the engine or
//! through a kustomize binary, and in-memory trees.

use std::path::{Path, PathBuf};
use std::process::Output;

use ferroflux_kustomize::{DiskFs, Error, MemFs, Options};

/// One case directory.
pub struct Case {
    pub name: String,
    pub dir: PathBuf,
    /// The directory to build, relative to `input/`.
    pub build: String,
    pub expect_error: bool,
    /// Substrings our error must contain (`<INPUT>` is the input directory).
    pub message: Vec<String>,
    /// The warnings we must print, exactly and in order, when given.
    pub warnings: Option<Vec<String>>,
    /// Where kustomize 5.8.1 prints something else, how (`differs_in_5_8`).
    pub differs_in_5_8: Option<String>,
}

/// This crate's own cases (`tests/kustomize/cases`).
pub fn own_cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kustomize/cases")
}

/// Every case under `cases`, by name.
pub fn read_cases(cases: &Path) -> Vec<Case> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(cases)
        .unwrap_or_else(|e| panic!("{}: {e}", cases.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.into_iter().map(|dir| read_case(&dir)).collect()
}

fn read_case(dir: &Path) -> Case {
    let name = dir
        .file_name()
        .expect("a case directory")
        .to_string_lossy()
        .into_owned();
    let path = dir.join("case.json");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{name}: {e}")))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let strings = |key: &str| -> Option<Vec<String>> {
        json.get(key).map(|v| {
            v.as_array()
                .unwrap_or_else(|| panic!("{name}: `{key}` is a list"))
                .iter()
                .map(|s| {
                    s.as_str()
                        .unwrap_or_else(|| panic!("{name}: `{key}` holds strings"))
                        .to_string()
                })
                .collect()
        })
    };
    let expect_error = match json["expect"].as_str() {
        Some("ok") => false,
        Some("error") => true,
        other => panic!("{name}: `expect` is \"ok\" or \"error\", not {other:?}"),
    };
    Case {
        build: json["build"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: no `build`"))
            .to_string(),
        expect_error,
        message: strings("message").unwrap_or_default(),
        warnings: strings("warnings"),
        differs_in_5_8: json.get("differs_in_5_8").map(|v| {
            v.as_str()
                .expect("`differs_in_5_8` is a string")
                .to_string()
        }),
        dir: dir.to_path_buf(),
        name,
    }
}

impl Case {
    /// `input/`, canonical (the `<INPUT>` of messages).
    pub fn input(&self) -> PathBuf {
        std::fs::canonicalize(self.dir.join("input"))
            .unwrap_or_else(|e| panic!("{}: input: {e}", self.name))
    }

    pub fn build_dir(&self) -> PathBuf {
        self.input().join(&self.build)
    }

    pub fn expected_yaml(&self) -> Vec<u8> {
        std::fs::read(self.dir.join("expected.yaml"))
            .unwrap_or_else(|e| panic!("{}: expected.yaml: {e}", self.name))
    }

    /// Builds the case with the engine from disk: the output and warnings.
    pub fn build_with_engine(&self) -> Result<(String, Vec<String>), Error> {
        let fs = DiskFs::new(self.input()).expect("the input directory");
        ferroflux_kustomize::build_yaml_with_warnings(&fs, &self.build_dir(), &Options::default())
    }

    /// `KUSTOMIZE build <input>/<build>`.
    pub fn build_with(&self, kustomize: &Path) -> Output {
        std::process::Command::new(kustomize)
            .arg("build")
            .arg(self.build_dir())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("{} runs: {e}", kustomize.display()))
    }

    /// Whether a kustomize binary does what the case records: the same
    /// bytes, or a failure where one is expected.
    pub fn kustomize_agrees(&self, out: &Output) -> bool {
        if self.expect_error {
            !out.status.success()
        } else {
            out.status.success() && out.stdout == self.expected_yaml()
        }
    }
}

/// An in-memory tree of `(absolute path, content)` pairs.
pub fn tree(files: &[(&str, &[u8])]) -> MemFs {
    let mut fs = MemFs::new();
    for (path, content) in files {
        fs.add(path, *content);
    }
    fs
}

/// `kustomize build DIR` on an in-memory tree.
pub fn build(fs: &MemFs, dir: &str) -> Result<String, Error> {
    ferroflux_kustomize::build_yaml(fs, Path::new(dir), &Options::default())
}
