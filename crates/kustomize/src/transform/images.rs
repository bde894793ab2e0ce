//! `images`: new names, tags and digests for container images, wherever a
//! `containers` or `initContainers` list holds them (kustomize's legacy walk
//! of the whole object) and in the `images` field specs.

use regex::Regex;

use super::fieldspec::{self, FieldSpec};
use crate::kustomization::Image;
use crate::resource::Resource;
use crate::value::Value;

pub fn run(resources: &mut [Resource], image: &Image, specs: &[FieldSpec]) -> Result<(), String> {
    // kustomize builds the pattern from the name unescaped; a name that is
    // no valid pattern matches nothing.
    let pattern = Regex::new(&format!(
        "^{}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$",
        image.name
    ))
    .ok();
    let Some(pattern) = pattern else {
        return Ok(());
    };
    let update = |n: &mut Value| set_image(n, image, &pattern);
    for r in resources.iter_mut() {
        if r.kind() == "CustomResourceDefinition" {
            continue;
        }
        legacy_walk(&mut r.value, &update).map_err(|e| super::in_resource(r, e))?;
        for fs in specs {
            let mut set = |n: &mut Value| update(n);
            fieldspec::apply(&mut r.value, fs, None, &mut set)
                .map_err(|e| super::in_resource(r, e))?;
        }
    }
    Ok(())
}

/// Every `containers`/`initContainers` sequence, at any depth.
fn legacy_walk(
    node: &mut Value,
    update: &dyn Fn(&mut Value) -> Result<(), String>,
) -> Result<(), String> {
    match node {
        Value::Map(m) => {
            for (key, value) in m.0.iter_mut() {
                legacy_walk(value, update)?;
                if (key == "containers" || key == "initContainers")
                    && let Value::Seq(items) = value
                {
                    for item in items {
                        if let Some(image) = item.as_map_mut().and_then(|c| c.get_mut("image")) {
                            update(image)?;
                        }
                    }
                }
            }
            Ok(())
        }
        Value::Seq(items) => items.iter_mut().try_for_each(|i| legacy_walk(i, update)),
        _ => Ok(()),
    }
}

fn set_image(node: &mut Value, image: &Image, pattern: &Regex) -> Result<(), String> {
    if matches!(node, Value::Map(_) | Value::Seq(_)) {
        return Err("wrong node kind: expected ScalarNode for an image".to_string());
    }
    let value = node.scalar_text().unwrap_or_default();
    if !pattern.is_match(&value) {
        return Ok(());
    }
    let (mut name, mut tag, mut digest) = split(&value);
    if !image.new_name.is_empty() {
        name = image.new_name.clone();
    }
    if !image.new_tag.is_empty() && !image.digest.is_empty() {
        tag = image.new_tag.clone();
        digest = image.digest.clone();
    } else if !image.new_tag.is_empty() {
        tag = image.new_tag.clone();
        digest.clear();
    } else if !image.digest.is_empty() {
        tag.clear();
        digest = image.digest.clone();
    } else if !image.tag_suffix.is_empty() {
        tag.push_str(&image.tag_suffix);
        digest.clear();
    }
    if !tag.is_empty() {
        name = format!("{name}:{tag}");
    }
    if !digest.is_empty() {
        name = format!("{name}@{digest}");
    }
    fieldspec::set_scalar(node, &name)
}

/// An image reference as name, tag and digest (a `:` before the first `/`
/// is a registry port, not a tag).
pub fn split(image: &str) -> (String, String, String) {
    let slash = image.find('/').filter(|&i| i > 0).unwrap_or(0);
    let search = &image[slash..];
    let at = search.find('@');
    let colon = search.find(':');
    match (colon, at) {
        (None, None) => (image.to_string(), String::new(), String::new()),
        (c, Some(d)) if c.is_none_or(|c| d < c) => {
            let d = d + slash;
            (
                image[..d].to_string(),
                String::new(),
                image[d + 1..].to_string(),
            )
        }
        (Some(c), Some(d)) => {
            let (c, d) = (c + slash, d + slash);
            (
                image[..c].to_string(),
                image[c + 1..d].to_string(),
                image[d + 1..].to_string(),
            )
        }
        (Some(c), None) => {
            let c = c + slash;
            (
                image[..c].to_string(),
                image[c + 1..].to_string(),
                String::new(),
            )
        }
        (None, Some(_)) => (image.to_string(), String::new(), String::new()),
    }
}
