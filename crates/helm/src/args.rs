//! `helm template`'s command line, read as Helm's flag library (pflag)
//! reads it, so that a command copied from a README works unchanged:
//! `--flag value`, `--flag=value`, `-f value`, `-fvalue`, `-f=value`,
//! booleans as `--flag` or `--flag=false`, string slices split on commas
//! (`--values`, `--api-versions`), string arrays not (`--set`).

/// Everything `helm template NAME CHART [flags]` can say that changes
/// what it prints.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TemplateArgs {
    /// `NAME` (default `release-name`).
    pub release_name: Option<String>,
    /// `CHART`: a directory or a `.tgz` file.
    pub chart: Option<String>,
    pub namespace: Option<String>,
    /// `--name-template`, rendered to get the release name.
    pub name_template: Option<String>,
    pub values_files: Vec<String>,
    pub set: Vec<String>,
    pub set_string: Vec<String>,
    pub set_file: Vec<String>,
    pub set_json: Vec<String>,
    pub set_literal: Vec<String>,
    pub show_only: Vec<String>,
    pub include_crds: bool,
    pub skip_tests: bool,
    pub is_upgrade: bool,
    pub no_hooks: bool,
    pub skip_schema_validation: bool,
    pub hide_secret: bool,
    pub kube_version: Option<String>,
    pub api_versions: Vec<String>,
    /// Not a flag: the directory relative paths (chart, `-f`, `--set-file`)
    /// are read from; the caller's working directory.
    pub base_dir: Option<std::path::PathBuf>,
    /// Not a flag: standard input, read by the caller when a values file
    /// is `-`.
    pub stdin: Option<String>,
    /// Not a flag: the instant sprig's `now` and date functions see (the
    /// caller's clock; without it they fail, as the engine reads no clock).
    pub now: Option<ferroflux_template::Timestamp>,
    /// Not a flag: the key of the ChaCha20 stream `randAlphaNum`,
    /// `uuidv4`, ... draw from (32 bytes of the caller's entropy; without
    /// it they fail).
    pub seed: Option<[u8; 32]>,
}

/// A command line `helm template` would refuse (or one asking for what
/// ferroflux does not do).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ArgsError {
    #[error("unknown flag: {0}")]
    UnknownFlag(String),
    #[error("unknown shorthand flag: {0:?} in {1}")]
    UnknownShorthand(char, String),
    #[error("flag needs an argument: {0}")]
    MissingValue(String),
    #[error(
        "invalid argument {value:?} for {flag:?} flag: strconv.ParseBool: parsing {value:?}: invalid syntax"
    )]
    NotBool { flag: String, value: String },
    #[error("{0} is not supported by `ferroflux helm template`: {1}")]
    Unsupported(String, &'static str),
    #[error(
        "\"helm template\" requires at least 1 argument\n\nUsage:  helm template [NAME] [CHART] [flags]"
    )]
    NoChart,
    #[error(
        "\"helm template\" accepts at most 2 arguments\n\nUsage:  helm template [NAME] [CHART] [flags]"
    )]
    TooManyArgs,
}

/// Flags `helm template` accepts that change nothing in its output here
/// (install-time behaviour, output decoration, logging).
const IGNORED_BOOLS: &[&str] = &[
    "atomic",
    "create-namespace",
    "debug",
    "devel",
    "disable-openapi-validation",
    "enable-dns",
    "force",
    "generate-name",
    "hide-notes",
    "insecure-skip-tls-verify",
    "plain-http",
    "render-subchart-notes",
    "replace",
    "rollback-on-failure",
    "skip-crds",
    "take-ownership",
    "wait",
    "wait-for-jobs",
];
const IGNORED_VALUES: &[&str] = &[
    "description",
    "kube-context",
    "kubeconfig",
    "labels",
    "timeout",
    "burst-limit",
    "qps",
];
const UNSUPPORTED: &[(&str, &str)] = &[
    ("repo", "charts are read from a directory or a .tgz file"),
    ("version", "charts are read from a directory or a .tgz file"),
    (
        "username",
        "charts are read from a directory or a .tgz file",
    ),
    (
        "password",
        "charts are read from a directory or a .tgz file",
    ),
    ("verify", "provenance files are not checked"),
    ("keyring", "provenance files are not checked"),
    ("dependency-update", "subcharts must already be in charts/"),
    ("output-dir", "the output goes to stdout"),
    ("release-name", "the output goes to stdout"),
    (
        "post-renderer",
        "post-renderers run in the HelmRelease controller",
    ),
    (
        "post-renderer-args",
        "post-renderers run in the HelmRelease controller",
    ),
    ("validate", "it needs a cluster"),
    ("dry-run", "rendering is always client-side"),
];

impl TemplateArgs {
    /// Parses the arguments after `template`.
    pub fn parse<S: AsRef<str>>(args: &[S]) -> Result<TemplateArgs, ArgsError> {
        let mut out = TemplateArgs::default();
        let mut positional = Vec::new();
        let mut i = 0;
        let mut only_positional = false;
        while i < args.len() {
            let arg = args[i].as_ref();
            i += 1;
            if only_positional || arg == "-" || !arg.starts_with('-') {
                positional.push(arg.to_string());
                continue;
            }
            if arg == "--" {
                only_positional = true;
                continue;
            }
            let (name, inline) = if let Some(long) = arg.strip_prefix("--") {
                match long.split_once('=') {
                    Some((n, v)) => (n.to_string(), Some(v.to_string())),
                    None => (long.to_string(), None),
                }
            } else {
                let mut chars = arg[1..].chars();
                let Some(short) = chars.next() else {
                    positional.push(arg.to_string());
                    continue;
                };
                let rest: String = chars.collect();
                let long = match short {
                    'f' => "values",
                    'n' => "namespace",
                    's' => "show-only",
                    'a' => "api-versions",
                    'g' => "generate-name",
                    _ => return Err(ArgsError::UnknownShorthand(short, arg.to_string())),
                };
                let inline = if rest.is_empty() {
                    None
                } else {
                    Some(rest.strip_prefix('=').unwrap_or(&rest).to_string())
                };
                (long.to_string(), inline)
            };
            let flag = format!("--{name}");
            if let Some(field) = out.bool_flag(&name) {
                *field = match inline.as_deref() {
                    None => true,
                    Some(v) => parse_bool(v).ok_or_else(|| ArgsError::NotBool {
                        flag: name.clone(),
                        value: v.to_string(),
                    })?,
                };
                continue;
            }
            if IGNORED_BOOLS.contains(&name.as_str()) {
                if let Some(v) = inline.as_deref() {
                    parse_bool(v).ok_or_else(|| ArgsError::NotBool {
                        flag: name.clone(),
                        value: v.to_string(),
                    })?;
                }
                continue;
            }
            if let Some((_, why)) = UNSUPPORTED.iter().find(|(n, _)| *n == name) {
                return Err(ArgsError::Unsupported(flag, why));
            }
            let known = matches!(
                name.as_str(),
                "values"
                    | "set"
                    | "set-string"
                    | "set-file"
                    | "set-json"
                    | "set-literal"
                    | "show-only"
                    | "namespace"
                    | "name-template"
                    | "kube-version"
                    | "api-versions"
            ) || IGNORED_VALUES.contains(&name.as_str());
            if !known {
                return Err(ArgsError::UnknownFlag(flag));
            }
            let value = match inline {
                Some(v) => v,
                None => {
                    let v = args
                        .get(i)
                        .ok_or_else(|| ArgsError::MissingValue(flag.clone()))?;
                    i += 1;
                    v.as_ref().to_string()
                }
            };
            match name.as_str() {
                "values" => out.values_files.extend(split_slice(&value)),
                "set" => out.set.push(value),
                "set-string" => out.set_string.push(value),
                "set-file" => out.set_file.push(value),
                "set-json" => out.set_json.push(value),
                "set-literal" => out.set_literal.push(value),
                "show-only" => out.show_only.push(value),
                "namespace" => out.namespace = Some(value),
                "name-template" => out.name_template = Some(value),
                "kube-version" => out.kube_version = Some(value),
                "api-versions" => out.api_versions.extend(split_slice(&value)),
                _ => {}
            }
        }
        match positional.len() {
            0 => return Err(ArgsError::NoChart),
            1 => out.chart = positional.pop(),
            2 => {
                out.chart = positional.pop();
                out.release_name = positional.pop();
            }
            _ => return Err(ArgsError::TooManyArgs),
        }
        Ok(out)
    }

    fn bool_flag(&mut self, name: &str) -> Option<&mut bool> {
        Some(match name {
            "include-crds" => &mut self.include_crds,
            "skip-tests" => &mut self.skip_tests,
            "is-upgrade" => &mut self.is_upgrade,
            "no-hooks" => &mut self.no_hooks,
            "skip-schema-validation" => &mut self.skip_schema_validation,
            "hide-secret" => &mut self.hide_secret,
            _ => return None,
        })
    }
}

/// Go's `strconv.ParseBool`.
fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// pflag's string slice: the value read as one CSV record (quotes allowed
/// around an item holding a comma).
fn split_slice(v: &str) -> Vec<String> {
    if v.is_empty() {
        return Vec::new();
    }
    let mut items = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = v.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' if cur.is_empty() || quoted => quoted = !quoted,
            ',' if !quoted => items.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    items.push(cur);
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_in_every_spelling() {
        let a = TemplateArgs::parse(&[
            "rel",
            "./chart",
            "-n",
            "prod",
            "-fa.yaml,b.yaml",
            "--values=c.yaml",
            "--set",
            "a=1,b=2",
            "--set-string=c=3",
            "--include-crds",
            "--skip-tests=false",
            "-a",
            "x/v1,y/v1",
            "--api-versions",
            "z/v1",
            "--kube-version=1.29",
            "--debug",
            "-s",
            "templates/a.yaml",
        ])
        .expect("parses");
        assert_eq!(a.release_name.as_deref(), Some("rel"));
        assert_eq!(a.chart.as_deref(), Some("./chart"));
        assert_eq!(a.namespace.as_deref(), Some("prod"));
        assert_eq!(a.values_files, vec!["a.yaml", "b.yaml", "c.yaml"]);
        assert_eq!(a.set, vec!["a=1,b=2"]);
        assert_eq!(a.set_string, vec!["c=3"]);
        assert!(a.include_crds);
        assert!(!a.skip_tests);
        assert_eq!(a.api_versions, vec!["x/v1", "y/v1", "z/v1"]);
        assert_eq!(a.kube_version.as_deref(), Some("1.29"));
        assert_eq!(a.show_only, vec!["templates/a.yaml"]);
    }

    #[test]
    fn one_positional_is_the_chart() {
        let a = TemplateArgs::parse(&["./chart"]).expect("parses");
        assert_eq!(a.release_name, None);
        assert_eq!(a.chart.as_deref(), Some("./chart"));
    }

    #[test]
    fn refusals() {
        assert_eq!(TemplateArgs::parse::<&str>(&[]), Err(ArgsError::NoChart));
        assert_eq!(
            TemplateArgs::parse(&["a", "b", "c"]),
            Err(ArgsError::TooManyArgs)
        );
        assert_eq!(
            TemplateArgs::parse(&["c", "--bogus"]),
            Err(ArgsError::UnknownFlag("--bogus".into()))
        );
        assert_eq!(
            TemplateArgs::parse(&["c", "-x"]),
            Err(ArgsError::UnknownShorthand('x', "-x".into()))
        );
        assert_eq!(
            TemplateArgs::parse(&["c", "--set"]),
            Err(ArgsError::MissingValue("--set".into()))
        );
        assert!(matches!(
            TemplateArgs::parse(&["c", "--include-crds=maybe"]),
            Err(ArgsError::NotBool { .. })
        ));
        let e = TemplateArgs::parse(&["c", "--repo", "https://charts.example.com"])
            .expect_err("refused");
        assert!(e.to_string().contains("--repo is not supported"), "{e}");
    }

    #[test]
    fn slices_split_as_csv() {
        assert_eq!(split_slice("a,b"), vec!["a", "b"]);
        assert_eq!(split_slice("\"a,b\",c"), vec!["a,b", "c"]);
        assert!(split_slice("").is_empty());
    }
}
