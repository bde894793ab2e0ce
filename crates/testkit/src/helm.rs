//! The real `helm` v4 (`$FERROFLUX_HELM`, built by .ci/setup.d/56-helm.sh):
//! the oracle of ferroflux-helm's differential tests. Run with HOME and the
//! XDG directories in a private temporary directory, so it reads no user
//! configuration, repositories or plugins.

use std::path::{Path, PathBuf};
use std::process::Command;

/// helm and the directory it runs in.
pub struct Helm {
    pub bin: PathBuf,
    pub home: tempfile::TempDir,
}

/// What one run printed.
#[derive(Debug, Clone)]
pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Helm {
    /// None (after `env::skip_or_fail`) without a built helm.
    pub fn find() -> Option<Helm> {
        let bin = match std::env::var_os("FERROFLUX_HELM") {
            Some(p) if Path::new(&p).is_file() => PathBuf::from(p),
            _ => {
                crate::env::skip_or_fail(
                    "FERROFLUX_HELM (see .ci/setup.d/56-helm.sh) is not a built helm",
                );
                return None;
            }
        };
        let home = tempfile::tempdir().expect("tempdir");
        Some(Helm { bin, home })
    }

    /// Helm's module source (`$FERROFLUX_HELM_MODULE`), where its test
    /// charts live; None (after `env::skip_or_fail`) when unset.
    pub fn module_dir() -> Option<PathBuf> {
        crate::env::dir_from_env("FERROFLUX_HELM_MODULE").filter(|d| {
            let ok = d.is_dir();
            if !ok {
                crate::env::skip_or_fail("FERROFLUX_HELM_MODULE is not a directory");
            }
            ok
        })
    }

    /// `helm` with a private HOME and XDG directories, no `HELM_*`
    /// variables from the caller, and `home` as the working directory.
    pub fn command(&self) -> Command {
        let mut c = Command::new(&self.bin);
        let home = self.home.path();
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("HELM_") || k == "KUBECONFIG" {
                c.env_remove(k);
            }
        }
        c.current_dir(home)
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("KUBECONFIG", home.join("kubeconfig"));
        c
    }

    /// `helm template <args>`.
    pub fn template<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Run {
        let out = self
            .command()
            .arg("template")
            .args(args)
            .output()
            .expect("run helm");
        Run {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// A chart in `home/<name>` whose only template prints `{{ toJson
    /// .Values }}`: the probe of the values tests. Returns its path.
    pub fn values_probe(&self, name: &str) -> PathBuf {
        let dir = self.home.path().join(name);
        std::fs::create_dir_all(dir.join("templates")).expect("mkdir");
        std::fs::write(
            dir.join("Chart.yaml"),
            format!("apiVersion: v2\nname: {name}\nversion: 0.1.0\n"),
        )
        .expect("write");
        std::fs::write(dir.join("templates/values.yaml"), "{{ toJson .Values }}\n").expect("write");
        dir
    }

    /// The JSON a probe chart printed (`helm template` output without the
    /// `---` and `# Source:` lines), or helm's error text.
    pub fn probe_values<S: AsRef<std::ffi::OsStr>>(
        &self,
        chart: &Path,
        args: &[S],
    ) -> Result<serde_json::Value, String> {
        let mut all: Vec<std::ffi::OsString> = vec![chart.as_os_str().to_owned()];
        all.extend(args.iter().map(|a| a.as_ref().to_owned()));
        let run = self.template(&all);
        if !run.ok {
            return Err(run.stderr.trim_end().to_string());
        }
        let body: String = run
            .stdout
            .lines()
            .filter(|l| !l.starts_with("---") && !l.starts_with("# Source:"))
            .collect::<Vec<_>>()
            .join("\n");
        serde_json::from_str(&body).map_err(|e| format!("helm printed no JSON ({e}): {body}"))
    }
}
