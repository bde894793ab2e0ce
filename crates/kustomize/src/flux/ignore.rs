//! The `flux` CLI's ignore rules (`fluxcd/pkg/sourceignore` over go-git's
//! gitignore): Flux's defaults (VCS files, CI files, images and archives,
//! `**/.sops.yaml`, `**/.goreleaser.yml`, `**/.flux.yaml`), every
//! `.sourceignore` below the build directory (each relative to its own
//! directory), then `--ignore-paths`. The last pattern that matches
//! decides; `!` re-includes. [`Matcher::for_artifact`] is the same
//! matcher with source-controller's rule for GitRepository artifacts.

use std::path::{Component, Path};

use crate::fs::FileSystem;

const EXCLUDE_VCS: &str = ".git/,.gitignore,.gitmodules,.gitattributes";
const EXCLUDE_EXT: &str = "*.jpg,*.jpeg,*.gif,*.png,*.wmv,*.flv,*.tar.gz,*.zip";
const EXCLUDE_CI: &str = ".github/,.circleci/,.travis.yml,.gitlab-ci.yml,appveyor.yml,.drone.yml,\
                          cloudbuild.yaml,codeship-services.yml,codeship-steps.yml";
const EXCLUDE_EXTRA: &str = "**/.goreleaser.yml,**/.sops.yaml,**/.flux.yaml";

/// The file holding a directory's patterns.
pub const IGNORE_FILE: &str = ".sourceignore";
/// `.sourceignore` patterns read at most (a repository is a stranger's).
pub const MAX_PATTERNS: usize = 10_000;
/// Directories walked for `.sourceignore` files at most.
pub const MAX_DIRS: usize = 100_000;

/// One gitignore pattern, relative to `domain` (path components).
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    domain: Vec<String>,
    pattern: Vec<String>,
    inclusion: bool,
    dir_only: bool,
    is_glob: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MatchResult {
    No,
    Exclude,
    Include,
}

impl Pattern {
    /// go-git's `ParsePattern`.
    pub fn parse(line: &str, domain: &[String]) -> Pattern {
        let mut p = line;
        let inclusion = p.starts_with('!');
        if inclusion {
            p = &p[1..];
        }
        let trimmed;
        if !p.ends_with("\\ ") {
            trimmed = p.trim_end_matches(' ').to_string();
            p = &trimmed;
        }
        let dir_only = p.ends_with('/');
        if dir_only {
            p = &p[..p.len() - 1];
        }
        Pattern {
            domain: domain.to_vec(),
            pattern: p.split('/').map(str::to_string).collect(),
            inclusion,
            dir_only,
            is_glob: p.contains('/'),
        }
    }

    fn matches(&self, path: &[String], is_dir: bool) -> MatchResult {
        if path.len() <= self.domain.len() || path[..self.domain.len()] != self.domain[..] {
            return MatchResult::No;
        }
        let path = &path[self.domain.len()..];
        let hit = if self.is_glob {
            self.glob_match(path, is_dir)
        } else {
            self.simple_name_match(path, is_dir)
        };
        match (hit, self.inclusion) {
            (false, _) => MatchResult::No,
            (true, true) => MatchResult::Include,
            (true, false) => MatchResult::Exclude,
        }
    }

    fn simple_name_match(&self, path: &[String], is_dir: bool) -> bool {
        for (i, name) in path.iter().enumerate() {
            match file_match(&self.pattern[0], name) {
                None => return false,
                Some(false) => continue,
                Some(true) => {}
            }
            if self.dir_only && !is_dir && i == path.len() - 1 {
                return false;
            }
            return true;
        }
        false
    }

    fn glob_match(&self, mut path: &[String], is_dir: bool) -> bool {
        let mut matched = false;
        let mut can_traverse = false;
        for (i, pattern) in self.pattern.iter().enumerate() {
            if pattern.is_empty() {
                can_traverse = false;
                continue;
            }
            if pattern == "**" {
                if i == self.pattern.len() - 1 {
                    break;
                }
                can_traverse = true;
                continue;
            }
            if pattern.contains("**") {
                return false;
            }
            if path.is_empty() {
                return false;
            }
            if can_traverse {
                can_traverse = false;
                while let Some((e, rest)) = path.split_first() {
                    path = rest;
                    match file_match(pattern, e) {
                        None => return false,
                        Some(true) => {
                            matched = true;
                            break;
                        }
                        Some(false) if path.is_empty() => matched = false,
                        Some(false) => {}
                    }
                }
            } else {
                if file_match(pattern, &path[0]) != Some(true) {
                    return false;
                }
                matched = true;
                path = &path[1..];
            }
        }
        if matched && self.dir_only && !is_dir && path.is_empty() {
            matched = false;
        }
        matched
    }
}

/// The patterns in force for a build directory.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    patterns: Vec<Pattern>,
    /// Patterns from `.sourceignore` files and `--ignore-paths`.
    user: usize,
}

impl Matcher {
    /// Flux's defaults for `dir`, its `.sourceignore` files, then `extra`
    /// (`--ignore-paths` entries, one pattern each).
    pub fn for_dir(fs: &dyn FileSystem, dir: &Path, extra: &[String]) -> Matcher {
        let domain = components(dir);
        let mut patterns: Vec<Pattern> = [EXCLUDE_VCS, EXCLUDE_EXT, EXCLUDE_CI, EXCLUDE_EXTRA]
            .iter()
            .flat_map(|list| list.split(','))
            .map(|p| Pattern::parse(p, &domain))
            .collect();
        let defaults = patterns.len();
        let mut dirs = 0;
        load_ignore_files(fs, dir, &domain, &mut patterns, &mut dirs);
        patterns.extend(
            extra
                .iter()
                .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
                .map(|l| Pattern::parse(l, &domain)),
        );
        Matcher {
            user: patterns.len() - defaults,
            patterns,
        }
    }

    /// source-controller's archive filter (`pkg/artifact`
    /// `SourceIgnoreFilter` over `sourceignore.LoadIgnorePatterns`, then
    /// `spec.ignore`): the VCS patterns, then every `.sourceignore` below
    /// `dir` and the lines of `ignore`; Flux's other defaults (CI files,
    /// images, archives, `**/.sops.yaml`, ...) only when those two gave no
    /// pattern at all, so one `.sourceignore` anywhere re-admits them.
    pub fn for_artifact(fs: &dyn FileSystem, dir: &Path, ignore: Option<&str>) -> Matcher {
        let domain = components(dir);
        let parse = |list: &str| -> Vec<Pattern> {
            list.split(',')
                .map(|p| Pattern::parse(p, &domain))
                .collect()
        };
        let mut user = Vec::new();
        let mut dirs = 0;
        load_ignore_files(fs, dir, &domain, &mut user, &mut dirs);
        if let Some(ignore) = ignore {
            user.extend(
                ignore
                    .lines()
                    .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
                    .take(MAX_PATTERNS)
                    .map(|l| Pattern::parse(l, &domain)),
            );
        }
        let mut patterns = parse(EXCLUDE_VCS);
        if user.is_empty() {
            for list in [EXCLUDE_EXT, EXCLUDE_CI, EXCLUDE_EXTRA] {
                patterns.extend(parse(list));
            }
        }
        let count = user.len();
        patterns.extend(user);
        Matcher {
            patterns,
            user: count,
        }
    }

    /// Whether some pattern re-includes (`!`): only then can a path below
    /// an ignored directory be kept, and a walk must enter that directory.
    pub fn has_inclusions(&self) -> bool {
        self.patterns.iter().any(|p| p.inclusion)
    }

    /// Whether a `.sourceignore` or `--ignore-paths` pattern exists: the
    /// scan for a generated kustomization applies the rules (defaults
    /// included) only then (`shouldIgnoreFile` returns early otherwise).
    pub fn has_user_patterns(&self) -> bool {
        self.user > 0
    }

    /// Whether `path` (absolute) is ignored.
    pub fn is_ignored(&self, path: &Path, is_dir: bool) -> bool {
        let parts = components(path);
        for p in self.patterns.iter().rev() {
            match p.matches(&parts, is_dir) {
                MatchResult::No => continue,
                MatchResult::Exclude => return true,
                MatchResult::Include => return false,
            }
        }
        false
    }
}

/// Go's `strings.Split(abs, "/")`: a leading empty component for `/`.
fn components(path: &Path) -> Vec<String> {
    let mut out = vec![String::new()];
    for c in path.components() {
        if let Component::Normal(n) = c {
            out.push(n.to_string_lossy().into_owned());
        }
    }
    out
}

/// `LoadIgnorePatterns`: `dir/.sourceignore`, then every subdirectory's
/// (not `.git`), in lexical order, each relative to its directory.
fn load_ignore_files(
    fs: &dyn FileSystem,
    dir: &Path,
    domain: &[String],
    out: &mut Vec<Pattern>,
    dirs: &mut usize,
) {
    *dirs += 1;
    if *dirs > MAX_DIRS || out.len() > MAX_PATTERNS {
        return;
    }
    if let Ok(bytes) = fs.read(&dir.join(IGNORE_FILE)) {
        for line in String::from_utf8_lossy(&bytes).lines() {
            if !line.starts_with('#') && !line.trim().is_empty() && out.len() <= MAX_PATTERNS {
                out.push(Pattern::parse(line, domain));
            }
        }
    }
    let Ok(names) = fs.list_dir(dir) else {
        return;
    };
    for name in names {
        let sub = dir.join(&name);
        // os.ReadDir does not follow symlinks: a link is not a directory.
        let linked = fs
            .real_path(&sub)
            .ok()
            .zip(fs.real_path(dir).ok())
            .is_some_and(|(real, parent)| real != parent.join(&name));
        if name != ".git" && !linked && fs.is_dir(&sub) {
            let mut d = domain.to_vec();
            d.push(name);
            load_ignore_files(fs, &sub, &d, out, dirs);
        }
    }
}

/// Go's `filepath.Match` on one path component; `None` is a bad pattern.
fn file_match(pattern: &str, name: &str) -> Option<bool> {
    glob::matches(pattern.as_bytes(), name.as_bytes())
}

/// Go's `path.Match` (`*` and `?` stop at `/`; components never hold one).
mod glob {
    // Go's scanner helpers are shared with envsubst's `path.Match`.
    use crate::flux::envsubst::{decode_rune as decode, get_esc, scan_chunk};

    pub fn matches(mut pattern: &[u8], mut name: &[u8]) -> Option<bool> {
        'pattern: while !pattern.is_empty() {
            let (star, chunk, rest) = scan_chunk(pattern);
            pattern = rest;
            if star && chunk.is_empty() {
                return Some(!name.contains(&b'/'));
            }
            let (t, ok, bad) = match_chunk(chunk, name);
            if ok && (t.is_empty() || !pattern.is_empty()) {
                name = t;
                continue;
            }
            if bad {
                return None;
            }
            if star {
                let mut i = 0;
                while i < name.len() && name[i] != b'/' {
                    let (t, ok, bad) = match_chunk(chunk, &name[i + 1..]);
                    if ok {
                        if pattern.is_empty() && !t.is_empty() {
                            i += 1;
                            continue;
                        }
                        name = t;
                        continue 'pattern;
                    }
                    if bad {
                        return None;
                    }
                    i += 1;
                }
            }
            return Some(false);
        }
        Some(name.is_empty())
    }

    fn match_chunk<'s>(mut chunk: &[u8], mut s: &'s [u8]) -> (&'s [u8], bool, bool) {
        const NO: (&[u8], bool, bool) = (&[], false, false);
        const BAD: (&[u8], bool, bool) = (&[], false, true);
        while !chunk.is_empty() {
            if s.is_empty() {
                return NO;
            }
            match chunk[0] {
                b'[' => {
                    let (r, n) = decode(s);
                    s = &s[n..];
                    chunk = &chunk[1..];
                    let negated = chunk.first() == Some(&b'^');
                    if negated {
                        chunk = &chunk[1..];
                    }
                    let mut matched = false;
                    let mut nrange = 0;
                    loop {
                        if chunk.first() == Some(&b']') && nrange > 0 {
                            chunk = &chunk[1..];
                            break;
                        }
                        let Some((lo, rest)) = get_esc(chunk) else {
                            return BAD;
                        };
                        chunk = rest;
                        let mut hi = lo;
                        if chunk[0] == b'-' {
                            let Some((h, rest)) = get_esc(&chunk[1..]) else {
                                return BAD;
                            };
                            hi = h;
                            chunk = rest;
                        }
                        if lo <= r && r <= hi {
                            matched = true;
                        }
                        nrange += 1;
                    }
                    if matched == negated {
                        return NO;
                    }
                }
                b'?' => {
                    if s[0] == b'/' {
                        return NO;
                    }
                    let (_, n) = decode(s);
                    s = &s[n..];
                    chunk = &chunk[1..];
                }
                c => {
                    let c = if c == b'\\' {
                        chunk = &chunk[1..];
                        match chunk.first() {
                            None => return BAD,
                            Some(c) => *c,
                        }
                    } else {
                        c
                    };
                    if c != s[0] {
                        return NO;
                    }
                    s = &s[1..];
                    chunk = &chunk[1..];
                }
            }
        }
        (s, true, false)
    }
}

#[cfg(test)]
mod tests;
