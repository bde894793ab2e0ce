//! `ferroflux image setters apply DIR --policy NS:NAME=IMAGE:TAG[@DIGEST]...`:
//! rewrites `$imagepolicy`-marked values in place (or shows a unified diff
//! with `--dry-run`). Diagnostics go to stderr as `FILE:LINE: error: ...`;
//! exit 1 when there are any, 2 on bad arguments.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use ferroflux_setters::policy::PolicySpec;
use ferroflux_setters::{Options, Policies, TreeResult, apply_tree, write_changes};

#[derive(Subcommand)]
pub enum SettersCommand {
    /// Rewrite every value marked `# {"$imagepolicy": "ns:name[:tag|:name|:digest]"}`
    /// under DIR; only the bytes of the value change.
    Apply(ApplyArgs),
}

#[derive(Args)]
pub struct ApplyArgs {
    /// The tree to update (Flux: the checkout joined with `update.path`).
    dir: PathBuf,
    /// A resolved policy, as NS:NAME=IMAGE:TAG[@DIGEST] (repeatable).
    #[arg(long = "policy", value_name = "NS:NAME=IMAGE:TAG[@DIGEST]", value_parser = parse_policy)]
    policies: Vec<PolicySpec>,
    /// Print a unified diff and write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Output::Text)]
    output: Output,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    Text,
    Json,
}

fn parse_policy(spec: &str) -> Result<PolicySpec, String> {
    spec.parse::<PolicySpec>().map_err(|e| e.to_string())
}

pub fn run(cmd: SettersCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        SettersCommand::Apply(args) => apply(args),
    }
}

fn apply(args: ApplyArgs) -> anyhow::Result<ExitCode> {
    let policies: Policies = args.policies.into_iter().collect();
    let result = apply_tree(&args.dir, &policies, &Options::default())
        .with_context(|| format!("cannot update {}", args.dir.display()))?;
    let base = if args.dir.is_dir() {
        args.dir.clone()
    } else {
        args.dir.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    let shown = |rel: &str| base.join(rel).display().to_string();
    let mut out = String::new();
    if !args.dry_run {
        write_changes(&result).context("cannot write the updated files")?;
    }
    match (args.output, args.dry_run) {
        (Output::Json, _) => {
            out = serde_json::to_string_pretty(&result)?;
            out.push('\n');
        }
        (Output::Text, true) => {
            for file in &result.files {
                out.push_str(&diff::unified(
                    &format!("a/{}", file.path),
                    &format!("b/{}", file.path),
                    &String::from_utf8_lossy(&file.original),
                    &String::from_utf8_lossy(&file.updated),
                ));
            }
        }
        (Output::Text, false) => out = change_lines(&result, &shown),
    }
    std::io::stdout().write_all(out.as_bytes())?;
    for d in &result.diagnostics {
        eprintln!("{}:{}: error: {}", shown(&d.path), d.line, d.message);
    }
    Ok(if result.diagnostics.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn change_lines(result: &TreeResult, shown: &dyn Fn(&str) -> String) -> String {
    let mut out = String::new();
    for file in &result.files {
        for c in file.changes() {
            out.push_str(&format!(
                "{}:{}: {} -> {} ({})\n",
                shown(&file.path),
                c.line,
                c.old_value,
                c.new_value,
                c.setter
            ));
        }
    }
    out
}

/// A line diff (Myers) printed in unified format with 3 lines of context.
mod diff {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Op {
        Equal(usize, usize),
        Delete(usize),
        Insert(usize),
    }

    pub fn unified(old_name: &str, new_name: &str, old: &str, new: &str) -> String {
        let a: Vec<&str> = old.split_inclusive('\n').collect();
        let b: Vec<&str> = new.split_inclusive('\n').collect();
        let ops = script(&a, &b);
        let mut out = String::new();
        if ops.iter().all(|op| matches!(op, Op::Equal(..))) {
            return out;
        }
        out.push_str(&format!("--- {old_name}\n+++ {new_name}\n"));
        const CONTEXT: usize = 3;
        let changed: Vec<usize> = (0..ops.len())
            .filter(|&i| !matches!(ops[i], Op::Equal(..)))
            .collect();
        let mut i = 0;
        while i < changed.len() {
            let start = changed[i].saturating_sub(CONTEXT);
            let mut end = changed[i];
            while i < changed.len() && changed[i] <= end + 2 * CONTEXT + 1 {
                end = changed[i];
                i += 1;
            }
            let end = (end + CONTEXT + 1).min(ops.len());
            hunk(&mut out, &ops[start..end], &a, &b);
        }
        out
    }

    fn hunk(out: &mut String, ops: &[Op], a: &[&str], b: &[&str]) {
        let (mut old_start, mut new_start) = (None, None);
        let (mut old_len, mut new_len) = (0, 0);
        let mut body = String::new();
        let mut line = |prefix: char, text: &str| {
            body.push(prefix);
            body.push_str(text);
            if !text.ends_with('\n') {
                body.push_str("\n\\ No newline at end of file\n");
            }
        };
        for op in ops {
            match *op {
                Op::Equal(i, j) => {
                    old_start.get_or_insert(i);
                    new_start.get_or_insert(j);
                    old_len += 1;
                    new_len += 1;
                    line(' ', a[i]);
                }
                Op::Delete(i) => {
                    old_start.get_or_insert(i);
                    old_len += 1;
                    line('-', a[i]);
                }
                Op::Insert(j) => {
                    new_start.get_or_insert(j);
                    new_len += 1;
                    line('+', b[j]);
                }
            }
        }
        let range = |start: Option<usize>, len: usize| match (start, len) {
            (_, 0) => format!("{},0", start.unwrap_or(0)),
            (s, n) => format!("{},{n}", s.unwrap_or(0) + 1),
        };
        out.push_str(&format!(
            "@@ -{} +{} @@\n",
            range(old_start, old_len),
            range(new_start, new_len)
        ));
        out.push_str(&body);
    }

    /// Myers' O((N+M)D) shortest edit script, after trimming the common
    /// prefix and suffix.
    fn script(a: &[&str], b: &[&str]) -> Vec<Op> {
        let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
        let suffix = a[prefix..]
            .iter()
            .rev()
            .zip(b[prefix..].iter().rev())
            .take_while(|(x, y)| x == y)
            .count();
        let (ma, mb) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
        let mut ops: Vec<Op> = (0..prefix).map(|i| Op::Equal(i, i)).collect();
        for op in middle(ma, mb) {
            ops.push(match op {
                Op::Equal(i, j) => Op::Equal(i + prefix, j + prefix),
                Op::Delete(i) => Op::Delete(i + prefix),
                Op::Insert(j) => Op::Insert(j + prefix),
            });
        }
        let (sa, sb) = (a.len() - suffix, b.len() - suffix);
        ops.extend((0..suffix).map(|k| Op::Equal(sa + k, sb + k)));
        ops
    }

    fn middle(a: &[&str], b: &[&str]) -> Vec<Op> {
        let (n, m) = (a.len() as isize, b.len() as isize);
        let max = (n + m) as usize;
        let offset = max as isize + 1;
        let mut v = vec![0isize; 2 * max + 3];
        let mut trace: Vec<Vec<isize>> = Vec::new();
        'outer: for d in 0..=max as isize {
            trace.push(v.clone());
            let mut k = -d;
            while k <= d {
                let idx = (k + offset) as usize;
                let mut x = if k == -d || (k != d && v[idx - 1] < v[idx + 1]) {
                    v[idx + 1]
                } else {
                    v[idx - 1] + 1
                };
                let mut y = x - k;
                while x < n && y < m && a[x as usize] == b[y as usize] {
                    x += 1;
                    y += 1;
                }
                v[idx] = x;
                if x >= n && y >= m {
                    break 'outer;
                }
                k += 2;
            }
        }
        // Backtrack through the saved V arrays (trace[d] is V before step d).
        let mut ops = Vec::new();
        let (mut x, mut y) = (n, m);
        for (d, v) in trace.iter().enumerate().rev() {
            let d = d as isize;
            let k = x - y;
            let at = |k: isize| v[(k + offset) as usize];
            let prev_k = if k == -d || (k != d && at(k - 1) < at(k + 1)) {
                k + 1
            } else {
                k - 1
            };
            let prev_x = at(prev_k);
            let prev_y = prev_x - prev_k;
            while x > prev_x && y > prev_y {
                x -= 1;
                y -= 1;
                ops.push(Op::Equal(x as usize, y as usize));
            }
            if d > 0 {
                if x == prev_x {
                    ops.push(Op::Insert(prev_y as usize));
                } else {
                    ops.push(Op::Delete(prev_x as usize));
                }
            }
            x = prev_x;
            y = prev_y;
        }
        ops.reverse();
        ops
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn apply(a: &[&str], b: &[&str]) -> (Vec<String>, usize) {
            let ops = script(a, b);
            let mut out = Vec::new();
            let mut edits = 0;
            for op in ops {
                match op {
                    Op::Equal(i, j) => {
                        assert_eq!(a[i], b[j]);
                        out.push(a[i].to_string());
                    }
                    Op::Insert(j) => {
                        edits += 1;
                        out.push(b[j].to_string());
                    }
                    Op::Delete(_) => edits += 1,
                }
            }
            (out, edits)
        }

        #[test]
        fn scripts_rebuild_the_new_text_minimally() {
            let cases: &[(&[&str], &[&str], usize)] = &[
                (&["a", "b", "c"], &["a", "x", "c"], 2),
                (&["a", "b", "c"], &["a", "b", "c"], 0),
                (&[], &["a"], 1),
                (&["a"], &[], 1),
                (&["a", "b", "c", "d"], &["b", "c", "d", "e"], 2),
                (&["x", "a", "y", "b"], &["a", "z", "b", "w"], 4),
                (&["a", "b", "a", "b"], &["b", "a", "b", "a"], 2),
            ];
            for (a, b, want) in cases {
                let (out, edits) = apply(a, b);
                assert_eq!(out, b.to_vec(), "{a:?} -> {b:?}");
                assert_eq!(edits, *want, "{a:?} -> {b:?}");
            }
        }

        #[test]
        fn prints_unified_hunks() {
            let old = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n";
            let new = "1\n2\nthree\n4\n5\n6\n7\n8\n9\n10\n11\ntwelve";
            let want = "--- a/f\n+++ b/f\n@@ -1,6 +1,6 @@\n 1\n 2\n-3\n+three\n 4\n 5\n 6\n\
                        @@ -9,4 +9,4 @@\n 9\n 10\n 11\n-12\n+twelve\n\\ No newline at end of file\n";
            assert_eq!(unified("a/f", "b/f", old, new), want);
            assert_eq!(unified("a/f", "b/f", old, old), "");
        }
    }
}
