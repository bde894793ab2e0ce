//! `ferroflux get image repository|policy|update`: the objects in the
//! cluster (when one is configured and `--state` is not given) or the
//! status that `ferroflux automate` stored, printed as `flux get image ...`
//! prints it (upper-case headers, columns padded like Go's tabwriter, no
//! borders).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use ferroflux_api::image::{
    ImagePolicy, ImagePolicySpec, ImagePolicyStatus, ImageRepository, ImageRepositorySpec,
    ImageRepositoryStatus, ImageUpdateAutomation, ImageUpdateAutomationSpec,
    ImageUpdateAutomationStatus,
};
use ferroflux_api::meta::{Condition, condition};
use ferroflux_runtime::StatusStore;
use ferroflux_runtime::state::Stored;

use crate::cluster;

#[derive(Subcommand)]
pub enum GetCommand {
    /// Image automation objects.
    #[command(subcommand, alias = "images")]
    Image(GetImageCommand),
}

#[derive(Subcommand)]
pub enum GetImageCommand {
    /// ImageRepository status (LAST SCAN).
    #[command(alias = "repositories")]
    Repository(GetArgs),
    /// ImagePolicy status (LATEST IMAGE).
    #[command(alias = "policies")]
    Policy(GetArgs),
    /// ImageUpdateAutomation status (LAST RUN).
    #[command(alias = "update-auto")]
    Update(GetArgs),
}

#[derive(Args)]
pub struct GetArgs {
    /// State database written by `ferroflux automate` (default: the cluster when one is
    /// configured, else the local default state).
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Every namespace.
    #[arg(short = 'A', long = "all-namespaces")]
    all_namespaces: bool,
    /// Namespace to list.
    #[arg(short = 'n', long, default_value = "flux-system")]
    namespace: String,
    #[command(flatten)]
    connect: cluster::ConnectArgs,
}

pub fn run(cmd: GetCommand) -> anyhow::Result<ExitCode> {
    let GetCommand::Image(cmd) = cmd;
    let (kind, args) = match &cmd {
        GetImageCommand::Repository(a) => ("ImageRepository", a),
        GetImageCommand::Policy(a) => ("ImagePolicy", a),
        GetImageCommand::Update(a) => ("ImageUpdateAutomation", a),
    };
    let from_cluster = args.state.is_none()
        && cluster::detect(&args.connect, &cluster::Env::from_process()).is_ok();
    let rows = if from_cluster {
        match cluster::block_on(cluster_rows(&cmd, args))? {
            Ok(rows) => rows,
            Err(e) => return cluster::finish(Err(e)),
        }
    } else {
        state_rows(&cmd, args)?
    };
    let (headers, rows) = rows;
    if rows.is_empty() {
        let scope = if args.all_namespaces {
            "any namespace".to_string()
        } else {
            format!("{} namespace", args.namespace)
        };
        eprintln!("no {kind} objects found in {scope}");
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", table(&headers, &rows, args.all_namespaces));
    Ok(ExitCode::SUCCESS)
}

/// One object's row: its namespace (shown with `-A`) and its cells.
pub type Row = (String, Vec<String>);
type Rows = (Vec<&'static str>, Vec<Row>);

/// An object as the table needs it, from the cluster or the state file.
pub struct Item<S, T> {
    pub name: String,
    pub namespace: String,
    pub spec: Option<S>,
    pub status: T,
}

fn state_rows(cmd: &GetImageCommand, args: &GetArgs) -> anyhow::Result<Rows> {
    let kind = match cmd {
        GetImageCommand::Repository(_) => "ImageRepository",
        GetImageCommand::Policy(_) => "ImagePolicy",
        GetImageCommand::Update(_) => "ImageUpdateAutomation",
    };
    let path = args
        .state
        .clone()
        .unwrap_or_else(crate::automate::default_state_path);
    let stored: Vec<Stored> = read_state(&path, kind)?
        .into_iter()
        .filter(|s| args.all_namespaces || s.namespace == args.namespace)
        .collect();
    Ok(match cmd {
        GetImageCommand::Repository(_) => repositories(&decode_all(&stored)?),
        GetImageCommand::Policy(_) => policies(&decode_all(&stored)?),
        GetImageCommand::Update(_) => updates(&decode_all(&stored)?),
    })
}

async fn cluster_rows(cmd: &GetImageCommand, args: &GetArgs) -> Result<Rows, cluster::Error> {
    let client = cluster::connect(&args.connect).await?;
    let ns = (!args.all_namespaces).then_some(args.namespace.as_str());
    Ok(match cmd {
        GetImageCommand::Repository(_) => {
            repositories(&items(cluster::list::<ImageRepository>(&client, ns).await?))
        }
        GetImageCommand::Policy(_) => {
            policies(&items(cluster::list::<ImagePolicy>(&client, ns).await?))
        }
        GetImageCommand::Update(_) => updates(&items(
            cluster::list::<ImageUpdateAutomation>(&client, ns).await?,
        )),
    })
}

fn items<K: cluster::ImageObject>(objs: Vec<K>) -> Vec<Item<K::Spec, K::Status>> {
    objs.into_iter()
        .map(|o| {
            let (name, namespace, spec, status) = o.into_parts();
            Item {
                name,
                namespace,
                spec,
                status,
            }
        })
        .collect()
}

fn decode_all<S, T>(stored: &[Stored]) -> anyhow::Result<Vec<Item<S, T>>>
where
    S: serde::de::DeserializeOwned + Default,
    T: serde::de::DeserializeOwned + Default,
{
    stored
        .iter()
        .map(|s| {
            Ok(Item {
                name: s.name.clone(),
                namespace: s.namespace.clone(),
                spec: s
                    .spec
                    .as_ref()
                    .map(|_| decode(&s.spec, "spec", s))
                    .transpose()?,
                status: decode(&s.status, "status", s)?,
            })
        })
        .collect()
}

/// How often `get` copies a database that changed while it was copied.
const SNAPSHOT_ATTEMPTS: u64 = 20;

/// Open the database read-side; while `automate --watch` holds it, read a
/// snapshot copy (see [`snapshot`]).
fn read_state(path: &Path, kind: &str) -> anyhow::Result<Vec<Stored>> {
    if !path.is_file() {
        anyhow::bail!(
            "no state database at {}: run `ferroflux automate` first or pass --state",
            path.display()
        );
    }
    match StatusStore::open(path) {
        Ok(st) => Ok(st.list(kind)?),
        Err(e) if e.to_string().contains("already open") => {
            let tmp = tempfile::tempdir().context("temporary directory")?;
            let copy = tmp.path().join("state.redb");
            let st = snapshot(path, &copy, |from, to| std::fs::copy(from, to).map(drop))?;
            Ok(st.list(kind)?)
        }
        Err(e) => Err(e).with_context(|| format!("cannot open state {}", path.display())),
    }
}

/// A copy of a database another process writes, taken while it did not
/// change: a commit during the copy (the file's length or mtime moved) or
/// a copy redb cannot open means copying again, a little later. A copy is
/// never read while it may mix two commits.
fn snapshot(
    path: &Path,
    dest: &Path,
    mut copy: impl FnMut(&Path, &Path) -> std::io::Result<()>,
) -> anyhow::Result<StatusStore> {
    let stamp = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| (m.len(), m.modified().ok()))
            .with_context(|| format!("cannot read {}", p.display()))
    };
    let mut last = String::new();
    for attempt in 0..SNAPSHOT_ATTEMPTS {
        if attempt > 0 {
            std::thread::sleep(std::time::Duration::from_millis(5 * attempt));
        }
        let before = stamp(path)?;
        copy(path, dest).with_context(|| format!("cannot copy {}", path.display()))?;
        if stamp(path)? != before {
            last = "it changed while it was copied".to_string();
            continue;
        }
        match StatusStore::open(dest) {
            Ok(st) => return Ok(st),
            Err(e) => last = format!("the copy does not open: {e}"),
        }
    }
    anyhow::bail!(
        "cannot read {} while another process writes it ({last}, {SNAPSHOT_ATTEMPTS} attempts); try again",
        path.display()
    )
}

fn decode<T: serde::de::DeserializeOwned + Default>(
    v: &Option<serde_json::Value>,
    what: &str,
    s: &Stored,
) -> anyhow::Result<T> {
    match v {
        None => Ok(T::default()),
        Some(v) => serde_json::from_value(v.clone())
            .with_context(|| format!("{what} of {}/{} in the state database", s.namespace, s.name)),
    }
}

fn ready(conditions: &[Condition]) -> (String, String) {
    match conditions.iter().find(|c| c.type_ == condition::READY) {
        Some(c) => (c.status.clone(), c.message.clone()),
        None => ("Unknown".to_string(), String::new()),
    }
}

/// metav1.Time as Flux prints it (RFC 3339, seconds, as serialized).
fn time<T: serde::Serialize>(t: Option<&T>) -> String {
    t.and_then(|t| serde_json::to_value(t).ok())
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn suspended(s: Option<bool>) -> String {
    if s == Some(true) { "True" } else { "False" }.to_string()
}

fn repositories(items: &[Item<ImageRepositorySpec, ImageRepositoryStatus>]) -> Rows {
    let rows = items
        .iter()
        .map(|i| {
            let (r, m) = ready(&i.status.conditions);
            let last = time(
                i.status
                    .last_scan_result
                    .as_ref()
                    .and_then(|r| r.scan_time.as_ref()),
            );
            let suspend = suspended(i.spec.as_ref().and_then(|s| s.suspend));
            (
                i.namespace.clone(),
                vec![i.name.clone(), last, suspend, r, m],
            )
        })
        .collect();
    (
        vec!["NAME", "LAST SCAN", "SUSPENDED", "READY", "MESSAGE"],
        rows,
    )
}

fn policies(items: &[Item<ImagePolicySpec, ImagePolicyStatus>]) -> Rows {
    let rows = items
        .iter()
        .map(|i| {
            let (r, m) = ready(&i.status.conditions);
            let latest = i
                .status
                .latest_ref
                .as_ref()
                .map(|l| l.to_string())
                .unwrap_or_default();
            (i.namespace.clone(), vec![i.name.clone(), latest, r, m])
        })
        .collect();
    (vec!["NAME", "LATEST IMAGE", "READY", "MESSAGE"], rows)
}

fn updates(items: &[Item<ImageUpdateAutomationSpec, ImageUpdateAutomationStatus>]) -> Rows {
    let rows = items
        .iter()
        .map(|i| {
            let (r, m) = ready(&i.status.conditions);
            let last = time(i.status.last_automation_run_time.as_ref());
            let suspend = suspended(i.spec.as_ref().and_then(|s| s.suspend));
            (
                i.namespace.clone(),
                vec![i.name.clone(), last, suspend, r, m],
            )
        })
        .collect();
    (
        vec!["NAME", "LAST RUN", "SUSPENDED", "READY", "MESSAGE"],
        rows,
    )
}

/// Columns padded to the widest cell plus three spaces (kubectl's
/// tabwriter settings); the last column is not padded.
pub fn table(headers: &[&str], rows: &[Row], namespaces: bool) -> String {
    let mut all: Vec<Vec<String>> = Vec::new();
    let mut head: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    if namespaces {
        head.insert(0, "NAMESPACE".to_string());
    }
    all.push(head);
    for (namespace, row) in rows {
        let mut row = row.clone();
        if namespaces {
            row.insert(0, namespace.clone());
        }
        all.push(row);
    }
    let cols = all.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|i| {
            all.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &all {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 < row.len() {
                line.push_str(cell);
                line.push_str(&" ".repeat(widths[i] - cell.chars().count() + 3));
            } else {
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use ferroflux_runtime::source::ObjectKey;

    use super::*;

    /// Issue 13 item 10: `get` while `automate --watch` holds the database
    /// and commits to it: every read is a whole, committed state.
    #[test]
    fn reads_a_database_that_is_being_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        let st = StatusStore::open(&path).unwrap();
        let key = ObjectKey::new("ImagePolicy", "ns", "p");
        let status = |n: usize| serde_json::json!({"n": n, "pad": "x".repeat(50_000 + n % 997)});
        st.put_status(&key, &status(0)).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    st.put_status(&key, &status(n)).unwrap();
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                n
            })
        };
        for _ in 0..50 {
            let rows = read_state(&path, "ImagePolicy").unwrap();
            assert_eq!(rows.len(), 1);
            let s = rows[0].status.as_ref().unwrap();
            let n = s["n"].as_u64().unwrap() as usize;
            assert_eq!(s, &status(n));
        }
        stop.store(true, Ordering::Relaxed);
        assert!(writer.join().unwrap() > 0);
    }

    /// A commit during the copy is never read: the copy is taken again.
    #[test]
    fn a_copy_that_overlaps_a_commit_is_taken_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        let st = StatusStore::open(&path).unwrap();
        let key = ObjectKey::new("ImagePolicy", "ns", "p");
        st.put_status(&key, &serde_json::json!({"n": 1})).unwrap();
        let mut copies = 0;
        let snap = snapshot(&path, &dir.path().join("copy.redb"), |from, to| {
            copies += 1;
            std::fs::copy(from, to)?;
            if copies == 1 {
                // `automate --watch` commits while the copy is made.
                std::thread::sleep(std::time::Duration::from_millis(20));
                st.put_status(&key, &serde_json::json!({"n": 2})).unwrap();
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(copies, 2);
        let rows = snap.list("ImagePolicy").unwrap();
        assert_eq!(rows[0].status.as_ref().unwrap()["n"], 2);
    }

    #[test]
    fn a_database_that_never_holds_still_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        let st = StatusStore::open(&path).unwrap();
        let key = ObjectKey::new("ImagePolicy", "ns", "p");
        let mut n = 0;
        let err = snapshot(&path, &dir.path().join("copy.redb"), |from, to| {
            std::fs::copy(from, to)?;
            n += 1;
            std::thread::sleep(std::time::Duration::from_millis(10));
            st.put_status(&key, &serde_json::json!({ "n": n })).unwrap();
            Ok(())
        })
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("it changed while it was copied"), "{err}");
        assert!(err.contains("20 attempts"), "{err}");
    }
}
