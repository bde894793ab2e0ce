use super::*;

struct Want {
    name: &'static str,
    kind: &'static str,
    plural: &'static str,
    singular: &'static str,
    short: &'static [&'static str],
    category: &'static str,
    versions: &'static [&'static str],
    columns: &'static [&'static str],
}

const WANT: &[Want] = &[
    Want {
        name: "imagerepositories.image.toolkit.fluxcd.io",
        kind: "ImageRepository",
        plural: "imagerepositories",
        singular: "imagerepository",
        short: &["imgrepo", "imagerepo"],
        category: "fluxcd-images",
        versions: &["v1", "v1beta2"],
        columns: &["Image", "Tags", "Ready", "Status", "Last scan", "Age"],
    },
    Want {
        name: "imagepolicies.image.toolkit.fluxcd.io",
        kind: "ImagePolicy",
        plural: "imagepolicies",
        singular: "imagepolicy",
        short: &["imgpol", "imagepol"],
        category: "fluxcd-images",
        versions: &["v1", "v1beta2"],
        columns: &["Image", "Tag", "Ready", "Status", "Age"],
    },
    Want {
        name: "imageupdateautomations.image.toolkit.fluxcd.io",
        kind: "ImageUpdateAutomation",
        plural: "imageupdateautomations",
        singular: "imageupdateautomation",
        short: &["iua", "imgupd", "imgauto"],
        category: "fluxcd-images",
        versions: &["v1", "v1beta2"],
        columns: &["Ready", "Status", "Last run", "Age"],
    },
    Want {
        name: "gitrepositories.source.toolkit.fluxcd.io",
        kind: "GitRepository",
        plural: "gitrepositories",
        singular: "gitrepository",
        short: &["gitrepo"],
        category: "fluxcd-sources",
        versions: &["v1"],
        columns: &["URL", "Age", "Ready", "Status"],
    },
    Want {
        name: "helmrepositories.source.toolkit.fluxcd.io",
        kind: "HelmRepository",
        plural: "helmrepositories",
        singular: "helmrepository",
        short: &["helmrepo"],
        category: "fluxcd-sources",
        versions: &["v1"],
        columns: &["URL", "Age", "Ready", "Status"],
    },
    Want {
        name: "ocirepositories.source.toolkit.fluxcd.io",
        kind: "OCIRepository",
        plural: "ocirepositories",
        singular: "ocirepository",
        short: &["ocirepo"],
        category: "fluxcd-sources",
        versions: &["v1"],
        columns: &["URL", "Ready", "Status", "Age"],
    },
    Want {
        name: "helmcharts.source.toolkit.fluxcd.io",
        kind: "HelmChart",
        plural: "helmcharts",
        singular: "helmchart",
        short: &["hc"],
        category: "fluxcd-sources",
        versions: &["v1"],
        columns: &[
            "Chart",
            "Version",
            "Source Kind",
            "Source Name",
            "Age",
            "Ready",
            "Status",
        ],
    },
    Want {
        name: "kustomizations.kustomize.toolkit.fluxcd.io",
        kind: "Kustomization",
        plural: "kustomizations",
        singular: "kustomization",
        short: &["ks"],
        category: "fluxcd-appliers",
        versions: &["v1", "v1beta2"],
        columns: &["Age", "Ready", "Status"],
    },
    Want {
        name: "helmreleases.helm.toolkit.fluxcd.io",
        kind: "HelmRelease",
        plural: "helmreleases",
        singular: "helmrelease",
        short: &["hr"],
        category: "fluxcd-appliers",
        versions: &["v2"],
        columns: &["Age", "Ready", "Status"],
    },
    Want {
        name: "receivers.notification.toolkit.fluxcd.io",
        kind: "Receiver",
        plural: "receivers",
        singular: "receiver",
        short: &[],
        category: "fluxcd-notifications",
        versions: &["v1"],
        columns: &["Age", "Ready", "Status"],
    },
];

fn spec_props(
    crd: &CustomResourceDefinition,
    version: &str,
    field: &str,
) -> std::collections::BTreeMap<String, JSONSchemaProps> {
    let v = crd
        .spec
        .versions
        .iter()
        .find(|v| v.name == version)
        .expect("version present");
    let root = v
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref())
        .expect("schema");
    root.properties.as_ref().expect("properties")[field]
        .properties
        .clone()
        .expect("field properties")
}

#[test]
fn every_served_kind_has_fluxs_names_versions_and_columns() {
    let crds = crds().expect("crds");
    let names: Vec<_> = crds
        .iter()
        .map(|c| c.metadata.name.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        names,
        WANT.iter()
            .map(|w| w.name)
            .chain([
                "providers.notification.toolkit.fluxcd.io",
                "alerts.notification.toolkit.fluxcd.io"
            ])
            .collect::<Vec<_>>()
    );
    for (crd, want) in crds.iter().zip(WANT) {
        let n = &crd.spec.names;
        assert_eq!(n.kind, want.kind, "{}", want.name);
        assert_eq!(n.plural, want.plural, "{}", want.name);
        assert_eq!(n.singular.as_deref(), Some(want.singular), "{}", want.name);
        assert_eq!(
            n.short_names.clone().unwrap_or_default(),
            want.short.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            "{}",
            want.name
        );
        assert_eq!(
            n.categories.clone().unwrap_or_default(),
            vec!["all".to_string(), "fluxcd".into(), want.category.into()],
            "{}",
            want.name
        );
        assert_eq!(crd.spec.scope, "Namespaced");
        let versions: Vec<_> = crd.spec.versions.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(versions, want.versions, "{}", want.name);
        for v in &crd.spec.versions {
            assert!(v.served, "{} {} served", want.name, v.name);
            // The first version listed is the storage one (v2 for
            // HelmRelease, v1 for the rest).
            assert_eq!(
                v.storage,
                v.name == want.versions[0],
                "{} {} storage",
                want.name,
                v.name
            );
            assert_eq!(v.deprecated.unwrap_or(false), v.name != want.versions[0]);
            assert!(
                v.subresources
                    .as_ref()
                    .and_then(|s| s.status.as_ref())
                    .is_some(),
                "{} {} status subresource",
                want.name,
                v.name
            );
            let cols: Vec<_> = v
                .additional_printer_columns
                .iter()
                .flatten()
                .map(|c| c.name.as_str())
                .collect();
            assert_eq!(cols, want.columns, "{} {}", want.name, v.name);
        }
    }
}

/// notification-controller's v1beta3 Provider and Alert: their only
/// version, stored, without status (Flux's have none), an Age column.
#[test]
fn provider_and_alert_are_v1beta3_without_status() {
    let crds = crds().expect("crds");
    for (plural, kind) in [("providers", "Provider"), ("alerts", "Alert")] {
        let name = format!("{plural}.notification.toolkit.fluxcd.io");
        let crd = crds
            .iter()
            .find(|c| c.metadata.name.as_deref() == Some(name.as_str()))
            .expect("served");
        assert_eq!(crd.spec.names.kind, kind);
        assert_eq!(
            crd.spec.names.categories.clone().unwrap_or_default(),
            ["all", "fluxcd", "fluxcd-notifications"]
        );
        let versions: Vec<_> = crd.spec.versions.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(versions, ["v1beta3"]);
        let v = &crd.spec.versions[0];
        assert!(v.served && v.storage);
        assert!(
            v.subresources
                .as_ref()
                .and_then(|s| s.status.as_ref())
                .is_none()
        );
        let cols: Vec<_> = v
            .additional_printer_columns
            .iter()
            .flatten()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(cols, ["Age"]);
        assert_eq!(
            crd.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("kustomize.toolkit.fluxcd.io/substitute"))
                .map(String::as_str),
            Some("disabled")
        );
    }
}

#[test]
fn deprecated_versions_carry_fluxs_warning() {
    let crds = crds().expect("crds");
    let cases = [
        (
            "imagerepositories.image.toolkit.fluxcd.io",
            "v1beta2 ImageRepository is deprecated, upgrade to v1",
        ),
        (
            "imagepolicies.image.toolkit.fluxcd.io",
            "v1beta2 ImagePolicy is deprecated, upgrade to v1",
        ),
        (
            "imageupdateautomations.image.toolkit.fluxcd.io",
            "v1beta2 ImageUpdateAutomation is deprecated, upgrade to v1",
        ),
        (
            "kustomizations.kustomize.toolkit.fluxcd.io",
            "v1beta2 Kustomization is deprecated, upgrade to v1",
        ),
    ];
    for (name, warning) in cases {
        let crd = crds
            .iter()
            .find(|c| c.metadata.name.as_deref() == Some(name))
            .expect(name);
        let v = crd
            .spec
            .versions
            .iter()
            .find(|v| v.name == "v1beta2")
            .expect("v1beta2");
        assert_eq!(v.deprecation_warning.as_deref(), Some(warning));
    }
}

#[test]
fn image_policy_v1beta2_has_no_suspend_but_v1_does() {
    let crds = crds().expect("crds");
    let policy = &crds[1];
    let cases = [
        ("v1", "spec", "suspend", true),
        ("v1beta2", "spec", "suspend", false),
        ("v1", "status", "lastHandledReconcileAt", true),
        ("v1beta2", "status", "lastHandledReconcileAt", false),
        ("v1", "status", "latestImage", false),
        ("v1beta2", "status", "latestImage", true),
        ("v1beta2", "spec", "imageRepositoryRef", true),
        ("v1beta2", "status", "latestRef", true),
    ];
    for (version, field, prop, present) in cases {
        let props = spec_props(policy, version, field);
        assert_eq!(
            props.contains_key(prop),
            present,
            "{version} {field}.{prop}"
        );
    }
    // The other image kinds keep suspend in v1beta2.
    for crd in [&crds[0], &crds[2]] {
        assert!(spec_props(crd, "v1beta2", "spec").contains_key("suspend"));
    }
}

#[test]
fn automation_crd_disables_flux_substitution() {
    let crds = crds().expect("crds");
    let ann = crds[2].metadata.annotations.clone().unwrap_or_default();
    assert_eq!(
        ann.get("kustomize.toolkit.fluxcd.io/substitute")
            .map(String::as_str),
        Some("disabled")
    );
    assert!(
        crds[0]
            .metadata
            .annotations
            .clone()
            .unwrap_or_default()
            .is_empty()
    );
}

/// Kustomization `v1beta2` keeps its own spec (the kustomize patch fields
/// ferroflux still reads), `v1` has Flux's v1 spec; both Flux's
/// substitution opt-out.
#[test]
fn kustomization_v1beta2_has_its_own_spec() {
    let crds = crds().expect("crds");
    let ks = crds
        .iter()
        .find(|c| c.spec.names.kind == "Kustomization")
        .expect("Kustomization");
    let cases = [
        ("v1", "patchesStrategicMerge", false),
        ("v1beta2", "patchesStrategicMerge", true),
        ("v1beta2", "patchesJson6902", true),
        ("v1beta2", "validation", true),
        ("v1", "namePrefix", true),
        ("v1beta2", "namePrefix", false),
        ("v1", "sourceRef", true),
        ("v1beta2", "sourceRef", true),
        ("v1", "prune", true),
        ("v1beta2", "prune", true),
    ];
    for (version, prop, present) in cases {
        let props = spec_props(ks, version, "spec");
        assert_eq!(props.contains_key(prop), present, "{version} spec.{prop}");
    }
    // Status is shared.
    assert!(spec_props(ks, "v1beta2", "status").contains_key("lastAppliedRevision"));
    let ann = ks.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(
        ann.get("kustomize.toolkit.fluxcd.io/substitute")
            .map(String::as_str),
        Some("disabled")
    );
}
