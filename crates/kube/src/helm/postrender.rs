//! Helm v4's post-render, `combined` strategy (`pkg/action/action.go`
//! `annotateAndMerge`/`splitAndDeannotate`, helm-semantics.md §5.6): every
//! rendered document, hooks included, in file-name order and annotated
//! with the template it came from, is one stream through the
//! post-renderer; the output is grouped back by that annotation (removed
//! again, leaving the annotations map), documents without it named
//! `generated-by-postrender-<i>.yaml`, and sorted as Helm sorts a render:
//! the stored manifest keeps its `# Source:` lines, and hooks are
//! post-rendered too.

use std::collections::BTreeMap;

use ferroflux_helm::action::PostRender;
use ferroflux_helm::render::output::{self, Hook};
use ferroflux_kustomize::value::Value;

/// The annotation that carries a document's template through the
/// post-renderer.
pub const FILENAME_ANNOTATION: &str = "postrenderer.helm.sh/postrender-filename";

/// The post-rendered manifest (as `rel.Manifest`) and hooks.
pub fn combined(
    rendered: &ferroflux_helm::Release,
    post_render: &PostRender,
) -> Result<(String, Vec<Hook>), String> {
    let mut files: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for m in &rendered.manifests {
        files.entry(&m.name).or_default().push(&m.content);
    }
    for h in &rendered.hooks {
        files.entry(&h.path).or_default().push(&h.manifest);
    }
    let mut merged = Vec::new();
    for (path, docs) in &files {
        for doc in docs {
            let resources = ferroflux_kustomize::build::parse_resources(path, doc)
                .map_err(|e| format!("parsing {path}: {e}"))?;
            for mut r in resources {
                set_annotation(&mut r.value, FILENAME_ANNOTATION, path);
                merged.push(r.value);
            }
        }
    }
    let stream = ferroflux_kustomize::emit::documents(merged.iter())
        .map_err(|e| format!("writing merged docs: {e}"))?;
    let out = post_render(stream)
        .map_err(|e| format!("error while running post render on files: {e}"))?;
    let resources = ferroflux_kustomize::build::parse_resources("post-rendered", &out)
        .map_err(|e| format!("error while parsing post rendered output: {e}"))?;
    let mut grouped: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (i, mut r) in resources.into_iter().enumerate() {
        let name = take_annotation(&mut r.value, FILENAME_ANNOTATION)
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| format!("generated-by-postrender-{i}.yaml"));
        grouped.entry(name).or_default().push(r.value);
    }
    let mut texts = BTreeMap::new();
    for (name, docs) in grouped {
        let text = ferroflux_kustomize::emit::documents(docs.iter())
            .map_err(|e| format!("re-writing {name}: {e}"))?;
        texts.insert(name, text);
    }
    let (hooks, manifests) = output::sort_manifests(&texts, &output::read_head)
        .map_err(|e| format!("error while sorting post rendered manifests: {e}"))?;
    let mut manifest = String::new();
    if rendered.crds_included {
        for (name, content) in &rendered.crds {
            manifest.push_str(&format!("---\n# Source: {name}\n{content}\n"));
        }
    }
    for m in &manifests {
        manifest.push_str(&format!("---\n# Source: {}\n{}\n", m.name, m.content));
    }
    Ok((manifest, hooks))
}

fn set_annotation(v: &mut Value, key: &str, text: &str) {
    let Value::Map(obj) = v else { return };
    let Some(meta) = obj.map_entry("metadata") else {
        return;
    };
    if let Some(annotations) = meta.map_entry("annotations") {
        annotations.insert(key, Value::Str(text.to_string()));
    }
}

/// The annotation's text, removed (kyaml's `ClearAnnotation`: the map
/// stays, even empty).
fn take_annotation(v: &mut Value, key: &str) -> Option<String> {
    let Value::Map(obj) = v else { return None };
    let Some(Value::Map(meta)) = obj.get_mut("metadata") else {
        return None;
    };
    let Some(Value::Map(annotations)) = meta.get_mut("annotations") else {
        return None;
    };
    annotations.remove(key)?.scalar_text()
}
