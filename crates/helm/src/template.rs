//! `helm template [NAME] CHART [flags]` end to end: the chart and the
//! values files read through a [`FileSystem`], then [`render`] and
//! [`output::print`], in the order Helm checks things (values before the
//! chart, the chart's type and dependencies before the release name).

use std::path::{Path, PathBuf};

use ferroflux_kustomize::fs::FileSystem;

use crate::args::TemplateArgs;
use crate::render::{self, Error, PrintOptions, RenderOptions, output};

/// Runs `helm template` as Helm v4.2.4 does and returns what it prints
/// to stdout.
pub fn template(fs: &dyn FileSystem, args: &TemplateArgs) -> Result<String, Error> {
    let resolve = |p: &str| -> PathBuf {
        let path = Path::new(p);
        match &args.base_dir {
            Some(base) if path.is_relative() => base.join(path),
            _ => path.to_path_buf(),
        }
    };
    let chart_arg = args.chart.as_deref().unwrap_or_default();
    let chart_path = resolve(chart_arg);
    if !fs.is_dir(&chart_path) && !fs.is_file(&chart_path) {
        return Err(Error::new(format!("path {chart_arg:?} not found")));
    }
    let kube_version = match &args.kube_version {
        Some(v) => Some(
            crate::funcs::parse_kube_version(v)
                .map_err(|e| Error::new(format!("invalid kube version '{v}': {e}")))?,
        ),
        None => None,
    };
    let values = user_values(fs, args, &resolve)?;
    if fs.is_dir(&chart_path) && !fs.is_file(&chart_path.join("Chart.yaml")) {
        let file = chart_path.join("Chart.yaml");
        return Err(Error::new(format!(
            "unable to detect chart at {}: open {}: no such file or directory",
            file.display(),
            file.display()
        )));
    }
    let chart = if fs.is_dir(&chart_path) {
        crate::chart::load_dir(fs, &chart_path).map_err(|e| Error::new(e.to_string()))?
    } else {
        let bytes = fs
            .read(&chart_path)
            .map_err(|e| Error::new(e.to_string()))?;
        load_chart_file(&chart_path.display().to_string(), &bytes)?
    };
    let release_name = match (&args.release_name, &args.name_template) {
        (Some(name), _) => name.clone(),
        (None, Some(t)) => name_template(t)?,
        (None, None) => "release-name".to_string(),
    };
    let opts = RenderOptions {
        release_name,
        namespace: args
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_string()),
        is_upgrade: args.is_upgrade,
        kube_version: kube_version.map(|_| args.kube_version.clone().unwrap_or_default()),
        api_versions: args.api_versions.clone(),
        skip_schema_validation: args.skip_schema_validation,
        include_crds: args.include_crds,
        now: args.now.clone(),
        seed: args.seed,
        ..RenderOptions::default()
    };
    let release = render::render_on_big_stack(chart, values, opts)?;
    let print = PrintOptions {
        no_hooks: args.no_hooks,
        skip_tests: args.skip_tests,
        show_only: args.show_only.clone(),
        hide_secret: args.hide_secret,
    };
    output::print_release(&release, &print).map_err(Error::new)
}

/// The values of `-f`, `--set*` merged in Helm's fixed order.
fn user_values(
    fs: &dyn FileSystem,
    args: &TemplateArgs,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
    let read = |p: &str| -> Result<String, Error> {
        if p == "-" {
            return Ok(args.stdin.clone().unwrap_or_default());
        }
        let bytes = fs
            .read(&resolve(p))
            .map_err(|e| Error::new(e.to_string()))?;
        String::from_utf8(bytes).map_err(|_| Error::new(format!("{p}: not UTF-8 text")))
    };
    let mut files = Vec::new();
    for f in &args.values_files {
        files.push((f.clone(), read(f)?));
    }
    let sources = crate::values::Options {
        values_files: files,
        set: args.set.clone(),
        set_string: args.set_string.clone(),
        set_file: args.set_file.clone(),
        set_json: args.set_json.clone(),
        set_literal: args.set_literal.clone(),
    };
    sources
        .merge(&mut |p: &str| read(p).map_err(|e| e.message))
        .map_err(|e| Error::new(e.to_string()))
}

/// `--name-template`: Go's text/template with sprig's functions, run
/// without data (Helm's `NameAndChart`).
fn name_template(text: &str) -> Result<String, Error> {
    let mut set = ferroflux_template::Set::new(
        "name-template",
        ferroflux_template::FuncMap::helm(),
        ferroflux_template::Options::FLUX,
    );
    set.parse("name-template", text)
        .map_err(|e| Error::new(e.to_string()))?;
    set.execute("name-template", &ferroflux_template::Value::Nil)
        .map_err(|e| Error::new(e.to_string()))
}

/// Helm's `loader.LoadFile` for a packaged chart: the gzip sniff of
/// `EnsureArchive` (with `http.DetectContentType`'s answer), then the
/// archive, then Chart.yaml's `apiVersion`.
fn load_chart_file(name: &str, bytes: &[u8]) -> Result<crate::chart::Chart, Error> {
    crate::chart::ensure_archive(name, bytes).map_err(|e| Error::new(e.to_string()))?;
    let files = crate::chart::archive::load_archive_files(bytes).map_err(|e| {
        if e.starts_with("gzip: invalid header") {
            Error::new(format!(
                "file '{name}' does not appear to be a valid chart file (details: {e})"
            ))
        } else {
            Error::new(format!("unable to load chart archive ({e})"))
        }
    })?;
    if !files.iter().any(|f| f.name == "Chart.yaml") {
        return Err(Error::new(
            "unable to detect chart version, no Chart.yaml found",
        ));
    }
    crate::chart::load_unpacked(files).map_err(|e| Error::new(e.to_string()))
}
