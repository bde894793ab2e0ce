//! The flat formats: dotenv (`stores/dotenv/store.go`) and INI
//! (`stores/ini/store.go`, gopkg.in/ini.v1 with sops' options).

use crate::tree::{Branch, Item, Key, Value, val_to_string};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlatError {
    #[error("invalid dotenv input line {line}: no '='")]
    DotenvLine { line: usize },
    #[error("cannot use complex value in dotenv file; offending key {0}")]
    Complex(String),
    #[error("Could not unmarshal input data: line {line}: {message}")]
    Ini { line: usize, message: &'static str },
    #[error("Error encoding section: Section values should always be TreeBranches")]
    IniSection,
}

pub fn load_dotenv(source: &[u8]) -> Result<Branch, FlatError> {
    let mut branch = Vec::new();
    for (i, line) in source.split(|b| *b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let text = String::from_utf8_lossy(line);
        if let Some(c) = text.strip_prefix('#') {
            branch.push(Item::comment(c, false));
            continue;
        }
        let (k, v) = text
            .split_once('=')
            .ok_or(FlatError::DotenvLine { line: i + 1 })?;
        branch.push(Item::new(k, Value::Str(v.replace("\\n", "\n"))));
    }
    Ok(branch)
}

pub fn emit_dotenv(branch: &[Item]) -> Result<String, FlatError> {
    let mut out = String::new();
    for item in branch {
        match (&item.key, &item.value) {
            (Key::Str(k), Value::Map(_) | Value::Seq(_)) => {
                return Err(FlatError::Complex(k.clone()));
            }
            (Key::Comment(c), _) => {
                out.push('#');
                out.push_str(&c.text);
                out.push('\n');
            }
            (Key::Str(k), Value::Str(s)) => {
                out.push_str(k);
                out.push('=');
                out.push_str(&s.replace('\n', "\\n"));
                out.push('\n');
            }
            (Key::Str(k), v) => {
                out.push_str(k);
                out.push('=');
                out.push_str(&val_to_string(v));
                out.push('\n');
            }
        }
    }
    Ok(out)
}

/// ini.v1's reading of what sops writes: sections, `key = value` (or `:`),
/// comment lines (`;`, `#`) before a section or key, quoted values.
pub fn load_ini(source: &[u8]) -> Result<Branch, FlatError> {
    let text = String::from_utf8_lossy(source);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut sections: Vec<(String, Option<String>, Vec<Item>)> =
        vec![("DEFAULT".to_string(), None, Vec::new())];
    let mut comments: Vec<String> = Vec::new();
    let mut lines = text.split('\n').enumerate().peekable();
    while let Some((i, raw)) = lines.next() {
        let line = raw.trim_matches([' ', '\t', '\r']);
        if line.is_empty() {
            continue;
        }
        if line.starts_with(';') || line.starts_with('#') {
            comments.push(line.to_string());
            continue;
        }
        if line.starts_with('[') {
            let close = line.rfind(']').ok_or(FlatError::Ini {
                line: i + 1,
                message: "unclosed section header",
            })?;
            let name = line[1..close].trim().to_string();
            let comment = (!comments.is_empty()).then(|| comments.join("\n"));
            comments.clear();
            sections.push((name, comment, Vec::new()));
            continue;
        }
        let Some(at) = line.find(['=', ':']) else {
            return Err(FlatError::Ini {
                line: i + 1,
                message: "key-value delimiter not found",
            });
        };
        let key = unquote_key(line[..at].trim());
        let mut value = line[at + 1..].trim_start_matches([' ', '\t']).to_string();
        if let Some(rest) = value.strip_prefix("\"\"\"") {
            // A multi-line value in triple quotes.
            let mut body = rest.to_string();
            while !body.contains("\"\"\"") {
                let Some((_, next)) = lines.next() else {
                    return Err(FlatError::Ini {
                        line: i + 1,
                        message: "unterminated triple-quoted value",
                    });
                };
                body.push('\n');
                body.push_str(next.strip_suffix('\r').unwrap_or(next));
            }
            let end = body.find("\"\"\"").unwrap_or(body.len());
            value = body[..end].to_string();
        } else if value.len() >= 2 && value.starts_with('`') && value[1..].contains('`') {
            let end = value[1..].find('`').map_or(value.len(), |e| e + 1);
            value = value[1..end].to_string();
        } else if value.len() >= 2 && value.starts_with('"') && value[1..].contains('"') {
            let end = value[1..].rfind('"').map_or(value.len(), |e| e + 1);
            value = value[1..end].to_string();
        } else {
            if let Some(cut) = value.find(['#', ';']) {
                value.truncate(cut);
            }
            value = value.trim_end().to_string();
        }
        let section = sections.last_mut().expect("DEFAULT is always there");
        section.2.push(Item::new(key, Value::Str(value)));
        if !comments.is_empty() {
            // ini.v1 keeps a key's comment; sops lists it after the key.
            let text = strip_comment_char(&comments.join("\n"));
            section.2.push(Item::comment(text, false));
            comments.clear();
        }
    }
    let mut branch = Vec::new();
    for (name, comment, items) in sections {
        let mut inner = Vec::new();
        if let Some(c) = comment {
            inner.push(Item::comment(strip_comment_char(&c), false));
        }
        inner.extend(items);
        branch.push(Item::new(name, Value::Map(inner)));
    }
    Ok(branch)
}

fn unquote_key(k: &str) -> String {
    for q in ["\"\"\"", "`", "\""] {
        if k.len() >= 2 * q.len() && k.starts_with(q) && k.ends_with(q) {
            return k[q.len()..k.len() - q.len()].to_string();
        }
    }
    k.to_string()
}

/// sops' `stripCommentChar`.
fn strip_comment_char(c: &str) -> String {
    if c.starts_with(';') {
        c.trim_start_matches([';', ' ']).to_string()
    } else if c.starts_with('#') {
        c.trim_start_matches(['#', ' ']).to_string()
    } else {
        c.to_string()
    }
}

fn ini_comment_lines(comment: &str, out: &mut String) {
    for line in comment.split('\n') {
        if line.starts_with('#') || line.starts_with(';') {
            out.push_str(&line[..1]);
            out.push(' ');
            out.push_str(line[1..].trim());
        } else {
            out.push_str("; ");
            out.push_str(line.trim());
        }
        out.push('\n');
    }
}

/// ini.v1's `WriteTo` with PrettyFormat: aligned `=`, a blank line between
/// sections, values quoted when they need it.
pub fn emit_ini(branches: &[Branch]) -> Result<String, FlatError> {
    let mut out = String::new();
    let mut written = 0usize;
    for branch in branches {
        for item in branch {
            let Key::Str(name) = &item.key else { continue };
            let Value::Map(items) = &item.value else {
                return Err(FlatError::IniSection);
            };
            let mut section_comment = None;
            let mut first = 0;
            if let Some(Item {
                key: Key::Comment(c),
                ..
            }) = items.first()
            {
                section_comment = Some(c.text.clone());
                first = 1;
            }
            let mut keys: Vec<(String, String, Option<String>)> = Vec::new();
            for kv in &items[first..] {
                match &kv.key {
                    Key::Comment(c) => {
                        if let Some(last) = keys.last_mut() {
                            last.2 = Some(c.text.clone());
                        }
                    }
                    Key::Str(k) => {
                        if let Some(pos) = keys.iter().position(|(n, _, _)| n == k) {
                            keys[pos].1 = val_to_string(&kv.value);
                        } else {
                            keys.push((k.clone(), val_to_string(&kv.value), None));
                        }
                    }
                }
            }
            let is_default = written == 0 && name == "DEFAULT";
            if is_default && keys.is_empty() {
                continue;
            }
            if written > 0 {
                out.push('\n');
            }
            if let Some(c) = section_comment.filter(|c| !c.is_empty()) {
                ini_comment_lines(&c, &mut out);
            }
            if !is_default {
                out.push('[');
                out.push_str(name);
                out.push_str("]\n");
            }
            written += 1;
            let quoted_key = |k: &str| -> String {
                if k.contains('"') || k.contains("=:") {
                    format!("`{k}`")
                } else if k.contains('`') {
                    format!("\"\"\"{k}\"\"\"")
                } else {
                    k.to_string()
                }
            };
            let align = keys
                .iter()
                .map(|(k, _, _)| quoted_key(k).len())
                .max()
                .unwrap_or(0);
            for (k, v, comment) in &keys {
                if let Some(c) = comment.as_deref().filter(|c| !c.is_empty()) {
                    ini_comment_lines(c, &mut out);
                }
                let k = quoted_key(k);
                out.push_str(&k);
                for _ in k.len()..align {
                    out.push(' ');
                }
                out.push_str(" = ");
                if v.contains('\n') || v.contains('`') {
                    out.push_str(&format!("\"\"\"{v}\"\"\""));
                } else if v.contains('#') || v.contains(';') {
                    out.push_str(&format!("`{v}`"));
                } else if v.trim() != v {
                    out.push_str(&format!("\"{v}\""));
                } else {
                    out.push_str(v);
                }
                out.push('\n');
            }
        }
    }
    Ok(out)
}
