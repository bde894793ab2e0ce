//! `ferroflux image policy test`: choose the latest tag from a list exactly as
//! Flux's ImagePolicy would, and with `--explain` say why for every tag.
//! Exit 0 when a tag is chosen, 1 when none qualifies, 2 when the policy
//! itself is invalid (or the arguments/files are).

use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{ArgGroup, Args, Subcommand, ValueEnum};
use ferroflux_api::image::{ImagePolicySpec, SortOrder};
use ferroflux_api::manifest::{self, Object};
use ferroflux_policy::{Choice, Error, Explanation, Policy, TagFilter};
use serde_json::json;

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Choose the latest tag from a tag list, as Flux's ImagePolicy does.
    Test(TestArgs),
}

#[derive(Args)]
#[command(group(ArgGroup::new("choice").required(true).args(["policy", "semver", "alphabetical", "numerical"])))]
#[command(group(ArgGroup::new("source").required(true).args(["tags", "tags_file"])))]
pub struct TestArgs {
    /// An ImagePolicy manifest (image.toolkit.fluxcd.io v1, v1beta2 or v1beta1).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["pattern", "extract"])]
    policy: Option<PathBuf>,
    /// A Masterminds semver range, e.g. ">=1.0.0 <2.0.0".
    #[arg(long, value_name = "RANGE")]
    semver: Option<String>,
    /// Alphabetical order: asc (greatest string) or desc (smallest).
    #[arg(long, value_name = "asc|desc")]
    alphabetical: Option<String>,
    /// Numerical order: asc (largest number) or desc (smallest).
    #[arg(long, value_name = "asc|desc")]
    numerical: Option<String>,
    /// filterTags.pattern: a Go RE2 regex matched anywhere in the tag.
    #[arg(long, value_name = "RE")]
    pattern: Option<String>,
    /// filterTags.extract: `$1`, `$name`, `${name}` from the pattern's match.
    #[arg(long, value_name = "EXPR", requires = "pattern")]
    extract: Option<String>,
    /// The tags, comma-separated.
    #[arg(long, value_name = "TAG,...")]
    tags: Option<String>,
    /// A file with one tag per line (`-` for stdin).
    #[arg(long, value_name = "FILE|-")]
    tags_file: Option<PathBuf>,
    /// Print one row per tag: matched?, extracted, parsed as, in range, verdict.
    #[arg(long)]
    explain: bool,
    /// Output format (json always includes every tag's verdict).
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Output::Text)]
    output: Output,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    Text,
    Json,
}

pub fn run(cmd: PolicyCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PolicyCommand::Test(args) => test(args),
    }
}

fn test(args: TestArgs) -> anyhow::Result<ExitCode> {
    let tags = read_tags(&args)?;
    let (name, built) = match &args.policy {
        Some(file) => policy_from_file(file)?,
        None => ("inline policy".to_owned(), inline_policy(&args)),
    };
    let policy = match built {
        Ok(p) => p,
        Err(e) => {
            if args.output == Output::Json {
                println!(
                    "{}",
                    json!({"latest": null, "error": format!("{name}: {e}"), "tags": []})
                );
            }
            eprintln!("error: {name}: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let explanation = policy.explain(&tags);
    match args.output {
        Output::Json => println!("{}", to_json(&explanation, &name)),
        Output::Text if args.explain => print!("{}", table(&explanation)),
        Output::Text => {
            if let Some(latest) = &explanation.latest {
                println!("{latest}");
            }
        }
    }
    Ok(match &explanation.error {
        None => ExitCode::SUCCESS,
        Some(e) => {
            eprintln!("error: {name}: {e}");
            ExitCode::from(if e.is_invalid_policy() { 2 } else { 1 })
        }
    })
}

fn read_tags(args: &TestArgs) -> anyhow::Result<Vec<String>> {
    if let Some(list) = &args.tags {
        return Ok(list
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect());
    }
    let Some(file) = &args.tags_file else {
        bail!("give --tags or --tags-file");
    };
    let mut text = String::new();
    if file == Path::new("-") {
        std::io::stdin()
            .lock()
            .read_to_string(&mut text)
            .context("cannot read tags from stdin")?;
    } else {
        let f = std::fs::File::open(file)
            .with_context(|| format!("cannot read tags file {}", file.display()))?;
        for line in std::io::BufReader::new(f).lines() {
            let line = line.with_context(|| format!("cannot read {}", file.display()))?;
            text.push_str(&line);
            text.push('\n');
        }
    }
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect())
}

fn inline_policy(args: &TestArgs) -> Result<Policy, Error> {
    let choice = Choice::from_spec(
        args.semver.as_deref(),
        args.alphabetical.as_deref(),
        args.numerical.as_deref(),
    )?;
    let filter = args.pattern.as_ref().map(|pattern| TagFilter {
        pattern: pattern.clone(),
        extract: args.extract.clone().unwrap_or_default(),
    });
    Policy::new(choice, filter)
}

/// The ImagePolicy in `file` (any served version; the loader converts it).
fn policy_from_file(file: &Path) -> anyhow::Result<(String, Result<Policy, Error>)> {
    let loaded = manifest::load_file(file);
    for finding in &loaded.findings {
        eprintln!("{finding}");
    }
    if loaded.has_errors() {
        bail!("{} has errors", file.display());
    }
    let mut found = loaded.manifests.iter().filter_map(|m| match &m.object {
        Object::ImagePolicy(p) => Some((m.display_name(), &p.spec)),
        _ => None,
    });
    let Some((name, spec)) = found.next() else {
        bail!("{}: no ImagePolicy found", file.display());
    };
    if found.next().is_some() {
        bail!(
            "{}: more than one ImagePolicy; give a file with one",
            file.display()
        );
    }
    Ok((name, policy_from_spec(spec)))
}

fn policy_from_spec(spec: &ImagePolicySpec) -> Result<Policy, Error> {
    let order = |o: SortOrder| match o {
        SortOrder::Asc => "asc",
        SortOrder::Desc => "desc",
    };
    let choice = Choice::from_spec(
        spec.policy.semver.as_ref().map(|s| s.range.as_str()),
        spec.policy.alphabetical.as_ref().map(|a| order(a.order)),
        spec.policy.numerical.as_ref().map(|n| order(n.order)),
    )?;
    let filter = spec.filter_tags.as_ref().map(|f| TagFilter {
        pattern: f.pattern.clone(),
        extract: f.extract.clone(),
    });
    Policy::new(choice, filter)
}

fn to_json(e: &Explanation, name: &str) -> serde_json::Value {
    json!({
        "latest": e.latest,
        "error": e.error.as_ref().map(|err| format!("{name}: {err}")),
        "tags": e.rows.iter().map(|r| json!({
            "tag": r.tag,
            "extracted": r.extracted,
            "verdict": r.verdict.as_str(),
            "reason": r.reason,
        })).collect::<Vec<_>>(),
    })
}

fn yes_no(v: Option<bool>) -> String {
    match v {
        Some(true) => "yes".to_owned(),
        Some(false) => "no".to_owned(),
        None => "-".to_owned(),
    }
}

/// The `--explain` table: aligned columns, columns with nothing to say
/// (no filter, no range) left out, then the outcome.
fn table(e: &Explanation) -> String {
    let header = [
        "TAG",
        "MATCH",
        "EXTRACTED",
        "PARSED",
        "IN RANGE",
        "VERDICT",
        "REASON",
    ];
    let rows: Vec<[String; 7]> = e
        .rows
        .iter()
        .map(|r| {
            let prefix = format!("{}: ", r.verdict);
            [
                r.tag.clone(),
                yes_no(r.matched),
                r.extracted.clone().unwrap_or_else(|| "-".to_owned()),
                if r.parsed.is_empty() {
                    "-".to_owned()
                } else {
                    r.parsed.clone()
                },
                yes_no(r.in_range),
                r.verdict.to_string(),
                r.reason
                    .strip_prefix(&prefix)
                    .unwrap_or(&r.reason)
                    .to_owned(),
            ]
        })
        .collect();
    let keep: Vec<usize> = (0..header.len())
        .filter(|&c| c == 0 || c >= 5 || rows.iter().any(|r| r[c] != "-"))
        .collect();
    let width = |c: usize| {
        rows.iter()
            .map(|r| r[c].chars().count())
            .chain([header[c].len()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..header.len()).map(width).collect();
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let mut l = String::new();
        for (i, &c) in keep.iter().enumerate() {
            let cell = cells[c];
            if i + 1 == keep.len() {
                l.push_str(cell);
            } else {
                l.push_str(cell);
                l.push_str(&" ".repeat(widths[c] - cell.chars().count() + 2));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&header);
    for r in &rows {
        let cells: Vec<&str> = r.iter().map(String::as_str).collect();
        line(&cells);
    }
    match (&e.latest, &e.error) {
        (Some(latest), _) => out.push_str(&format!("latest: {latest}\n")),
        (None, Some(err)) => out.push_str(&format!("latest: none ({err})\n")),
        (None, None) => out.push_str("latest: none\n"),
    }
    out
}
