//! kustomize's built-in transformers, run for each kustomization on what it
//! accumulated, in kustomize's order: patchesStrategicMerge, patches,
//! namespace, namePrefix, nameSuffix, labels/commonLabels,
//! commonAnnotations, patchesJson6902, replicas, images, replacements.
//! Each step is one function. The patch steps are configured by
//! [`crate::patch`] (their files are read then).

pub mod config;
pub mod crds;
pub mod fieldspec;
mod images;
pub mod nameref;
pub mod replacement;

use crate::openapi::OpenApi;
use std::collections::BTreeMap;

use crate::error::Error;
use crate::kustomization::Kustomization;
use crate::resource::{Gvk, Resource};
use fieldspec::{CreateKind, FieldSpec, Tables};

/// How a namespace transformer treats (cluster) role binding subjects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectMode {
    /// Subjects named `default` (kustomize's default).
    DefaultOnly,
    /// Every ServiceAccount subject.
    AllServiceAccounts,
    None,
}

/// One configured transformer.
#[derive(Debug, Clone)]
pub enum Step {
    Namespace {
        namespace: String,
        specs: Vec<FieldSpec>,
        unset_only: bool,
        subjects: SubjectMode,
    },
    Prefix {
        prefix: String,
        specs: Vec<FieldSpec>,
    },
    Suffix {
        suffix: String,
        specs: Vec<FieldSpec>,
    },
    /// Labels or annotations: pairs set in the mappings the specs reach.
    Entries {
        pairs: BTreeMap<String, String>,
        specs: Vec<FieldSpec>,
        /// `LabelTransformer` or `AnnotationsTransformer`.
        transformer: &'static str,
    },
    Replicas {
        replica: crate::kustomization::Replica,
        specs: Vec<FieldSpec>,
    },
    Images {
        image: crate::kustomization::Image,
        specs: Vec<FieldSpec>,
    },
    /// `replacements`, their `path:` files read.
    Replacements(Vec<replacement::Replacement>),
    /// A patch transformer ([`crate::patch`]).
    Patch(Box<crate::patch::Step>),
}

/// The built-in transformers `k` configures, in kustomize's order.
pub fn steps(k: &Kustomization, tables: &Tables) -> Result<Vec<Step>, String> {
    let mut out = Vec::new();
    if !k.namespace.is_empty() {
        out.push(Step::Namespace {
            namespace: k.namespace.clone(),
            specs: tables.namespace.clone(),
            unset_only: false,
            subjects: SubjectMode::DefaultOnly,
        });
    }
    if !k.name_prefix.is_empty() {
        out.push(Step::Prefix {
            prefix: k.name_prefix.clone(),
            specs: tables.name_prefix.clone(),
        });
    }
    if !k.name_suffix.is_empty() {
        out.push(Step::Suffix {
            suffix: k.name_suffix.clone(),
            specs: tables.name_suffix.clone(),
        });
    }
    for label in &k.labels {
        let mut specs = label.fields.clone();
        fieldspec::merge_all(&mut specs, &tables.labels)?;
        if label.include_selectors {
            fieldspec::merge_all(&mut specs, &tables.common_labels)?;
        } else {
            if label.include_templates {
                fieldspec::merge_all(&mut specs, &tables.template_labels)?;
            }
            let meta = FieldSpec {
                path: "metadata/labels".to_string(),
                create: true,
                ..FieldSpec::default()
            };
            fieldspec::merge_one(&mut specs, &meta)?;
        }
        out.push(Step::Entries {
            pairs: label.pairs.clone(),
            specs,
            transformer: LABELS,
        });
    }
    // kustomize configures the commonLabels transformer whenever there are
    // labels of either kind (it shows in transformer annotations).
    if !k.common_labels.is_empty() || !k.labels.is_empty() {
        out.push(Step::Entries {
            pairs: k.common_labels.clone(),
            specs: tables.common_labels.clone(),
            transformer: LABELS,
        });
    }
    if !k.common_annotations.is_empty() {
        out.push(Step::Entries {
            pairs: k.common_annotations.clone(),
            specs: tables.common_annotations.clone(),
            transformer: ANNOTATIONS,
        });
    }
    for replica in &k.replicas {
        out.push(Step::Replicas {
            replica: replica.clone(),
            specs: tables.replicas.clone(),
        });
    }
    for image in &k.images {
        out.push(Step::Images {
            image: image.clone(),
            specs: tables.images.clone(),
        });
    }
    Ok(out)
}

const LABELS: &str = "LabelTransformer";
const ANNOTATIONS: &str = "AnnotationsTransformer";

impl Step {
    /// The kind of kustomize's built-in transformer this step is.
    pub fn transformer(&self) -> &'static str {
        match self {
            Step::Namespace { .. } => "NamespaceTransformer",
            Step::Prefix { .. } => "PrefixTransformer",
            Step::Suffix { .. } => "SuffixTransformer",
            Step::Entries { transformer, .. } => transformer,
            Step::Replicas { .. } => "ReplicaCountTransformer",
            Step::Images { .. } => "ImageTagTransformer",
            Step::Replacements(_) => "ReplacementTransformer",
            Step::Patch(p) => p.transformer(),
        }
    }
}

/// A configured transformer and, when the build tracks origins, who
/// configured it.
pub type Configured = (Step, Option<crate::origin::Configured>);

/// `steps` with the patch transformers in kustomize's places: strategic
/// merge and `patches` first, `patchesJson6902` after the annotations.
fn with_patches(mut out: Vec<Step>, patches: &crate::patch::Configured) -> Vec<Step> {
    let at = out
        .iter()
        .position(|s| matches!(s, Step::Replicas { .. } | Step::Images { .. }))
        .unwrap_or(out.len());
    let json: Vec<Step> = patches
        .json6902
        .iter()
        .map(|p| Step::Patch(Box::new(p.clone())))
        .collect();
    out.splice(at..at, json);
    let first: Vec<Step> = patches
        .first
        .iter()
        .map(|p| Step::Patch(Box::new(p.clone())))
        .collect();
    out.splice(0..0, first);
    out
}

/// Run the built-in transformers of `k`, then the configured `extra` ones.
/// With `origin` (the kustomization's directory relative to the top, when
/// `buildMetadata` asks for annotations), each transformer is recorded on
/// every resource.
pub fn run(
    k: &Kustomization,
    resources: &mut Vec<Resource>,
    tables: &Tables,
    extra: &[Configured],
    origin: Option<&str>,
    patches: &crate::patch::Configured,
    oa: &OpenApi,
) -> Result<(), Error> {
    let file = k.file.display().to_string();
    let wrap = |e: String| Error::Build(format!("{file}: {e}"));
    let kfile_name = k
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let builtin: Vec<Configured> = with_patches(steps(k, tables).map_err(wrap)?, patches)
        .into_iter()
        .map(|step| {
            let by = origin.map(|o| {
                crate::origin::Configured::builtin(
                    &crate::origin::join(o, &kfile_name),
                    step.transformer(),
                )
            });
            (step, by)
        })
        .collect();
    for (step, by) in builtin.iter().chain(extra) {
        apply(step, resources, oa).map_err(wrap)?;
        if let Some(by) = by {
            for r in resources.iter_mut() {
                crate::origin::record(r, by);
            }
        }
    }
    Ok(())
}

/// An error about one resource, naming it and where it was read.
fn in_resource(r: &Resource, e: String) -> String {
    format!("{} ({}): {e}", r.cur_id().display(), r.source)
}

/// Run one transformer.
pub fn apply(step: &Step, resources: &mut Vec<Resource>, oa: &OpenApi) -> Result<(), String> {
    match step {
        Step::Namespace {
            namespace: ns,
            specs,
            unset_only,
            subjects,
        } => namespace(resources, ns, specs, *unset_only, *subjects, oa),
        Step::Prefix { prefix, specs } => {
            prefix_suffix(resources, prefix, Affix::Prefix, specs, oa)
        }
        Step::Suffix { suffix, specs } => {
            prefix_suffix(resources, suffix, Affix::Suffix, specs, oa)
        }
        Step::Entries { pairs, specs, .. } => set_entries(resources, pairs, specs),
        Step::Replicas { replica, specs } => replicas(resources, replica, specs),
        Step::Images { image, specs } => images::run(resources, image, specs),
        Step::Replacements(list) => replacement::run(resources, list),
        Step::Patch(p) => p.apply(resources, oa),
    }
}

fn namespace(
    resources: &mut [Resource],
    ns: &str,
    all_specs: &[FieldSpec],
    unset_only: bool,
    subjects: SubjectMode,
    oa: &OpenApi,
) -> Result<(), String> {
    if ns.is_empty() {
        return Ok(());
    }
    for r in resources.iter_mut() {
        if r.map().is_none_or(|m| m.is_empty()) {
            continue;
        }
        r.store_previous_id(oa);
        let gvk = r.gvk();
        let api_version = r.api_version();
        let specs: Vec<&FieldSpec> = all_specs
            .iter()
            .filter(|fs| fs.path != "metadata/namespace")
            .filter(|fs| api_version == "v1" || fs.path != "metadata/name")
            .collect();
        let mut set = |n: &mut crate::value::Value| {
            if unset_only && !n.scalar_text().unwrap_or_default().is_empty() {
                return Ok(());
            }
            fieldspec::set_scalar(n, ns)
        };
        if !oa.is_cluster_scoped(&gvk) {
            let meta = FieldSpec {
                path: "metadata/namespace".to_string(),
                create: true,
                ..FieldSpec::default()
            };
            fieldspec::apply(&mut r.value, &meta, Some(CreateKind::Scalar), &mut set)
                .map_err(|e| in_resource(r, e))?;
        }
        let binding = gvk.kind == "RoleBinding" || gvk.kind == "ClusterRoleBinding";
        if binding && subjects != SubjectMode::None {
            role_binding_subjects(&mut r.value, subjects, &mut set)?;
        }
        for fs in specs {
            if binding && fs.path == "subjects/namespace" {
                continue;
            }
            fieldspec::apply(&mut r.value, fs, Some(CreateKind::Scalar), &mut set)
                .map_err(|e| in_resource(r, e))?;
        }
    }
    // Two resources may not end up with one id.
    let mut seen = std::collections::HashSet::with_capacity(resources.len());
    for r in resources.iter() {
        let id = r.cur_id();
        if !seen.insert(id.key(oa)) {
            return Err(format!(
                "namespace transformation produces ID conflict: {}",
                id.display()
            ));
        }
    }
    Ok(())
}

/// Role binding subjects that get the namespace: those named `default`
/// (kustomize's default) or every ServiceAccount.
fn role_binding_subjects(
    obj: &mut crate::value::Value,
    mode: SubjectMode,
    set: &mut dyn FnMut(&mut crate::value::Value) -> Result<(), String>,
) -> Result<(), String> {
    let Some(crate::value::Value::Seq(subjects)) =
        obj.as_map_mut().and_then(|m| m.get_mut("subjects"))
    else {
        return Ok(());
    };
    for s in subjects {
        let Some(m) = s.as_map_mut() else { continue };
        let chosen = match mode {
            SubjectMode::DefaultOnly => m.get("name").and_then(|v| v.as_str()) == Some("default"),
            SubjectMode::AllServiceAccounts => {
                m.get("kind").and_then(|v| v.as_str()) == Some("ServiceAccount")
            }
            SubjectMode::None => false,
        };
        if chosen {
            let slot = match m.get_mut("namespace") {
                Some(v) => v,
                None => {
                    m.insert("namespace", crate::value::Value::Str(String::new()));
                    m.get_mut("namespace").expect("just inserted")
                }
            };
            set(slot)?;
        }
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Affix {
    Prefix,
    Suffix,
}

/// Kinds whose names a prefix or suffix never changes.
fn skips_affix(gvk: &Gvk) -> bool {
    gvk.kind == "CustomResourceDefinition"
        || gvk.kind == "Namespace"
        || (gvk.group == "apiregistration.k8s.io" && gvk.kind == "APIService")
}

fn prefix_suffix(
    resources: &mut [Resource],
    affix: &str,
    which: Affix,
    specs: &[FieldSpec],
    oa: &OpenApi,
) -> Result<(), String> {
    for r in resources.iter_mut() {
        let org = r.org_id();
        if skips_affix(&org.gvk) {
            continue;
        }
        for fs in specs {
            if !org.gvk.is_selected(&fs.gvk) {
                continue;
            }
            if fs.path == "metadata/name" && !affix.is_empty() {
                match which {
                    Affix::Prefix => r.prefixes.push(affix.to_string()),
                    Affix::Suffix => r.suffixes.push(affix.to_string()),
                }
                r.store_previous_id(oa);
            }
            let mut set = |n: &mut crate::value::Value| {
                let cur = n.scalar_text().unwrap_or_default();
                let new = match which {
                    Affix::Prefix => format!("{affix}{cur}"),
                    Affix::Suffix => format!("{cur}{affix}"),
                };
                fieldspec::set_scalar(n, &new)
            };
            fieldspec::apply(&mut r.value, fs, Some(CreateKind::Scalar), &mut set)
                .map_err(|e| in_resource(r, e))?;
        }
    }
    Ok(())
}

/// Labels and annotations: each pair set in every mapping the specs reach.
fn set_entries(
    resources: &mut [Resource],
    pairs: &BTreeMap<String, String>,
    specs: &[FieldSpec],
) -> Result<(), String> {
    for r in resources.iter_mut() {
        for (key, value) in pairs {
            for fs in specs {
                let mut set = |n: &mut crate::value::Value| fieldspec::set_entry(n, key, value);
                fieldspec::apply(&mut r.value, fs, Some(CreateKind::Map), &mut set)
                    .map_err(|e| in_resource(r, e))?;
            }
        }
    }
    Ok(())
}

fn replicas(
    resources: &mut [Resource],
    replica: &crate::kustomization::Replica,
    specs: &[FieldSpec],
) -> Result<(), String> {
    let mut found = false;
    for fs in specs {
        for r in resources.iter_mut() {
            let hit = r
                .all_ids()
                .iter()
                .any(|id| id.name == replica.name && id.gvk.is_selected(&fs.gvk));
            if !hit {
                continue;
            }
            found = true;
            let mut set = |n: &mut crate::value::Value| match n {
                crate::value::Value::Map(_) | crate::value::Value::Seq(_) => {
                    Err("wrong node kind: expected ScalarNode".to_string())
                }
                _ => {
                    *n = crate::value::Value::Int(replica.count);
                    Ok(())
                }
            };
            fieldspec::apply(&mut r.value, fs, Some(CreateKind::Scalar), &mut set)
                .map_err(|e| in_resource(r, e))?;
        }
    }
    if !found {
        let gvks: Vec<String> = specs.iter().map(|fs| fs.gvk.display()).collect();
        return Err(format!(
            "resource with name {} does not match a config with the following GVK [{}]",
            replica.name,
            gvks.join(" ")
        ));
    }
    Ok(())
}
