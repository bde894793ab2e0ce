//! The seeds' real templates (read from `$FERROFLUX_SEEDS_DIR/manifests`):
//! 001, 002 and 004 use the legacy `.Updated.Images` on v1beta2 objects,
//! which ferroflux renders; 000's template was mangled into `<!--swigN-->`
//! placeholders, which the validator must be able to flag.

use std::collections::BTreeMap;

use ferroflux_template::{
    ApiVersion, AutomationRef, Change, LatestRef, ObjectRef, RenderOptions, TemplateData,
    mangled_placeholders, render,
};

/// The `messageTemplate` of a manifest: a `|` block or a single-quoted scalar.
fn message_template(manifest: &str) -> String {
    let mut lines = manifest.lines();
    while let Some(line) = lines.next() {
        let Some((indent, rest)) = line.split_once("messageTemplate:") else {
            continue;
        };
        let rest = rest.trim();
        if let Some(q) = rest.strip_prefix('\'') {
            return q
                .strip_suffix('\'')
                .expect("closing quote")
                .replace("''", "'");
        }
        assert_eq!(
            rest, "|",
            "only block and single-quoted scalars are expected"
        );
        let min = indent.len() + 1;
        let mut body: Vec<&str> = Vec::new();
        let mut block_indent = None;
        for l in lines.by_ref() {
            let ind = l.len() - l.trim_start().len();
            if !l.trim().is_empty() && ind < min {
                break;
            }
            let bi = *block_indent.get_or_insert(ind);
            body.push(if l.len() >= bi { &l[bi..] } else { "" });
        }
        while body.last().is_some_and(|l| l.is_empty()) {
            body.pop();
        }
        return body.join("\n") + "\n";
    }
    panic!("no messageTemplate");
}

fn seed(rel: &str) -> Option<String> {
    let dir = ferroflux_testkit::env::dir_from_env("FERROFLUX_SEEDS_DIR")?;
    Some(std::fs::read_to_string(dir.join("manifests").join(rel)).expect("read seed manifest"))
}

fn one_change(ns: &str, name: &str, policy: &str, image: &str, tag: &str) -> TemplateData {
    TemplateData {
        automation: AutomationRef {
            name: name.into(),
            namespace: ns.into(),
        },
        values: None,
        policies: BTreeMap::from([(
            format!("{ns}/{policy}"),
            LatestRef {
                name: image.into(),
                tag: tag.into(),
                digest: String::new(),
            },
        )]),
        changes: vec![Change {
            file: "deployment.yaml".into(),
            object: ObjectRef {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                name: "app".into(),
                namespace: ns.into(),
            },
            old_value: format!("{image}:old"),
            new_value: format!("{image}:{tag}"),
            setter: format!("{ns}:{policy}"),
        }],
    }
}

const V1BETA2: RenderOptions = RenderOptions {
    api_version: ApiVersion::V1beta2,
};

#[test]
fn seed_templates_render_legacy_updated_images() {
    let cases = [
        (
            "001/26-image-automation.yaml",
            one_change(
                "flux-system",
                "web-app",
                "web-app",
                "myorg/web-app",
                "1.0.1",
            ),
            "auto: update flux-system/web-app image\n- myorg/web-app:1.0.1\n",
        ),
        (
            "002/03-imageupdateautomation.yaml",
            one_change(
                "flux-system",
                "my-app",
                "my-app",
                "registry.example.com/myorg/myapp",
                "1.2.3",
            ),
            "Update image to registry.example.com/myorg/myapp:1.2.3\n",
        ),
        (
            "004/08-imageupdateautomation.yaml",
            one_change(
                "blog",
                "blog-automation",
                "blog-policy",
                "ghcr.io/ruedigerp/ink-blog.kuepper.nrw",
                "v1.9.32",
            ),
            "Automated image update\n\nAutomation name: blog/blog-automation\n\nImages:\n- ghcr.io/ruedigerp/ink-blog.kuepper.nrw:v1.9.32\n",
        ),
    ];
    for (rel, data, want) in cases {
        let Some(manifest) = seed(rel) else { return };
        let template = message_template(&manifest);
        assert!(template.contains(".Updated.Images"), "{rel}");
        assert_eq!(render(&template, &data, V1BETA2).unwrap(), want, "{rel}");
        // The same template on a v1 object stalls, as in Flux.
        let err = render(&template, &data, RenderOptions::default()).unwrap_err();
        assert_eq!(err.reason(), "RemovedTemplateField", "{rel}");
        assert!(mangled_placeholders(&template).is_none(), "{rel}");
    }
}

#[test]
fn seed_000_mangled_template_is_flagged() {
    let Some(manifest) = seed("000/05-automation-imageupdateautomation.yaml") else {
        return;
    };
    let template = message_template(&manifest);
    let warning = mangled_placeholders(&template).expect("seed 000 is mangled");
    assert!(
        warning.contains("8 placeholder(s) <!--swig0-->, <!--swig1-->, <!--swig2--> and 5 more"),
        "{warning}"
    );
    // Go renders such a template verbatim: the placeholders would land in every commit.
    let data = one_change(
        "flux-system",
        "flux-system",
        "keyword-correction",
        "harbor.example/tbd/kc",
        "0.13.3",
    );
    assert_eq!(render(&template, &data, V1BETA2).unwrap(), template);
}
