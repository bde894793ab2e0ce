//! `ferroflux events [--for Kind[/name]] [-n NS | -A] [--types T] [-w]`: the
//! Kubernetes Events of Flux objects as `flux events` lists them (LAST SEEN,
//! TYPE, REASON, OBJECT, MESSAGE; oldest first). `--for` a Kustomization
//! (or an ImagePolicy, HelmRelease, Alert, HelmChart) also shows the events
//! of the object it references (its source), as flux does.
//!
//! The controller records events.k8s.io/v1 Events (`regarding` the object,
//! `eventTime`, `series` when repeated); the core/v1 view read here has them
//! as `involvedObject`, `eventTime` and `series`, which is what flux reads.

use std::process::ExitCode;

use clap::Args;
use k8s_openapi::api::core::v1::Event;
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use kube::runtime::watcher;

use crate::cluster::{self, ConnectArgs, Error};
use crate::get::{Row, render, table};

#[cfg(test)]
mod tests;

#[derive(Args, Clone, Debug)]
pub struct EventsArgs {
    /// Only the events of this object (`Kind/name`) or kind (`Kind`).
    #[arg(long = "for", value_name = "KIND[/NAME]")]
    for_: Option<String>,
    /// Every namespace.
    #[arg(short = 'A', long = "all-namespaces")]
    all_namespaces: bool,
    /// The namespace of the events.
    #[arg(short = 'n', long, default_value = "flux-system")]
    namespace: String,
    /// Only events of these types (Normal, Warning).
    #[arg(long, value_delimiter = ',')]
    types: Vec<String>,
    /// Print events as they are recorded, until `--timeout`.
    #[arg(short = 'w', long)]
    watch: bool,
    /// How long `--watch` runs (Go duration), as flux's global timeout.
    #[arg(long, default_value = "5m0s")]
    timeout: ferroflux_api::duration::Duration,
    #[command(flatten)]
    connect: ConnectArgs,
}

/// How many events one list request returns (kubectl's chunk size).
const CHUNK: u32 = 500;

/// A Flux kind `--for` accepts, and where its reference to another object
/// lives.
struct FluxKind {
    kind: &'static str,
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    /// The path of the reference (`spec.sourceRef`), if it has one.
    field: &'static [&'static str],
    /// The referenced kind when the reference has no `kind` field.
    ref_kind: Option<&'static str>,
    /// Whether the reference may name another namespace.
    cross_namespace: bool,
}

const fn flux_kind(
    kind: &'static str,
    group: &'static str,
    version: &'static str,
    plural: &'static str,
) -> FluxKind {
    FluxKind {
        kind,
        group,
        version,
        plural,
        field: &[],
        ref_kind: None,
        cross_namespace: false,
    }
}

const SOURCE: &str = "source.toolkit.fluxcd.io";
const IMAGE: &str = "image.toolkit.fluxcd.io";
const NOTIFICATION: &str = "notification.toolkit.fluxcd.io";

/// flux's `fluxKindMap`: the kinds whose events are listed.
const FLUX_KINDS: &[FluxKind] = &[
    FluxKind {
        field: &["spec", "sourceRef"],
        cross_namespace: true,
        ..flux_kind(
            "Kustomization",
            "kustomize.toolkit.fluxcd.io",
            "v1",
            "kustomizations",
        )
    },
    FluxKind {
        field: &["spec", "chart", "spec", "sourceRef"],
        cross_namespace: true,
        ..flux_kind(
            "HelmRelease",
            "helm.toolkit.fluxcd.io",
            "v2",
            "helmreleases",
        )
    },
    FluxKind {
        field: &["spec", "providerRef"],
        ref_kind: Some("Provider"),
        ..flux_kind("Alert", NOTIFICATION, "v1beta3", "alerts")
    },
    flux_kind("Receiver", NOTIFICATION, "v1", "receivers"),
    flux_kind("Provider", NOTIFICATION, "v1beta3", "providers"),
    FluxKind {
        field: &["spec", "imageRepositoryRef"],
        ref_kind: Some("ImageRepository"),
        cross_namespace: true,
        ..flux_kind("ImagePolicy", IMAGE, "v1", "imagepolicies")
    },
    FluxKind {
        field: &["spec", "sourceRef"],
        cross_namespace: true,
        ..flux_kind("HelmChart", SOURCE, "v1", "helmcharts")
    },
    flux_kind("GitRepository", SOURCE, "v1", "gitrepositories"),
    flux_kind("OCIRepository", SOURCE, "v1", "ocirepositories"),
    flux_kind("Bucket", SOURCE, "v1", "buckets"),
    flux_kind("HelmRepository", SOURCE, "v1", "helmrepositories"),
    flux_kind(
        "ImageUpdateAutomation",
        IMAGE,
        "v1",
        "imageupdateautomations",
    ),
    flux_kind("ImageRepository", IMAGE, "v1", "imagerepositories"),
    flux_kind(
        "ArtifactGenerator",
        "source.extensions.fluxcd.io",
        "v1beta1",
        "artifactgenerators",
    ),
];

/// The Flux kind of this name, compared case-blind as flux does.
fn flux_kind_of(kind: &str) -> Option<&'static FluxKind> {
    FLUX_KINDS
        .iter()
        .find(|k| k.kind.eq_ignore_ascii_case(kind))
}

/// One query: events in a namespace (all for `None`) with a field selector.
#[derive(Clone, Debug, PartialEq)]
struct Query {
    namespace: Option<String>,
    fields: Option<String>,
}

fn field_selector(kind: &str, name: Option<&str>) -> String {
    match name {
        Some(n) => format!("involvedObject.kind={kind},involvedObject.name={n}"),
        None => format!("involvedObject.kind={kind}"),
    }
}

/// `--for`'s `Kind[/name]`: the kind first, as flux reads it.
fn parse_for(selector: &str) -> Result<(&str, Option<&str>), String> {
    let (kind, name) = match selector.split_once('/') {
        Some((k, n)) => (k, Some(n).filter(|n| !n.is_empty())),
        None => (selector, None),
    };
    if kind.is_empty() {
        return Err("--for selector must be of format <kind>[/<name>]".to_string());
    }
    Ok((kind, name))
}

const HEADERS: [&str; 5] = ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"];

pub fn run(args: EventsArgs) -> anyhow::Result<ExitCode> {
    for t in &args.types {
        if !t.eq_ignore_ascii_case("Normal") && !t.eq_ignore_ascii_case("Warning") {
            cluster::failure(&format!(
                "type '{t}' not supported. Supported types are Normal, Warning"
            ));
            return Ok(ExitCode::from(1));
        }
    }
    let result = cluster::block_on(async {
        let (client, queries, show_ns) = plan(&args).await?;
        if args.watch {
            // Flux watches until its timeout and then ends without error.
            tokio::time::timeout(
                args.timeout.to_std(),
                watch(&client, &queries, show_ns, &args.types),
            )
            .await
            .unwrap_or(Ok(()))?;
            return Ok(None);
        }
        events(&client, &queries, &args.types)
            .await
            .map(|rows| Some((rows, show_ns)))
    })?;
    match result {
        Ok(None) => Ok(ExitCode::SUCCESS),
        Ok(Some((rows, show_ns))) if !rows.is_empty() => {
            print!("{}", table(&HEADERS, &rows, show_ns));
            Ok(ExitCode::SUCCESS)
        }
        Ok(Some(_)) => {
            if args.all_namespaces {
                cluster::failure("No events found.");
            } else {
                cluster::failure(&format!("No events found in {} namespace.", args.namespace));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => cluster::finish(Err(e)),
    }
}

/// The queries `--for` and the namespace ask for, and whether the rows
/// show a namespace column (all namespaces, or a referenced object in
/// another one).
async fn plan(args: &EventsArgs) -> Result<(Client, Vec<Query>, bool), Error> {
    let namespace = (!args.all_namespaces).then(|| args.namespace.clone());
    let mut queries = vec![Query {
        namespace: namespace.clone(),
        fields: None,
    }];
    let mut refs = Vec::new();
    let client = if let Some(sel) = &args.for_ {
        let (kind, name) = parse_for(sel).map_err(Error::Said)?;
        let fk = flux_kind_of(kind)
            .ok_or_else(|| Error::Said(format!("'{kind}' is not a recognized Flux kind")))?;
        queries[0].fields = Some(field_selector(fk.kind, name));
        let client = cluster::connect(&args.connect).await?;
        if let Some(name) = name {
            refs = references(&client, fk, name, &args.namespace).await?;
        }
        client
    } else {
        cluster::connect(&args.connect).await?
    };
    let mut show_ns = namespace.is_none();
    for (kind, name, ns) in &refs {
        if Some(ns) != namespace.as_ref() {
            show_ns = true;
        }
        queries.push(Query {
            namespace: Some(ns.clone()),
            fields: Some(field_selector(kind, Some(name))),
        });
    }
    Ok((client, queries, show_ns))
}

/// The rows of every query's events, oldest first.
async fn events(client: &Client, queries: &[Query], types: &[String]) -> Result<Vec<Row>, Error> {
    let mut all = Vec::new();
    for q in queries {
        all.extend(list(client, q).await?);
    }
    all.sort_by_key(sort_time);
    let now = Timestamp::now();
    Ok(all
        .iter()
        .filter(|e| keep(e, types))
        .map(|e| row(e, now))
        .collect())
}

/// `--watch`: the events there are, then each one recorded or updated, as
/// they come; each line a table of its own as flux prints them (the header
/// before the first).
async fn watch(
    client: &Client,
    queries: &[Query],
    show_ns: bool,
    types: &[String],
) -> Result<(), Error> {
    use futures_util::StreamExt as _;
    use std::io::Write as _;
    let streams = queries.iter().map(|q| {
        let api: Api<Event> = match &q.namespace {
            Some(ns) => Api::namespaced(client.clone(), ns),
            None => Api::all(client.clone()),
        };
        let mut config = watcher::Config::default();
        if let Some(f) = &q.fields {
            config = config.fields(f);
        }
        watcher::watcher(api, config).boxed()
    });
    let mut all = futures_util::stream::select_all(streams);
    let mut first = true;
    while let Some(ev) = all.next().await {
        let e = match ev {
            Ok(watcher::Event::Apply(e) | watcher::Event::InitApply(e)) => e,
            Ok(_) => continue,
            Err(err) => return Err(Error::Said(format!("error watching events: {err}"))),
        };
        if !keep(&e, types) {
            continue;
        }
        let headers = first.then_some(&HEADERS[..]);
        first = false;
        let line = render(headers, &[row(&e, Timestamp::now())], show_ns);
        let mut out = std::io::stdout().lock();
        // A closed pipe ends the watch.
        if out
            .write_all(line.as_bytes())
            .and_then(|()| out.flush())
            .is_err()
        {
            return Ok(());
        }
    }
    Ok(())
}

/// Every event the query selects, page by page.
async fn list(client: &Client, q: &Query) -> Result<Vec<Event>, Error> {
    let api: Api<Event> = match &q.namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let mut params = ListParams::default().limit(CHUNK);
    if let Some(f) = &q.fields {
        params = params.fields(f);
    }
    let mut out = Vec::new();
    loop {
        let page = api.list(&params).await.map_err(|e| {
            Error::Said(format!("error getting events: {}", cluster::api_detail(&e)))
        })?;
        out.extend(page.items);
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(c) => params = params.continue_token(&c),
            None => return Ok(out),
        }
    }
}

/// What `name` of kind `fk` references (its source, an Alert's provider,
/// an ImagePolicy's repository), as (kind, name, namespace).
async fn references(
    client: &Client,
    fk: &FluxKind,
    name: &str,
    namespace: &str,
) -> Result<Vec<(String, String, String)>, Error> {
    if fk.field.is_empty() {
        return Ok(Vec::new());
    }
    let ar = ApiResource {
        group: fk.group.to_string(),
        version: fk.version.to_string(),
        api_version: format!("{}/{}", fk.group, fk.version),
        kind: fk.kind.to_string(),
        plural: fk.plural.to_string(),
    };
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &ar);
    let obj = match api.get_opt(name).await {
        Ok(Some(o)) => o,
        Ok(None) => {
            return Err(Error::Said(format!(
                "{}.{} \"{name}\" not found",
                fk.plural, fk.group
            )));
        }
        Err(e) => return Err(Error::Said(cluster::api_detail(&e))),
    };
    let object = format!("{namespace}/{name}");
    let mut value = &obj.data;
    for f in fk.field {
        value = &value[*f];
    }
    let field = |leaf: &str| -> Result<String, Error> {
        value[leaf].as_str().map(str::to_string).ok_or_else(|| {
            Error::Said(format!(
                "field '{}.{leaf}' for '{object}' not found",
                fk.field.join(".")
            ))
        })
    };
    let kind = match fk.ref_kind {
        Some(k) => k.to_string(),
        None => field("kind")?,
    };
    let ref_name = field("name")?;
    let ref_ns = match value["namespace"].as_str() {
        Some(ns) if fk.cross_namespace && !ns.is_empty() => ns.to_string(),
        _ => namespace.to_string(),
    };
    let mut refs = vec![(kind, ref_name, ref_ns.clone())];
    if fk.kind == "HelmRelease" {
        refs.push((
            "HelmChart".to_string(),
            format!("{namespace}-{name}"),
            ref_ns,
        ));
    }
    Ok(refs)
}

/// flux's `ignoreEvent`: only Flux kinds, only the `--types` asked for.
fn keep(e: &Event, types: &[String]) -> bool {
    let kind = e.involved_object.kind.as_deref().unwrap_or_default();
    if flux_kind_of(kind).is_none() {
        return false;
    }
    let type_ = e.type_.as_deref().unwrap_or_default();
    types.is_empty() || types.iter().any(|t| t.eq_ignore_ascii_case(type_))
}

/// kubectl's order: the series' last observation, else lastTimestamp,
/// else eventTime.
fn sort_time(e: &Event) -> Timestamp {
    if let Some(s) = &e.series {
        return s
            .last_observed_time
            .as_ref()
            .map_or(Timestamp::UNIX_EPOCH, |t| t.0);
    }
    if let Some(t) = e
        .last_timestamp
        .as_ref()
        .filter(|t| t.0 != Timestamp::UNIX_EPOCH)
    {
        return t.0;
    }
    e.event_time.as_ref().map_or(Timestamp::UNIX_EPOCH, |t| t.0)
}

fn row(e: &Event, now: Timestamp) -> Row {
    let object = format!(
        "{}/{}",
        e.involved_object.kind.as_deref().unwrap_or_default(),
        e.involved_object.name.as_deref().unwrap_or_default()
    );
    (
        e.metadata.namespace.clone().unwrap_or_default(),
        vec![
            last_seen(e, now),
            e.type_.clone().unwrap_or_default(),
            e.reason.clone().unwrap_or_default(),
            object,
            e.message.clone().unwrap_or_default(),
        ],
    )
}

/// flux's LAST SEEN: `5m`, or `30s (x3 over 5m)` for a repeated event.
fn last_seen(e: &Event, now: Timestamp) -> String {
    let since = |t: Option<Timestamp>| match t.filter(|t| *t != Timestamp::UNIX_EPOCH) {
        Some(t) => human_duration(now.as_second() - t.as_second()),
        None => "<unknown>".to_string(),
    };
    let first = match e.event_time.as_ref().map(|t| t.0) {
        Some(t) if t != Timestamp::UNIX_EPOCH => since(Some(t)),
        _ => since(e.first_timestamp.as_ref().map(|t| t.0)),
    };
    if let Some(s) = &e.series {
        let last = since(s.last_observed_time.as_ref().map(|t| t.0));
        return format!("{last} (x{} over {first})", s.count.unwrap_or_default());
    }
    match e.count {
        Some(n) if n > 1 => {
            let last = since(e.last_timestamp.as_ref().map(|t| t.0));
            format!("{last} (x{n} over {first})")
        }
        _ => first,
    }
}

/// apimachinery's `duration.HumanDuration` of a number of seconds.
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".to_string();
    }
    if seconds < 0 {
        return "0s".to_string();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}
