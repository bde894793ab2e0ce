//! `ferroflux tree kustomization NAME`: the live Kustomization's inventory
//! as a tree, nested Kustomizations expanded, in `flux tree kustomization`'s
//! box-drawing layout (or its JSON and YAML).

use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use ferroflux_api::kustomize::{GROUP, Kustomization};
use ferroflux_kube::inventory::ObjMetadata;
use kube::{Api, Client};
use serde_json::{Value, json};

use crate::cluster::{self, ConnectArgs};

/// How deep nested Kustomizations are followed (a cycle of Kustomizations
/// naming each other stops at the first repeat anyway).
const MAX_DEPTH: usize = 32;
/// Objects listed at most, over the whole tree.
const MAX_NODES: usize = 100_000;

#[derive(Subcommand)]
pub enum TreeCommand {
    /// Print the objects a Kustomization reconciles, as `flux tree kustomization`.
    #[command(visible_alias = "ks")]
    Kustomization(KustomizationArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum Output {
    Json,
    Yaml,
}

#[derive(Args)]
pub struct KustomizationArgs {
    /// The Kustomization's name.
    name: String,
    /// The Kustomization's namespace.
    #[arg(short, long, default_value = "flux-system")]
    namespace: String,
    /// Only Flux's own objects (groups under toolkit.fluxcd.io).
    #[arg(long)]
    compact: bool,
    /// Print the tree as JSON or YAML.
    #[arg(short, long)]
    output: Option<Output>,
    #[command(flatten)]
    connect: ConnectArgs,
}

/// One node: an object and what it reconciles.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub meta: ObjMetadata,
    pub children: Vec<Node>,
}

impl Node {
    fn new(meta: ObjMetadata) -> Node {
        Node {
            meta,
            children: Vec::new(),
        }
    }

    /// Flux's layout: the root, then `├── `/`└── ` items under `│   `
    /// or blank continuations.
    pub fn print(&self) -> String {
        let mut out = format!("{}\n", self.meta.subject());
        print_items(&self.children, "", &mut out);
        out
    }

    /// Flux's JSON shape (cli-utils `ObjMetadata` has no JSON tags).
    pub fn to_json(&self) -> Value {
        let mut v = json!({"resource": {
            "Namespace": self.meta.namespace, "Name": self.meta.name,
            "Group": self.meta.group, "Kind": self.meta.kind}});
        if !self.children.is_empty() {
            v["resources"] = self.children.iter().map(Node::to_json).collect();
        }
        v
    }
}

fn print_items(items: &[Node], prefix: &str, out: &mut String) {
    for (i, n) in items.iter().enumerate() {
        let last = i + 1 == items.len();
        out.push_str(prefix);
        out.push_str(if last { "└── " } else { "├── " });
        out.push_str(&n.meta.subject());
        out.push('\n');
        if !n.children.is_empty() {
            let deeper = format!("{prefix}{}", if last { "    " } else { "│   " });
            print_items(&n.children, &deeper, out);
        }
    }
}

pub fn run(cmd: TreeCommand) -> anyhow::Result<ExitCode> {
    let TreeCommand::Kustomization(args) = cmd;
    let result = cluster::block_on(tree(&args))?;
    match result {
        Ok(root) => {
            let text = match args.output {
                None => root.print(),
                Some(Output::Json) => serde_json::to_string_pretty(&root.to_json())? + "\n",
                Some(Output::Yaml) => {
                    let y = ferroflux_kube::render_yaml(&[root.to_json()])?;
                    y.strip_prefix("---\n").unwrap_or(&y).to_string()
                }
            };
            // flux prints with Println: the text and a blank line.
            println!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Err(message) => {
            cluster::failure(&message);
            Ok(ExitCode::from(1))
        }
    }
}

async fn tree(args: &KustomizationArgs) -> Result<Node, String> {
    let client = cluster::connect(&args.connect)
        .await
        .map_err(|e| e.to_string())?;
    let root_ks = get(&client, &args.namespace, &args.name)
        .await?
        .ok_or_else(|| {
            format!(
                "Kustomization {} not found in {} namespace",
                args.name, args.namespace
            )
        })?;
    let mut root = Node::new(ObjMetadata::new(
        &args.namespace,
        &args.name,
        GROUP,
        "Kustomization",
    ));
    let mut budget = MAX_NODES;
    let mut path = vec![root.meta.id()];
    expand(
        &client,
        &mut root,
        &root_ks,
        args.compact,
        &mut path,
        &mut budget,
    )
    .await?;
    Ok(root)
}

async fn get(client: &Client, ns: &str, name: &str) -> Result<Option<Kustomization>, String> {
    let api: Api<Kustomization> = Api::namespaced(client.clone(), ns);
    api.get_opt(name).await.map_err(|e| {
        format!(
            "failed to get Kustomization {ns}/{name}: {}",
            cluster::redact_detail(&e.to_string())
        )
    })
}

/// The children of `node` from `ks`'s inventory, nested Kustomizations
/// (on the same cluster) followed.
fn expand<'a>(
    client: &'a Client,
    node: &'a mut Node,
    ks: &'a Kustomization,
    compact: bool,
    path: &'a mut Vec<String>,
    budget: &'a mut usize,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>> {
    Box::pin(async move {
        let entries = ks
            .status
            .as_ref()
            .and_then(|s| s.inventory.as_ref())
            .map(|i| i.entries.clone())
            .unwrap_or_default();
        let (self_ns, self_name) = (node.meta.namespace.clone(), node.meta.name.clone());
        for e in entries {
            let Some(meta) = listed(&e.id, (&self_ns, &self_name), compact, budget)? else {
                continue;
            };
            let is_ks = meta.group == GROUP && meta.kind == "Kustomization";
            let mut child = Node::new(meta);
            let id = child.meta.id();
            if is_ks
                && ks.spec.kube_config.is_none()
                && path.len() < MAX_DEPTH
                && !path.contains(&id)
            {
                let nested = get(client, &child.meta.namespace, &child.meta.name)
                    .await?
                    .ok_or_else(|| {
                        format!(
                            "failed to find object: Kustomization {}/{} not found",
                            child.meta.namespace, child.meta.name
                        )
                    })?;
                path.push(id);
                expand(client, &mut child, &nested, compact, path, budget).await?;
                path.pop();
            }
            node.children.push(child);
        }
        Ok(())
    })
}

/// The object an inventory entry names, `None` when the tree leaves it
/// out (not Flux's own under `--compact`, the Kustomization itself);
/// an error for an id that does not parse or past the size budget.
fn listed(
    id: &str,
    (self_ns, self_name): (&str, &str),
    compact: bool,
    budget: &mut usize,
) -> Result<Option<ObjMetadata>, String> {
    let meta = ObjMetadata::parse(id).map_err(|err| {
        format!("Kustomization {self_ns}/{self_name}: status.inventory entry {id:?}: {err}")
    })?;
    if compact && !meta.group.contains("toolkit.fluxcd.io") {
        return Ok(None);
    }
    let is_ks = meta.group == GROUP && meta.kind == "Kustomization";
    if is_ks && meta.namespace == self_ns && meta.name == self_name {
        return Ok(None);
    }
    if *budget == 0 {
        return Err(format!(
            "the tree has more than {MAX_NODES} objects; stopped at {}",
            meta.subject()
        ));
    }
    *budget -= 1;
    Ok(Some(meta))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(ns: &str, name: &str, group: &str, kind: &str) -> ObjMetadata {
        ObjMetadata::new(ns, name, group, kind)
    }

    #[test]
    fn fluxs_layout_two_levels() {
        let mut root = Node::new(m("flux-system", "flux-system", GROUP, "Kustomization"));
        root.children
            .push(Node::new(m("", "flux-system", "", "Namespace")));
        let mut infra = Node::new(m("flux-system", "infrastructure", GROUP, "Kustomization"));
        infra
            .children
            .push(Node::new(m("", "cert-manager", "", "Namespace")));
        infra.children.push(Node::new(m(
            "cert-manager",
            "cert-manager",
            "source.toolkit.fluxcd.io",
            "HelmRepository",
        )));
        root.children.push(infra);
        root.children.push(Node::new(m(
            "flux-system",
            "flux-system",
            "source.toolkit.fluxcd.io",
            "GitRepository",
        )));
        assert_eq!(
            root.print(),
            "Kustomization/flux-system/flux-system\n\
             ├── Namespace/flux-system\n\
             ├── Kustomization/flux-system/infrastructure\n\
             │   ├── Namespace/cert-manager\n\
             │   └── HelmRepository/cert-manager/cert-manager\n\
             └── GitRepository/flux-system/flux-system\n"
        );
        let j = root.to_json();
        assert_eq!(
            j["resources"][1]["resources"][1]["resource"]["Kind"],
            "HelmRepository"
        );
        assert!(j["resources"][0].get("resources").is_none());
    }

    #[test]
    fn listed_skips_self_and_non_flux_when_compact_and_refuses_bad_ids_and_overflow() {
        let me = ("ns", "apps");
        let mut budget = 2;
        let own = format!("ns_apps_{GROUP}_Kustomization");
        assert_eq!(listed(&own, me, false, &mut budget), Ok(None));
        assert_eq!(listed("ns_cm__ConfigMap", me, true, &mut budget), Ok(None));
        assert_eq!(budget, 2);
        let got = listed("ns_cm__ConfigMap", me, false, &mut budget).unwrap();
        assert_eq!(got.map(|m| m.subject()), Some("ConfigMap/ns/cm".into()));
        let err = listed("garbage", me, false, &mut budget).unwrap_err();
        assert!(
            err.contains("Kustomization ns/apps") && err.contains("\"garbage\""),
            "{err}"
        );
        let mut none = 0;
        let err = listed("ns_cm__ConfigMap", me, false, &mut none).unwrap_err();
        assert!(err.contains("more than 100000 objects"), "{err}");
    }

    #[test]
    fn empty_tree_is_the_root_alone() {
        let root = Node::new(m("ns", "empty", GROUP, "Kustomization"));
        assert_eq!(root.print(), "Kustomization/ns/empty\n");
    }
}
