//! `ferroflux get image repository|policy|update`, `get sources git|helm|chart`,
//! `get kustomizations` and `get all`: the objects in the cluster (when one
//! is configured and `--state` is not given) or the status that `ferroflux
//! automate` stored, printed as `flux get ...` prints them (upper-case
//! headers, columns padded like Go's tabwriter, no borders; flux 2.9's
//! messages and exit codes).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use ferroflux_api::helm::{HelmRelease, HelmReleaseSpec, HelmReleaseStatus};
use ferroflux_api::image::{
    ImagePolicy, ImagePolicySpec, ImagePolicyStatus, ImageRepository, ImageRepositorySpec,
    ImageRepositoryStatus, ImageUpdateAutomation, ImageUpdateAutomationSpec,
    ImageUpdateAutomationStatus,
};
use ferroflux_api::kustomize::{Kustomization, KustomizationSpec, KustomizationStatus};
use ferroflux_api::meta::{Condition, condition};
use ferroflux_api::source::{
    Artifact, GitRepository, GitRepositorySpec, HelmChart, HelmChartSpec, HelmChartStatus,
    HelmRepository, HelmRepositorySpec, HelmRepositoryType, OCIRepository, OCIRepositorySpec,
    SourceStatus,
};
use ferroflux_runtime::StatusStore;
use ferroflux_runtime::state::Stored;
use kube::Client;

use crate::cluster::{self, FluxObject};

#[derive(Subcommand)]
pub enum GetCommand {
    /// Image automation objects.
    #[command(subcommand, alias = "images")]
    Image(GetImageCommand),
    /// Sources.
    #[command(subcommand, alias = "source")]
    Sources(GetSourceCommand),
    /// Kustomization status (REVISION: the last applied revision).
    #[command(alias = "ks", alias = "kustomization")]
    Kustomizations(GetKsArgs),
    /// HelmRelease status (REVISION: the chart version last attempted).
    #[command(alias = "hr", alias = "helmrelease")]
    Helmreleases(GetArgs),
    /// Every kind, one table each: sources, image objects, Kustomizations.
    All(GetArgs),
}

#[derive(Subcommand)]
pub enum GetImageCommand {
    /// ImageRepository status (LAST SCAN).
    #[command(alias = "repositories")]
    Repository(GetArgs),
    /// ImagePolicy status (IMAGE and TAG chosen).
    #[command(alias = "policies")]
    Policy(GetArgs),
    /// ImageUpdateAutomation status (LAST RUN).
    #[command(alias = "update-auto")]
    Update(GetArgs),
}

#[derive(Subcommand)]
pub enum GetSourceCommand {
    /// GitRepository status (REVISION: the artifact's revision).
    Git(GetArgs),
    /// HelmRepository status (REVISION: the index artifact's revision).
    Helm(GetArgs),
    /// HelmChart status (REVISION: the chart version stored).
    Chart(GetArgs),
    /// OCIRepository status (REVISION: `<tag>@sha256:<digest>`).
    Oci(GetArgs),
}

#[derive(Args, Clone, Debug)]
pub struct GetArgs {
    /// Only the object of this name.
    name: Option<String>,
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
    /// Only objects whose condition has this status: `ready=false`, `ready!=true`.
    #[arg(long, value_name = "TYPE=STATUS")]
    status_selector: Option<String>,
    /// Skip the header.
    #[arg(long)]
    no_header: bool,
    #[command(flatten)]
    connect: cluster::ConnectArgs,
}

#[derive(Args, Clone, Debug)]
pub struct GetKsArgs {
    #[command(flatten)]
    common: GetArgs,
    /// Show the source reference of each Kustomization (SOURCE column).
    #[arg(long)]
    show_source: bool,
}

/// Where the objects come from.
enum Origin {
    Cluster(Client),
    State(PathBuf),
}

/// How a `get` ends other than with a table.
enum Fail {
    /// Flux's `✗ message`, exit 1.
    Said(String),
    Cluster(cluster::Error),
    /// Bad input or an unreadable state database (exit 2).
    Usage(anyhow::Error),
}

impl From<cluster::Error> for Fail {
    fn from(e: cluster::Error) -> Fail {
        Fail::Cluster(e)
    }
}

impl From<anyhow::Error> for Fail {
    fn from(e: anyhow::Error) -> Fail {
        Fail::Usage(e)
    }
}

/// What the table shows beyond the arguments every kind shares.
#[derive(Clone, Copy, Default)]
struct Columns {
    show_source: bool,
    /// `get all`: names as `kind/name`, kinds without objects left out.
    all: bool,
}

pub fn run(cmd: GetCommand) -> anyhow::Result<ExitCode> {
    let (args, columns) = match &cmd {
        GetCommand::Image(
            GetImageCommand::Repository(a)
            | GetImageCommand::Policy(a)
            | GetImageCommand::Update(a),
        )
        | GetCommand::Sources(
            GetSourceCommand::Git(a)
            | GetSourceCommand::Helm(a)
            | GetSourceCommand::Chart(a)
            | GetSourceCommand::Oci(a),
        ) => (a, Columns::default()),
        GetCommand::Helmreleases(a) => (a, Columns::default()),
        GetCommand::Kustomizations(k) => (
            &k.common,
            Columns {
                show_source: k.show_source,
                all: false,
            },
        ),
        GetCommand::All(a) => (
            a,
            Columns {
                show_source: false,
                all: true,
            },
        ),
    };
    let result = cluster::block_on(async {
        let origin = origin(args).await?;
        match &cmd {
            GetCommand::Image(GetImageCommand::Repository(_)) => {
                print_kind::<ImageRepository>(&origin, args, columns).await
            }
            GetCommand::Image(GetImageCommand::Policy(_)) => {
                print_kind::<ImagePolicy>(&origin, args, columns).await
            }
            GetCommand::Image(GetImageCommand::Update(_)) => {
                print_kind::<ImageUpdateAutomation>(&origin, args, columns).await
            }
            GetCommand::Sources(GetSourceCommand::Git(_)) => {
                print_kind::<GitRepository>(&origin, args, columns).await
            }
            GetCommand::Sources(GetSourceCommand::Helm(_)) => {
                print_kind::<HelmRepository>(&origin, args, columns).await
            }
            GetCommand::Sources(GetSourceCommand::Chart(_)) => {
                print_kind::<HelmChart>(&origin, args, columns).await
            }
            GetCommand::Sources(GetSourceCommand::Oci(_)) => {
                print_kind::<OCIRepository>(&origin, args, columns).await
            }
            GetCommand::Kustomizations(_) => {
                print_kind::<Kustomization>(&origin, args, columns).await
            }
            GetCommand::Helmreleases(_) => print_kind::<HelmRelease>(&origin, args, columns).await,
            GetCommand::All(_) => {
                // Flux's order: sources, image objects, then the others;
                // a kind that fails is reported and the next one listed.
                let tables = [
                    print_kind::<GitRepository>(&origin, args, columns).await,
                    print_kind::<OCIRepository>(&origin, args, columns).await,
                    print_kind::<HelmRepository>(&origin, args, columns).await,
                    print_kind::<HelmChart>(&origin, args, columns).await,
                    print_kind::<ImageRepository>(&origin, args, columns).await,
                    print_kind::<ImagePolicy>(&origin, args, columns).await,
                    print_kind::<ImageUpdateAutomation>(&origin, args, columns).await,
                    print_kind::<Kustomization>(&origin, args, columns).await,
                    print_kind::<HelmRelease>(&origin, args, columns).await,
                ];
                for t in tables {
                    match t {
                        Ok(()) => {}
                        Err(Fail::Usage(e)) => return Err(Fail::Usage(e)),
                        Err(Fail::Said(m)) => cluster::failure(&m),
                        Err(Fail::Cluster(e)) => cluster::failure(&e.to_string()),
                    }
                }
                Ok(())
            }
        }
    })?;
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(Fail::Usage(e)) => Err(e),
        Err(Fail::Cluster(e)) => cluster::finish(Err(e)),
        Err(Fail::Said(m)) => {
            cluster::failure(&m);
            Ok(ExitCode::from(1))
        }
    }
}

/// The cluster when one is configured and `--state` is not given, else the
/// state database.
async fn origin(args: &GetArgs) -> Result<Origin, Fail> {
    // A bad selector fails before anything is read, as in flux.
    if let Some(s) = &args.status_selector {
        StatusSelector::parse(s).map_err(Fail::Said)?;
    }
    if args.state.is_none() && cluster::detect(&args.connect, &cluster::Env::from_process()).is_ok()
    {
        return Ok(Origin::Cluster(cluster::connect(&args.connect).await?));
    }
    let path = args
        .state
        .clone()
        .unwrap_or_else(crate::automate::default_state_path);
    if !path.is_file() {
        return Err(Fail::Usage(anyhow::anyhow!(
            "no state database at {}: run `ferroflux automate` first or pass --state",
            path.display()
        )));
    }
    Ok(Origin::State(path))
}

/// One object as the table needs it, from the cluster or the state file.
pub struct Item<S, T> {
    pub name: String,
    pub namespace: String,
    pub spec: Option<S>,
    pub status: T,
}

/// A kind `get` prints: its columns after NAME.
trait Listed: FluxObject {
    fn headers(columns: Columns) -> Vec<&'static str>;
    fn cells(item: &Item<Self::Spec, Self::Status>, columns: Columns) -> Vec<String>;
}

/// `get` of one kind: the table on stdout, or flux's message when nothing
/// matched (nothing at all under `get all`).
async fn print_kind<K: Listed>(
    origin: &Origin,
    args: &GetArgs,
    columns: Columns,
) -> Result<(), Fail> {
    let kind = cluster::kind::<K>();
    let Some(mut items) = items::<K>(origin, args).await? else {
        // The cluster does not serve the kind: silent under `get all`.
        if columns.all {
            return Ok(());
        }
        return Err(Fail::Said(format!(
            "no matches for kind {kind:?} in version {:?}",
            K::api_version(&())
        )));
    };
    if let Some(name) = &args.name {
        items.retain(|i| &i.name == name);
    }
    let scope = if args.all_namespaces {
        "any".to_string()
    } else {
        format!("{:?}", args.namespace)
    };
    if items.is_empty() {
        return match (&args.name, columns.all) {
            (Some(name), _) => Err(Fail::Said(format!(
                "{kind} object '{name}' not found in {scope} namespace"
            ))),
            (None, false) => Err(Fail::Said(format!(
                "no {kind} objects found in {scope} namespace"
            ))),
            (None, true) => Ok(()),
        };
    }
    let selector = match &args.status_selector {
        Some(s) => Some(StatusSelector::parse(s).map_err(Fail::Said)?),
        None => None,
    };
    let lower = kind.to_lowercase();
    let rows: Vec<Row> = items
        .iter()
        .filter(|i| {
            selector
                .as_ref()
                .is_none_or(|s| s.matches(K::status_conditions(&i.status)))
        })
        .map(|i| {
            let name = if columns.all {
                format!("{lower}/{}", i.name)
            } else {
                i.name.clone()
            };
            let mut cells = vec![name];
            cells.extend(K::cells(i, columns));
            (i.namespace.clone(), cells)
        })
        .collect();
    if columns.all && rows.is_empty() {
        return Ok(());
    }
    let mut headers = vec!["NAME"];
    headers.extend(K::headers(columns));
    let headers = (!args.no_header).then_some(headers.as_slice());
    print!("{}", render(headers, &rows, args.all_namespaces));
    if columns.all {
        println!();
    }
    Ok(())
}

/// The objects of kind K in the namespace (or all), sorted by namespace and
/// name; `None` under `get all` when the cluster does not serve the kind.
async fn items<K: Listed>(
    origin: &Origin,
    args: &GetArgs,
) -> Result<Option<Vec<Item<K::Spec, K::Status>>>, Fail> {
    match origin {
        Origin::Cluster(client) => {
            let ns = (!args.all_namespaces).then_some(args.namespace.as_str());
            let listed = cluster::list_served::<K>(client, ns).await?;
            Ok(listed.map(|objs| {
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
            }))
        }
        Origin::State(path) => {
            let kind = K::kind(&());
            let stored: Vec<Stored> = read_state(path, &kind)?
                .into_iter()
                .filter(|s| args.all_namespaces || s.namespace == args.namespace)
                .collect();
            Ok(Some(decode_all(&stored)?))
        }
    }
}

/// `--status-selector type=status` or `type!=status`, matched case-blind
/// against the object's condition of that type, as flux does.
struct StatusSelector {
    type_: String,
    status: String,
    negated: bool,
}

impl StatusSelector {
    fn parse(s: &str) -> Result<StatusSelector, String> {
        let (sep, negated) = if s.contains("!=") {
            ("!=", true)
        } else {
            ("=", false)
        };
        match s.split_once(sep) {
            Some((t, st)) => Ok(StatusSelector {
                type_: t.to_string(),
                status: st.to_string(),
                negated,
            }),
            None => Err(format!(
                "expected status selector in type=status or type!=status format, but found: {s}"
            )),
        }
    }

    fn matches(&self, conditions: &[Condition]) -> bool {
        let found = conditions
            .iter()
            .rfind(|c| c.type_.eq_ignore_ascii_case(&self.type_))
            .is_some_and(|c| c.status.eq_ignore_ascii_case(&self.status));
        found != self.negated
    }
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

/// One object's row: its namespace (shown with `-A`) and its cells.
pub type Row = (String, Vec<String>);

/// Ready's status and message; flux's words for an object without one.
fn ready(conditions: &[Condition]) -> (String, String) {
    match conditions.iter().find(|c| c.type_ == condition::READY) {
        Some(c) => (c.status.clone(), c.message.clone()),
        None => ("False".to_string(), "waiting to be reconciled".to_string()),
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

/// Flux's `TruncateHex`: every hexadecimal word of 40 to 128 characters
/// (a SHA-1 to SHA-512 digest, as in `main@sha1:<hex>`) cut to its first 8.
pub fn truncate_hex(s: &str) -> String {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find(word) {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail.find(|c: char| !word(c)).unwrap_or(tail.len());
        let w = &tail[..end];
        let hex = w
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if hex && (40..=128).contains(&w.len()) {
            out.push_str(&w[..8]);
        } else {
            out.push_str(w);
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

impl Listed for ImageRepository {
    fn headers(_: Columns) -> Vec<&'static str> {
        vec!["LAST SCAN", "SUSPENDED", "READY", "MESSAGE"]
    }
    fn cells(i: &Item<ImageRepositorySpec, ImageRepositoryStatus>, _: Columns) -> Vec<String> {
        let (r, m) = ready(&i.status.conditions);
        let last = time(
            i.status
                .last_scan_result
                .as_ref()
                .and_then(|r| r.scan_time.as_ref()),
        );
        let suspend = suspended(i.spec.as_ref().and_then(|s| s.suspend));
        vec![last, suspend, r, m]
    }
}

impl Listed for ImagePolicy {
    fn headers(_: Columns) -> Vec<&'static str> {
        vec!["IMAGE", "TAG", "READY", "MESSAGE"]
    }
    /// Flux 2.9: the chosen image's name and tag in columns of their own.
    fn cells(i: &Item<ImagePolicySpec, ImagePolicyStatus>, _: Columns) -> Vec<String> {
        let (r, m) = ready(&i.status.conditions);
        let (image, tag) = i
            .status
            .latest_ref
            .as_ref()
            .map(|l| (l.name.clone(), l.tag.clone()))
            .unwrap_or_default();
        vec![image, tag, r, m]
    }
}

impl Listed for ImageUpdateAutomation {
    fn headers(_: Columns) -> Vec<&'static str> {
        vec!["LAST RUN", "SUSPENDED", "READY", "MESSAGE"]
    }
    fn cells(
        i: &Item<ImageUpdateAutomationSpec, ImageUpdateAutomationStatus>,
        _: Columns,
    ) -> Vec<String> {
        let (r, m) = ready(&i.status.conditions);
        let last = time(i.status.last_automation_run_time.as_ref());
        let suspend = suspended(i.spec.as_ref().and_then(|s| s.suspend));
        vec![last, suspend, r, m]
    }
}

/// A source's row as `flux get sources` prints it: the artifact's
/// revision and the message with digests shortened.
fn source_row(
    artifact: Option<&Artifact>,
    suspend: Option<bool>,
    (ready, message): (String, String),
) -> Vec<String> {
    let revision = artifact.map_or("", |a| a.revision.as_str());
    vec![
        truncate_hex(revision),
        suspended(suspend),
        ready,
        truncate_hex(&message),
    ]
}

impl Listed for GitRepository {
    fn headers(_: Columns) -> Vec<&'static str> {
        vec!["REVISION", "SUSPENDED", "READY", "MESSAGE"]
    }
    fn cells(i: &Item<GitRepositorySpec, SourceStatus>, _: Columns) -> Vec<String> {
        let suspend = i.spec.as_ref().and_then(|s| s.suspend);
        source_row(
            i.status.artifact.as_ref(),
            suspend,
            ready(&i.status.conditions),
        )
    }
}

impl Listed for OCIRepository {
    fn headers(_: Columns) -> Vec<&'static str> {
        vec!["REVISION", "SUSPENDED", "READY", "MESSAGE"]
    }
    fn cells(i: &Item<OCIRepositorySpec, SourceStatus>, _: Columns) -> Vec<String> {
        let suspend = i.spec.as_ref().and_then(|s| s.suspend);
        source_row(
            i.status.artifact.as_ref(),
            suspend,
            ready(&i.status.conditions),
        )
    }
}

impl Listed for HelmRepository {
    fn headers(_: Columns) -> Vec<&'static str> {
        vec!["REVISION", "SUSPENDED", "READY", "MESSAGE"]
    }
    /// A static (`type: oci`) repository has no status: flux shows it Ready.
    fn cells(i: &Item<HelmRepositorySpec, SourceStatus>, _: Columns) -> Vec<String> {
        let oci = i
            .spec
            .as_ref()
            .is_some_and(|s| s.repo_type == Some(HelmRepositoryType::Oci));
        let (r, m) = if oci {
            (
                "True".to_string(),
                ferroflux_controllers::source::helm_repository::STATIC_MESSAGE.to_string(),
            )
        } else {
            ready(&i.status.conditions)
        };
        let suspend = i.spec.as_ref().and_then(|s| s.suspend);
        source_row(i.status.artifact.as_ref(), suspend, (r, m))
    }
}

impl Listed for HelmChart {
    fn headers(_: Columns) -> Vec<&'static str> {
        vec!["REVISION", "SUSPENDED", "READY", "MESSAGE"]
    }
    fn cells(i: &Item<HelmChartSpec, HelmChartStatus>, _: Columns) -> Vec<String> {
        let suspend = i.spec.as_ref().and_then(|s| s.suspend);
        source_row(
            i.status.artifact.as_ref(),
            suspend,
            ready(&i.status.conditions),
        )
    }
}

impl Listed for HelmRelease {
    fn headers(_: Columns) -> Vec<&'static str> {
        vec!["REVISION", "SUSPENDED", "READY", "MESSAGE"]
    }
    fn cells(i: &Item<HelmReleaseSpec, HelmReleaseStatus>, _: Columns) -> Vec<String> {
        let (r, m) = ready(&i.status.conditions);
        let revision = i.status.last_attempted_revision.as_deref().unwrap_or("");
        let suspend = suspended(i.spec.as_ref().and_then(|s| s.suspend));
        vec![revision.to_string(), suspend, r, m]
    }
}

impl Listed for Kustomization {
    fn headers(columns: Columns) -> Vec<&'static str> {
        let mut h = Vec::new();
        if columns.show_source {
            h.push("SOURCE");
        }
        h.extend(["REVISION", "SUSPENDED", "READY", "MESSAGE"]);
        h
    }
    fn cells(i: &Item<KustomizationSpec, KustomizationStatus>, columns: Columns) -> Vec<String> {
        let (r, m) = ready(&i.status.conditions);
        let mut cells = Vec::new();
        if columns.show_source {
            // Flux: `Kind/namespace/name`, the namespace defaulted.
            cells.push(i.spec.as_ref().map_or(String::new(), |s| {
                let kind = serde_json::to_value(s.source_ref.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                let ns = s.source_ref.namespace.as_deref().unwrap_or(&i.namespace);
                format!("{kind}/{ns}/{}", s.source_ref.name)
            }));
        }
        let revision = i
            .status
            .last_applied_revision
            .as_deref()
            .unwrap_or_default();
        let suspend = suspended(i.spec.as_ref().and_then(|s| s.suspend));
        cells.extend([truncate_hex(revision), suspend, r, truncate_hex(&m)]);
        cells
    }
}

/// Columns padded to the widest cell plus three spaces (kubectl's
/// tabwriter settings); the last column is not padded. A cell of several
/// lines (an event's change set) spans as many table lines, the other
/// cells blank, as flux's table writer prints it.
pub fn table(headers: &[&str], rows: &[Row], namespaces: bool) -> String {
    render(Some(headers), rows, namespaces)
}

/// [`table`], or the rows alone (`--no-header`: widths of the rows only).
pub fn render(headers: Option<&[&str]>, rows: &[Row], namespaces: bool) -> String {
    let mut all: Vec<Vec<String>> = Vec::new();
    if let Some(headers) = headers {
        let mut head: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
        if namespaces {
            head.insert(0, "NAMESPACE".to_string());
        }
        all.push(head);
    }
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
                .flat_map(|c| c.lines())
                .map(|l| l.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &all {
        let cells: Vec<Vec<&str>> = row.iter().map(|c| c.lines().collect()).collect();
        let height = cells.iter().map(Vec::len).max().unwrap_or(0).max(1);
        for k in 0..height {
            let mut line = String::new();
            for (i, cell) in cells.iter().enumerate() {
                let text = cell.get(k).copied().unwrap_or_default();
                line.push_str(text);
                if i + 1 < cells.len() {
                    line.push_str(&" ".repeat(widths[i] - text.chars().count() + 3));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
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

    #[test]
    fn truncate_hex_like_flux() {
        let h40 = "16cfcc0b9066b3234dda29927ac1c19860d9663f";
        let h64 = "c2448c95e262b10f9c1137bf1472f51c04dffca76966ff15eff409d0b300c0b0";
        let cases = [
            (h40.to_string(), "16cfcc0b".to_string()),
            (format!("sha256:{h64}"), "sha256:c2448c95".to_string()),
            (format!("main@sha1:{h40}"), "main@sha1:16cfcc0b".to_string()),
            (format!("HEAD/{h40}"), "HEAD/16cfcc0b".to_string()),
            ("f".repeat(150), "f".repeat(150)),
            ("ffffffffffffff".to_string(), "ffffffffffffff".to_string()),
            (
                format!("stored artifact for revision 'main@sha1:{h40}'"),
                "stored artifact for revision 'main@sha1:16cfcc0b'".to_string(),
            ),
            // Not a word of its own: left alone.
            (format!("x{h40}"), format!("x{h40}")),
            (h40.to_uppercase(), h40.to_uppercase()),
            (String::new(), String::new()),
        ];
        for (input, want) in cases {
            assert_eq!(truncate_hex(&input), want, "{input}");
        }
    }

    #[test]
    fn status_selector_like_flux() {
        let c = |t: &str, s: &str| Condition {
            type_: t.to_string(),
            status: s.to_string(),
            reason: "R".to_string(),
            message: String::new(),
            observed_generation: None,
            last_transition_time: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
            ),
        };
        let ready = [c("Ready", "False")];
        let sel = |s: &str| StatusSelector::parse(s).unwrap();
        assert!(sel("ready=false").matches(&ready));
        assert!(!sel("ready=true").matches(&ready));
        assert!(sel("ready!=true").matches(&ready));
        assert!(!sel("ready!=false").matches(&ready));
        // No such condition: `=` never matches, `!=` always does.
        assert!(!sel("stalled=true").matches(&ready));
        assert!(sel("stalled!=true").matches(&[]));
        let err = StatusSelector::parse("ready").err().unwrap();
        assert_eq!(
            err,
            "expected status selector in type=status or type!=status format, but found: ready"
        );
    }

    #[test]
    fn multi_line_cells_span_lines() {
        let rows = vec![(
            "ns".to_string(),
            vec![
                "2s".to_string(),
                "Deployment/a configured\nService/b created".to_string(),
            ],
        )];
        assert_eq!(
            table(&["LAST SEEN", "MESSAGE"], &rows, false),
            "LAST SEEN   MESSAGE\n2s          Deployment/a configured\n            Service/b created\n"
        );
    }
}
