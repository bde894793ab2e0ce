//! The result: one [`Link`] per step of the chain, rendered as text or JSON.

use std::fmt::Write as _;

use serde::Serialize;

/// How a link stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkState {
    Ok,
    Broken,
    /// Not enough evidence (no state, no tags, an earlier link missing).
    Unknown,
}

impl LinkState {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Ok => "ok",
            LinkState::Broken => "broken",
            LinkState::Unknown => "unknown",
        }
    }
}

/// One link of the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    /// `marker`, `policy`, `repository`, `tags`, `exclusion`, `filter`,
    /// `range`, `automation`, `path`, `update`, `push`.
    pub link: &'static str,
    pub state: LinkState,
    /// Where the evidence is, relative to the repository.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
}

impl Link {
    pub fn new(link: &'static str, state: LinkState, message: impl Into<String>) -> Link {
        Link {
            link,
            state,
            file: None,
            line: None,
            message: message.into(),
            evidence: Vec::new(),
        }
    }

    pub fn ok(link: &'static str, message: impl Into<String>) -> Link {
        Link::new(link, LinkState::Ok, message)
    }

    pub fn broken(link: &'static str, message: impl Into<String>) -> Link {
        Link::new(link, LinkState::Broken, message)
    }

    pub fn unknown(link: &'static str, message: impl Into<String>) -> Link {
        Link::new(link, LinkState::Unknown, message)
    }

    pub fn at(mut self, file: impl Into<String>, line: usize) -> Link {
        self.file = Some(file.into());
        self.line = (line > 0).then_some(line);
        self
    }

    pub fn with(mut self, evidence: impl Into<String>) -> Link {
        self.evidence.push(evidence.into());
        self
    }

    /// `FILE:LINE: ` or `FILE: ` or nothing.
    pub fn place(&self) -> String {
        match (&self.file, self.line) {
            (Some(f), Some(l)) => format!("{f}:{l}: "),
            (Some(f), None) => format!("{f}: "),
            _ => String::new(),
        }
    }
}

/// The whole chain for one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The target as given, relative to the repository when it is a file.
    pub target: String,
    /// `namespace/name` of the ImagePolicy the chain runs through, once known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    pub links: Vec<Link>,
}

impl Report {
    /// The first broken link: where the chain stops.
    pub fn first_broken(&self) -> Option<&Link> {
        self.links.iter().find(|l| l.state == LinkState::Broken)
    }

    /// No link is broken (unknown links may remain).
    pub fn is_whole(&self) -> bool {
        self.first_broken().is_none()
    }

    pub fn link(&self, name: &str) -> Option<&Link> {
        self.links.iter().find(|l| l.link == name)
    }

    /// The one-line conclusion.
    pub fn verdict(&self) -> String {
        if let Some(b) = self.first_broken() {
            return format!("broken at {}: {}", b.link, b.message);
        }
        let unknown = self
            .links
            .iter()
            .filter(|l| l.state == LinkState::Unknown)
            .count();
        match unknown {
            0 => "whole: every link holds".to_string(),
            n => format!("whole as far as known ({n} link(s) unknown)"),
        }
    }

    /// Human text: a header, one line per link with its evidence indented
    /// under it, and the verdict.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "explain {}", self.target);
        if let Some(p) = &self.policy {
            let _ = writeln!(out, "policy  {p}");
        }
        for l in &self.links {
            let _ = writeln!(
                out,
                "{:<8} {:<11} {}{}",
                l.state.as_str(),
                l.link,
                l.place(),
                l.message
            );
            for e in &l.evidence {
                let _ = writeln!(out, "{:<20} - {e}", "");
            }
        }
        let _ = writeln!(out, "verdict: {}", self.verdict());
        out
    }

    /// The machine-readable form: target, policy, verdict and the links.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "target": self.target,
            "policy": self.policy,
            "whole": self.is_whole(),
            "brokenLink": self.first_broken().map(|l| l.link),
            "verdict": self.verdict(),
            "links": self.links,
        })
    }
}

#[cfg(test)]
mod tests;
