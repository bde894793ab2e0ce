//! CustomResourceDefinitions for the kinds ferroflux serves, as Flux ships
//! them: same group, names, short names, categories and printer columns;
//! `v1` is the storage version and the `v1beta2` image APIs stay served
//! (deprecated, with Flux's warning) so that manifests written for Flux
//! before image-reflector-controller v1.2.0 still apply.
//!
//! Schemas come from the `ferroflux-api` types through kube's derive
//! (`CustomResourceExt::crd`); Flux's printer columns and categories are set
//! here because they are a property of the served CRD, not of the Rust type.

use ferroflux_api::helm::HelmRelease;
use ferroflux_api::image::{ImagePolicy, ImageRepository, ImageUpdateAutomation};
use ferroflux_api::kustomize::Kustomization;
use ferroflux_api::notification::{Alert, Provider, Receiver};
use ferroflux_api::source::{GitRepository, HelmChart, HelmRepository, OCIRepository};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceColumnDefinition, CustomResourceDefinition, JSONSchemaProps,
    JSONSchemaPropsOrArray,
};
use kube::CustomResourceExt;
use kube::core::crd::merge_crds;

#[cfg(test)]
mod tests;

/// The `v1beta2` image APIs are served for manifests written before Flux's
/// image controllers v1.2.0; `v1` is stored.
pub const STORAGE_VERSION: &str = "v1";
pub const DEPRECATED_IMAGE_VERSION: &str = "v1beta2";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("crd {name}: cannot merge versions: {source}")]
    Merge {
        name: String,
        #[source]
        source: kube::core::crd::MergeError,
    },
    #[error("crd {name}: generated schema has no {what}")]
    Schema { name: String, what: &'static str },
}

/// How one served kind differs from what the derive produces.
struct Served {
    crd: CustomResourceDefinition,
    categories: &'static [&'static str],
    columns: Vec<CustomResourceColumnDefinition>,
    annotations: &'static [(&'static str, &'static str)],
    /// Served deprecated versions besides `v1`, with how their schema differs.
    deprecated: &'static [(&'static str, VersionEdit)],
}

#[derive(Clone, Copy)]
enum VersionEdit {
    /// Same schema as `v1`.
    Same,
    /// ImagePolicy `v1beta2`: no `spec.suspend`, no
    /// `status.lastHandledReconcileAt`, and the string fields `latestImage`
    /// and `observedPreviousImage` that `v1` removed.
    ImagePolicyV1beta2,
    /// Kustomization `v1beta2`: its own spec (`patchesStrategicMerge`,
    /// `patchesJson6902`, `validation`; no `ignore`, `namePrefix`, ...).
    KustomizationV1beta2,
}

/// Every CRD ferroflux serves, in a stable order (image kinds, then
/// GitRepository, HelmRepository, OCIRepository, HelmChart, Kustomization, HelmRelease,
/// then Receiver,
/// Provider, Alert).
pub fn crds() -> Result<Vec<CustomResourceDefinition>, Error> {
    served().into_iter().map(build).collect()
}

fn served() -> Vec<Served> {
    let image_categories: &[&str] = &["all", "fluxcd", "fluxcd-images"];
    let image_deprecated: &[(&str, VersionEdit)] = &[(DEPRECATED_IMAGE_VERSION, VersionEdit::Same)];
    vec![
        Served {
            crd: ImageRepository::crd(),
            categories: image_categories,
            columns: vec![
                column("Image", "string", ".spec.image", 0),
                column("Tags", "string", ".status.lastScanResult.tagCount", 0),
                ready_column(),
                status_column(),
                column("Last scan", "string", ".status.lastScanResult.scanTime", 1),
                age_column(),
            ],
            annotations: &[],
            deprecated: image_deprecated,
        },
        Served {
            crd: ImagePolicy::crd(),
            categories: image_categories,
            columns: vec![
                column("Image", "string", ".status.latestRef.name", 0),
                column("Tag", "string", ".status.latestRef.tag", 0),
                ready_column(),
                status_column(),
                age_column(),
            ],
            annotations: &[],
            deprecated: &[(DEPRECATED_IMAGE_VERSION, VersionEdit::ImagePolicyV1beta2)],
        },
        Served {
            crd: ImageUpdateAutomation::crd(),
            categories: image_categories,
            columns: vec![
                ready_column(),
                status_column(),
                column("Last run", "string", ".status.lastAutomationRunTime", 1),
                age_column(),
            ],
            // Flux post-build substitution must leave `${...}` in commit
            // message templates alone.
            annotations: &[("kustomize.toolkit.fluxcd.io/substitute", "disabled")],
            deprecated: image_deprecated,
        },
        Served {
            crd: GitRepository::crd(),
            categories: &["all", "fluxcd", "fluxcd-sources"],
            columns: vec![
                column("URL", "string", ".spec.url", 0),
                age_column(),
                ready_column(),
                status_column(),
            ],
            annotations: &[],
            deprecated: &[],
        },
        Served {
            crd: HelmRepository::crd(),
            categories: &["all", "fluxcd", "fluxcd-sources"],
            columns: vec![
                column("URL", "string", ".spec.url", 0),
                age_column(),
                ready_column(),
                status_column(),
            ],
            annotations: &[],
            deprecated: &[],
        },
        Served {
            crd: OCIRepository::crd(),
            categories: &["all", "fluxcd", "fluxcd-sources"],
            columns: vec![
                column("URL", "string", ".spec.url", 0),
                ready_column(),
                status_column(),
                age_column(),
            ],
            annotations: &[],
            deprecated: &[],
        },
        Served {
            crd: HelmChart::crd(),
            categories: &["all", "fluxcd", "fluxcd-sources"],
            columns: vec![
                column("Chart", "string", ".spec.chart", 0),
                column("Version", "string", ".spec.version", 0),
                column("Source Kind", "string", ".spec.sourceRef.kind", 0),
                column("Source Name", "string", ".spec.sourceRef.name", 0),
                age_column(),
                ready_column(),
                status_column(),
            ],
            annotations: &[],
            deprecated: &[],
        },
        Served {
            crd: Kustomization::crd(),
            categories: &["all", "fluxcd", "fluxcd-appliers"],
            columns: vec![age_column(), ready_column(), status_column()],
            // As Flux's own CRD: post-build substitution leaves it alone.
            annotations: &[("kustomize.toolkit.fluxcd.io/substitute", "disabled")],
            deprecated: &[("v1beta2", VersionEdit::KustomizationV1beta2)],
        },
        Served {
            crd: HelmRelease::crd(),
            categories: &["all", "fluxcd", "fluxcd-appliers"],
            columns: vec![age_column(), ready_column(), status_column()],
            annotations: &[],
            deprecated: &[],
        },
        Served {
            crd: Receiver::crd(),
            categories: &["all", "fluxcd", "fluxcd-notifications"],
            columns: vec![age_column(), ready_column(), status_column()],
            annotations: &[],
            deprecated: &[],
        },
        // notification-controller's v1beta3 Provider and Alert: no status,
        // an Age column, substitution disabled as in Flux's CRDs.
        Served {
            crd: Provider::crd(),
            categories: &["all", "fluxcd", "fluxcd-notifications"],
            columns: vec![age_column()],
            annotations: &[("kustomize.toolkit.fluxcd.io/substitute", "disabled")],
            deprecated: &[],
        },
        Served {
            crd: Alert::crd(),
            categories: &["all", "fluxcd", "fluxcd-notifications"],
            columns: vec![age_column()],
            annotations: &[("kustomize.toolkit.fluxcd.io/substitute", "disabled")],
            deprecated: &[],
        },
    ]
}

fn build(served: Served) -> Result<CustomResourceDefinition, Error> {
    let Served {
        mut crd,
        categories,
        columns,
        annotations,
        deprecated,
    } = served;
    let name = crd.metadata.name.clone().unwrap_or_default();
    crd.spec.names.categories = Some(categories.iter().map(|c| c.to_string()).collect());
    for version in &mut crd.spec.versions {
        version.additional_printer_columns = Some(columns.clone());
    }
    if !annotations.is_empty() {
        let map = crd.metadata.annotations.get_or_insert_default();
        for (k, v) in annotations {
            map.insert(k.to_string(), v.to_string());
        }
    }
    // Flux's wording, not the derive's "Auto-generated derived type ...".
    let description = format!(
        "{} is the Schema for the {} API",
        crd.spec.names.kind, crd.spec.names.plural
    );
    for version in &mut crd.spec.versions {
        if let Some(root) = version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
        {
            root.description = Some(description.clone());
            free_form_fields(root);
        }
    }
    // The derive's version is the storage version (v1; v1beta3 for
    // Provider and Alert, which Flux has no v1 of).
    let storage = crd
        .spec
        .versions
        .first()
        .map_or(STORAGE_VERSION.to_string(), |v| v.name.clone());
    let mut all = vec![crd.clone()];
    for (version, edit) in deprecated {
        let mut old = crd.clone();
        let kind = old.spec.names.kind.clone();
        let v = &mut old.spec.versions[0];
        v.name = version.to_string();
        v.storage = false;
        v.served = true;
        v.deprecated = Some(true);
        v.deprecation_warning = Some(format!("{version} {kind} is deprecated, upgrade to v1"));
        if let VersionEdit::ImagePolicyV1beta2 | VersionEdit::KustomizationV1beta2 = edit {
            let schema = v
                .schema
                .as_mut()
                .and_then(|s| s.open_api_v3_schema.as_mut())
                .ok_or(Error::Schema {
                    name: name.clone(),
                    what: "openAPIV3Schema",
                })?;
            match edit {
                VersionEdit::ImagePolicyV1beta2 => image_policy_v1beta2(schema, &name)?,
                _ => kustomization_v1beta2(schema, &name)?,
            }
        }
        all.push(old);
    }
    let mut merged = merge_crds(all, &storage).map_err(|source| Error::Merge {
        name: name.clone(),
        source,
    })?;
    // merge_crds appends in reverse; Flux lists v1 first, then older ones.
    merged.spec.versions.sort_by_key(|v| v.name != storage);
    Ok(merged)
}

/// The schema of a spec type as kube's derive makes it for a CRD: no
/// definitions, nullable options, structural.
fn structural_schema<T: schemars::JsonSchema>(name: &str) -> Result<JSONSchemaProps, Error> {
    let generate = schemars::generate::SchemaSettings::openapi3()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .with_transform(schemars::transform::AddNullable::default())
        .with_transform(kube::core::schema::StructuralSchemaRewriter)
        .with_transform(kube::core::schema::OptionalEnum)
        .with_transform(kube::core::schema::OptionalIntOrString)
        .into_generator();
    serde_json::to_value(generate.into_root_schema_for::<T>())
        .and_then(serde_json::from_value)
        .map_err(|_| Error::Schema {
            name: name.to_string(),
            what: "a spec schema kube can read",
        })
}

/// Kustomization `v1beta2`: the `v1beta2` spec in place of `v1`'s.
fn kustomization_v1beta2(root: &mut JSONSchemaProps, name: &str) -> Result<(), Error> {
    let mut spec = structural_schema::<ferroflux_api::kustomize::v1beta2::KustomizationSpec>(name)?;
    free_form_items(&mut spec);
    let props = root.properties.as_mut().ok_or(Error::Schema {
        name: name.to_string(),
        what: "properties",
    })?;
    props.insert("spec".to_string(), spec);
    Ok(())
}

/// Array items of no declared type (the JSON objects of
/// `patchesStrategicMerge` and `patchesJson6902[].patch`) as Flux declares
/// them: objects whose fields are kept; the apiserver refuses typeless items.
fn free_form_items(schema: &mut JSONSchemaProps) {
    if let Some(JSONSchemaPropsOrArray::Schema(item)) = schema.items.as_mut() {
        if item.type_.is_none()
            && item.properties.is_none()
            && item.x_kubernetes_int_or_string != Some(true)
            && item.any_of.is_none()
            && item.one_of.is_none()
        {
            item.type_ = Some("object".to_string());
            item.x_kubernetes_preserve_unknown_fields = Some(true);
        }
        free_form_items(item);
    }
    for child in schema.properties.iter_mut().flat_map(|p| p.values_mut()) {
        free_form_items(child);
    }
}

/// Fields of no declared type (a HelmRelease's `values`, free JSON) as
/// Flux declares them: their content kept (`x-kubernetes-preserve-unknown-
/// fields`); the apiserver refuses typeless fields otherwise.
fn free_form_fields(schema: &mut JSONSchemaProps) {
    for child in schema.properties.iter_mut().flat_map(|p| p.values_mut()) {
        if child.type_.is_none()
            && child.properties.is_none()
            && child.x_kubernetes_int_or_string != Some(true)
            && child.any_of.is_none()
            && child.one_of.is_none()
            && child.all_of.is_none()
        {
            child.x_kubernetes_preserve_unknown_fields = Some(true);
        }
        free_form_fields(child);
    }
    if let Some(JSONSchemaPropsOrArray::Schema(item)) = schema.items.as_mut() {
        free_form_fields(item);
    }
}

fn image_policy_v1beta2(root: &mut JSONSchemaProps, name: &str) -> Result<(), Error> {
    let props = root.properties.as_mut().ok_or(Error::Schema {
        name: name.to_string(),
        what: "properties",
    })?;
    let spec = props
        .get_mut("spec")
        .and_then(|s| s.properties.as_mut())
        .ok_or(Error::Schema {
            name: name.to_string(),
            what: "spec.properties",
        })?;
    spec.remove("suspend");
    let status = props
        .get_mut("status")
        .and_then(|s| s.properties.as_mut())
        .ok_or(Error::Schema {
            name: name.to_string(),
            what: "status.properties",
        })?;
    status.remove("lastHandledReconcileAt");
    for (field, description) in [
        (
            "latestImage",
            "LatestImage gives the first in the list of images scanned by the image repository, when filtered and ordered according to the policy.",
        ),
        (
            "observedPreviousImage",
            "ObservedPreviousImage is the observed previous LatestImage.",
        ),
    ] {
        status.insert(
            field.to_string(),
            JSONSchemaProps {
                type_: Some("string".to_string()),
                description: Some(description.to_string()),
                ..Default::default()
            },
        );
    }
    Ok(())
}

fn column(
    name: &str,
    type_: &str,
    json_path: &str,
    priority: i32,
) -> CustomResourceColumnDefinition {
    CustomResourceColumnDefinition {
        name: name.to_string(),
        type_: type_.to_string(),
        json_path: json_path.to_string(),
        priority: (priority != 0).then_some(priority),
        ..Default::default()
    }
}

fn ready_column() -> CustomResourceColumnDefinition {
    column(
        "Ready",
        "string",
        ".status.conditions[?(@.type==\"Ready\")].status",
        0,
    )
}

fn status_column() -> CustomResourceColumnDefinition {
    column(
        "Status",
        "string",
        ".status.conditions[?(@.type==\"Ready\")].message",
        0,
    )
}

fn age_column() -> CustomResourceColumnDefinition {
    column("Age", "date", ".metadata.creationTimestamp", 0)
}
