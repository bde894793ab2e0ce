//! Random documents encrypted by sops, decrypted by ours: the same bytes as
//! `sops decrypt` prints.

use ferroflux_sops::Format;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::oracle::{Recipient, oracle, same_as_sops};

#[derive(Debug, Clone)]
enum Doc {
    Str(String),
    Int(i64),
    Bool(bool),
    Map(Vec<(String, Doc)>),
    List(Vec<Doc>),
}

fn key() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,8}".prop_filter("not sops", |k| k != "sops")
}

fn scalar() -> impl Strategy<Value = Doc> {
    prop_oneof![
        "[ -~]{0,24}".prop_map(Doc::Str),
        "[a-zA-Z0-9 ]{1,12}\n[a-z ]{0,12}\n?".prop_map(Doc::Str),
        "[éü✓a-z]{1,6}".prop_map(Doc::Str),
        any::<i64>().prop_map(Doc::Int),
        any::<bool>().prop_map(Doc::Bool),
    ]
}

fn doc() -> impl Strategy<Value = Doc> {
    scalar().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec((key(), inner.clone()), 1..4).prop_map(dedup),
            prop::collection::vec(inner, 1..4).prop_map(Doc::List),
        ]
    })
}

fn dedup(mut entries: Vec<(String, Doc)>) -> Doc {
    let mut seen = std::collections::HashSet::new();
    entries.retain(|(k, _)| seen.insert(k.clone()));
    Doc::Map(entries)
}

fn to_json(d: &Doc) -> serde_json::Value {
    match d {
        Doc::Str(s) => serde_json::Value::String(s.clone()),
        Doc::Int(i) => serde_json::Value::from(*i),
        Doc::Bool(b) => serde_json::Value::Bool(*b),
        Doc::List(items) => items.iter().map(to_json).collect(),
        Doc::Map(entries) => {
            let mut m = serde_json::Map::new();
            for (k, v) in entries {
                m.insert(k.clone(), to_json(v));
            }
            serde_json::Value::Object(m)
        }
    }
}

#[test]
fn random_json_documents_decrypt_as_sops_does() {
    let Some(o) = oracle() else { return };
    let mut runner = TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    });
    let top = prop::collection::vec((key(), doc()), 1..6).prop_map(dedup);
    runner
        .run(&top, |d| {
            let mut m = to_json(&d);
            if let serde_json::Value::Object(obj) = &mut m {
                obj.remove("sops");
            }
            let plain = serde_json::to_vec_pretty(&m).expect("json");
            let enc = o.encrypt(&plain, Format::Json, Recipient::Age, &[]);
            same_as_sops(o, &enc, Format::Json, Format::Json, true, "random JSON");
            // The same document through YAML output.
            same_as_sops(
                o,
                &enc,
                Format::Json,
                Format::Yaml,
                true,
                "random JSON as YAML",
            );
            Ok(())
        })
        .expect("differential");
}

#[test]
fn random_dotenv_documents_decrypt_as_sops_does() {
    let Some(o) = oracle() else { return };
    let mut runner = TestRunner::new(Config {
        cases: 16,
        failure_persistence: None,
        ..Config::default()
    });
    let entries = prop::collection::vec(("[A-Z][A-Z0-9_]{0,8}", "[ -~]{0,20}"), 1..6);
    runner
        .run(&entries, |entries| {
            let mut plain = String::new();
            let mut seen = std::collections::HashSet::new();
            for (k, v) in entries {
                if k.starts_with("SOPS") || !seen.insert(k.clone()) {
                    continue;
                }
                plain.push_str(&format!("{k}={v}\n"));
            }
            if plain.is_empty() {
                return Ok(());
            }
            let enc = o.encrypt(plain.as_bytes(), Format::Dotenv, Recipient::Age, &[]);
            same_as_sops(
                o,
                &enc,
                Format::Dotenv,
                Format::Dotenv,
                true,
                "random dotenv",
            );
            Ok(())
        })
        .expect("differential");
}

/// YAML text for a document: two-space blocks, strings double-quoted as
/// JSON, a comment line before some entries.
fn yaml_text(d: &Doc, indent: usize, comments: &mut impl Iterator<Item = bool>, out: &mut String) {
    let pad = " ".repeat(indent);
    match d {
        Doc::Map(entries) => {
            for (k, v) in entries {
                if comments.next().unwrap_or(false) {
                    out.push_str(&format!("{pad}# about {k}\n"));
                }
                out.push_str(&format!("{pad}{k}:"));
                match v {
                    Doc::Map(_) | Doc::List(_) => {
                        out.push('\n');
                        yaml_text(v, indent + 2, comments, out);
                    }
                    scalar => {
                        out.push(' ');
                        yaml_text(scalar, indent, comments, out);
                    }
                }
            }
        }
        Doc::List(items) => {
            for v in items {
                out.push_str(&format!("{pad}-"));
                match v {
                    Doc::Map(_) | Doc::List(_) => {
                        out.push('\n');
                        yaml_text(v, indent + 2, comments, out);
                    }
                    scalar => {
                        out.push(' ');
                        yaml_text(scalar, indent, comments, out);
                    }
                }
            }
        }
        scalar => {
            out.push_str(&to_json(scalar).to_string());
            out.push('\n');
        }
    }
}

#[test]
fn random_yaml_documents_with_comments_decrypt_as_sops_does() {
    let Some(o) = oracle() else { return };
    let mut runner = TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    });
    let top = (
        prop::collection::vec((key(), doc()), 1..6).prop_map(dedup),
        prop::collection::vec(any::<bool>(), 32),
    );
    runner
        .run(&top, |(d, marks)| {
            let mut text = String::new();
            yaml_text(&d, 0, &mut marks.into_iter(), &mut text);
            let enc = o.encrypt(text.as_bytes(), Format::Yaml, Recipient::Age, &[]);
            // sops' own MAC breaks on comments in sequences: no MAC here.
            same_as_sops(
                o,
                &enc,
                Format::Yaml,
                Format::Yaml,
                false,
                &format!("random YAML:\n{text}"),
            );
            Ok(())
        })
        .expect("differential");
}
