//! The tag links: where the tags come from (state, tags file, live scan),
//! what the exclusion list removes, what the filter keeps and what the
//! policy's order or range leaves.

use ferroflux_api::image::ImageRepositoryStatus;
use ferroflux_policy::semver::{self, Constraints, Miss};
use ferroflux_policy::{Choice, Explanation, Filter};

use super::{Lookup, PolicyCtx, RepoCtx, Walk, ns_of, ready};
use crate::closest::closest;
use crate::evidence::LiveScan;
use crate::report::{Link, LinkState};

/// Tags as some source lists them.
struct Tags {
    tags: Vec<String>,
    /// True when they are the registry's list (before the exclusion list);
    /// the state database stores them after it.
    raw: bool,
    source: String,
}

impl<'a> Walk<'a> {
    /// Pushes the tags, exclusion, filter and range links; returns the tag
    /// the policy chooses.
    pub(crate) fn tag_links(
        &self,
        policy: Option<&PolicyCtx<'a>>,
        repo: Option<&RepoCtx<'a>>,
        links: &mut Vec<Link>,
    ) -> Option<String> {
        let tags = match repo {
            Some(rc) => self.tags_inner(rc, links),
            None => {
                links.push(Link::unknown("tags", "no ImageRepository, so no tags"));
                None
            }
        };
        let kept = match (&tags, repo) {
            (Some(t), Some(rc)) => self.exclusion(rc, t, policy, links),
            _ => {
                links.push(Link::unknown("exclusion", "no tags to filter"));
                None
            }
        };
        let (Some(kept), Some(pc)) = (kept, policy) else {
            links.push(Link::unknown("filter", "no tags or no policy"));
            links.push(Link::unknown("range", "no tags or no policy"));
            return None;
        };
        let Some(compiled) = &pc.compiled else {
            links.push(Link::unknown("filter", "the policy does not compile"));
            links.push(Link::unknown("range", "the policy does not compile"));
            return None;
        };
        let explanation = compiled.explain(&kept);
        self.filter(pc, &kept, &explanation, links);
        self.range(pc, &explanation, links)
    }

    fn tags_inner(&self, rc: &RepoCtx<'a>, links: &mut Vec<Link>) -> Option<Tags> {
        let ns = ns_of(rc.m);
        let name = &rc.m.name;
        let rel = self.rel(&rc.m.file);
        let key = format!("ImageRepository/{ns}/{name}");
        // What the controller saw, when there is a state database.
        let mut verdict: Option<Link> = None;
        let mut notes = Vec::new();
        match self.status::<ImageRepositoryStatus>("ImageRepository", ns, name) {
            Lookup::NoState => {}
            Lookup::Failed(e) => notes.push(format!("state: {e}")),
            Lookup::Missing(path) => {
                verdict = Some(Link::broken(
                    "tags",
                    format!("{key} was never scanned: no status in the state database {path}"),
                ));
            }
            Lookup::Found(st) => {
                let scan = st.last_scan_result.as_ref().map(|s| {
                    format!(
                        "{} tags at {}",
                        s.tag_count,
                        s.scan_time
                            .as_ref()
                            .and_then(|t| serde_json::to_value(t).ok())
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_else(|| "an unknown time".to_string())
                    )
                });
                match ready(&st.conditions) {
                    Some(c) if c.status == "False" => {
                        let mut l = Link::broken(
                            "tags",
                            format!(
                                "the last scan of {key} failed ({}): {}",
                                c.reason, c.message
                            ),
                        );
                        if let Some(s) = scan {
                            l = l.with(format!(
                                "state: the last good scan found {s}; policies still see those tags"
                            ));
                        }
                        verdict = Some(l);
                    }
                    Some(c) => notes.push(format!(
                        "state: Ready={} {}: {}",
                        c.status, c.reason, c.message
                    )),
                    None => {}
                }
                if verdict.is_none() && st.last_scan_result.is_none() {
                    verdict = Some(Link::broken(
                        "tags",
                        format!("{key} has no lastScanResult: it was never scanned"),
                    ));
                }
            }
        }
        // The tags to use for the rest of the chain.
        let mut live_error = None;
        let tags = if let Some(f) = self.evidence.tags_file {
            Some(Tags {
                tags: f.tags.clone(),
                raw: true,
                source: format!("tags file {}", f.path.display()),
            })
        } else {
            let stored = match (self.evidence.state, &rc.canonical) {
                (Some(state), Some(c)) => match state.tags(c) {
                    Ok(Some(rec)) => Some(Tags {
                        tags: rec.tags,
                        raw: false,
                        source: format!("the state database ({c}, revision {})", rec.revision),
                    }),
                    Ok(None) => None,
                    Err(e) => {
                        notes.push(format!("state: {e}"));
                        None
                    }
                },
                _ => None,
            };
            match (stored, self.evidence.live, &rc.canonical) {
                (Some(t), _, _) => Some(t),
                (None, Some(scan), Some(c)) => {
                    let req = LiveScan {
                        image: rc.r.spec.image.clone(),
                        canonical: c.clone(),
                        insecure: rc.r.spec.insecure == Some(true),
                    };
                    match scan(&req) {
                        Ok(tags) => Some(Tags {
                            tags,
                            raw: true,
                            source: format!("a live scan of {c}"),
                        }),
                        Err(e) => {
                            live_error = Some(e);
                            None
                        }
                    }
                }
                _ => None,
            }
        };
        let mut link = match (verdict, &tags, live_error) {
            (Some(v), _, _) => v,
            (None, _, Some(e)) => Link::broken("tags", format!("the live scan of {} failed: {e}", rc.r.spec.image)),
            (None, None, None) => Link::unknown(
                "tags",
                format!("no tags for {key}: no state database entry, no --tags-file, and no live scan (--offline)"),
            ),
            (None, Some(t), None) if t.tags.is_empty() => Link::broken(
                "tags",
                format!("{} lists no tags for {} (Flux: DependencyNotReady, no tags in database)", t.source, rc.r.spec.image),
            ),
            (None, Some(t), None) => Link::ok("tags", format!("{} tags from {}", t.tags.len(), t.source)),
        }
        .at(&rel, rc.m.line);
        if let Some(t) = &tags
            && link.state != LinkState::Ok
        {
            link = link.with(format!(
                "the links below use {} tags from {}",
                t.tags.len(),
                t.source
            ));
        }
        link.evidence.extend(notes);
        links.push(link);
        tags
    }

    /// Returns the tags left after `spec.exclusionList`.
    fn exclusion(
        &self,
        rc: &RepoCtx<'a>,
        given: &Tags,
        policy: Option<&PolicyCtx<'a>>,
        links: &mut Vec<Link>,
    ) -> Option<Vec<String>> {
        let (tags, raw) = (given.tags.as_slice(), given.raw);
        let list = rc.r.spec.effective_exclusion_list();
        let rel = self.rel(&rc.m.file);
        let line = rc.m.line_of("spec.exclusionList");
        let shown = format!(
            "[{}]",
            list.iter()
                .map(|p| format!("'{p}'"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if !raw {
            links.push(
                Link::ok(
                    "exclusion",
                    format!(
                        "exclusionList {shown} was applied at scan time; {} tags were stored",
                        tags.len()
                    ),
                )
                .at(&rel, line),
            );
            return Some(tags.to_vec());
        }
        let mut filters = Vec::new();
        for p in &list {
            match Filter::new(p, "") {
                Ok(f) => filters.push(f),
                Err(e) => {
                    links.push(
                        Link::broken(
                            "exclusion",
                            format!(
                                "exclusionList entry '{p}' is not a valid regex: {}",
                                e.reason
                            ),
                        )
                        .at(&rel, line)
                        .with("Flux fails every scan of this repository"),
                    );
                    return None;
                }
            }
        }
        let mut scratches: Vec<_> = filters.iter().map(Filter::scratch).collect();
        let (mut removed, mut kept) = (Vec::new(), Vec::new());
        for t in tags {
            let hit = filters
                .iter()
                .zip(scratches.iter_mut())
                .any(|(f, s)| f.apply(t, s).is_some());
            if hit {
                removed.push(t.clone())
            } else {
                kept.push(t.clone())
            }
        }
        let sample = |v: &[String]| {
            let mut s = v.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
            if v.len() > 5 {
                s.push_str(&format!(", … ({} more)", v.len() - 5));
            }
            s
        };
        let would_choose = policy
            .and_then(|p| p.compiled.as_ref())
            .and_then(|c| c.select(tags).ok())
            .map(|s| s.latest)
            .filter(|t| removed.contains(t));
        let link = if kept.is_empty() && !removed.is_empty() {
            Link::broken(
                "exclusion",
                format!(
                    "exclusionList {shown} removed all {} tags: {}",
                    removed.len(),
                    sample(&removed)
                ),
            )
        } else if let Some(t) = would_choose {
            Link::broken(
                "exclusion",
                format!(
                    "exclusionList {shown} removed {} of {} tags, including {t}, which the policy would otherwise choose",
                    removed.len(),
                    tags.len()
                ),
            )
            .with(format!("removed: {}", sample(&removed)))
        } else if removed.is_empty() {
            Link::ok(
                "exclusion",
                format!("exclusionList {shown} removed none of {} tags", tags.len()),
            )
        } else {
            Link::ok(
                "exclusion",
                format!(
                    "exclusionList {shown} removed {} of {} tags: {}",
                    removed.len(),
                    tags.len(),
                    sample(&removed)
                ),
            )
        };
        links.push(link.at(&rel, line));
        Some(kept)
    }

    fn filter(&self, pc: &PolicyCtx<'a>, tags: &[String], ex: &Explanation, links: &mut Vec<Link>) {
        let rel = self.rel(&pc.m.file);
        let Some(f) =
            pc.p.spec
                .filter_tags
                .as_ref()
                .filter(|f| !f.pattern.is_empty())
        else {
            links.push(
                Link::ok(
                    "filter",
                    format!(
                        "no filterTags.pattern: all {} tags are candidates",
                        tags.len()
                    ),
                )
                .at(&rel, pc.m.line),
            );
            return;
        };
        let line = pc.m.line_of("spec.filterTags.pattern");
        let matched: Vec<_> = ex.rows.iter().filter(|r| r.matched == Some(true)).collect();
        if matched.is_empty() {
            let mut link = Link::broken(
                "filter",
                format!(
                    "filterTags.pattern '{}' matched 0 of {} tags",
                    f.pattern,
                    tags.len()
                ),
            )
            .at(&rel, line);
            let near = closest(&f.pattern, tags, 3);
            if !near.is_empty() {
                link = link.with(format!(
                    "closest to matching: {}",
                    near.iter()
                        .map(|(t, d)| format!("{t} ({d} edit(s) away)"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            links.push(link);
            return;
        }
        let mut link = Link::ok(
            "filter",
            format!(
                "filterTags.pattern '{}' matched {} of {} tags",
                f.pattern,
                matched.len(),
                tags.len()
            ),
        )
        .at(&rel, line);
        if !f.extract.is_empty() {
            let examples: Vec<String> = matched
                .iter()
                .take(3)
                .map(|r| format!("{} → {}", r.tag, r.extracted.as_deref().unwrap_or("")))
                .collect();
            link = link.with(format!("extract '{}': {}", f.extract, examples.join(", ")));
        }
        links.push(link);
    }

    fn range(&self, pc: &PolicyCtx<'a>, ex: &Explanation, links: &mut Vec<Link>) -> Option<String> {
        let rel = self.rel(&pc.m.file);
        let line = pc.m.line_of("spec.policy");
        let Some(compiled) = &pc.compiled else {
            return None;
        };
        let candidates: Vec<(&str, &str)> = ex
            .rows
            .iter()
            .filter(|r| r.matched != Some(false))
            .map(|r| {
                (
                    r.tag.as_str(),
                    r.extracted.as_deref().unwrap_or(r.tag.as_str()),
                )
            })
            .collect();
        let mut link = if let Some(latest) = &ex.latest {
            let row = ex.rows.iter().find(|r| &r.tag == latest);
            Link::ok(
                "range",
                format!(
                    "chose {latest} among {} candidate(s){}",
                    candidates.len(),
                    row.map(|r| format!(" ({})", r.reason)).unwrap_or_default()
                ),
            )
        } else if candidates.is_empty() {
            Link::unknown("range", "no candidate tags to order")
        } else {
            match compiled.choice() {
                Choice::Semver { range } => self.semver_miss(pc, range, &candidates),
                _ => Link::broken(
                    "range",
                    format!(
                        "{} (Flux: Ready=False, Failure)",
                        ex.error.as_ref().map(|e| e.to_string()).unwrap_or_default()
                    ),
                ),
            }
        }
        .at(&rel, line);
        if let Lookup::Found(st) = self.status::<ferroflux_api::image::ImagePolicyStatus>(
            "ImagePolicy",
            ns_of(pc.m),
            &pc.m.name,
        ) && let Some(r) = &st.latest_ref
        {
            let same = ex.latest.as_deref() == Some(r.tag.as_str());
            link = link.with(format!(
                "state: latestRef.tag is {}{}",
                r.tag,
                if same {
                    ""
                } else {
                    " (differs: the policy has not seen these tags yet)"
                }
            ));
        }
        links.push(link);
        ex.latest.clone()
    }

    fn semver_miss(&self, pc: &PolicyCtx<'a>, range: &str, candidates: &[(&str, &str)]) -> Link {
        let parsed: Vec<(&str, semver::Version<'_>)> = candidates
            .iter()
            .filter_map(|(tag, key)| semver::parse_tag(key).ok().map(|v| (*tag, v)))
            .collect();
        if parsed.is_empty() {
            let examples: Vec<&str> = candidates.iter().take(3).map(|(_, k)| *k).collect();
            let mut l = Link::broken(
                "range",
                format!(
                    "none of the {} candidate(s) is a semver version (e.g. {}); semver policies skip them silently",
                    candidates.len(),
                    examples.join(", ")
                ),
            )
            .with("a semver tag is MAJOR.MINOR.PATCH with an optional leading v, -prerelease and +build");
            if let Some(f) = &pc.p.spec.filter_tags
                && f.extract.is_empty()
                && let Some(why) = ferroflux_validate::never_semver(&f.pattern)
            {
                l = l.with(format!("filterTags.pattern '{}': {why}", f.pattern));
            }
            return l;
        }
        let Ok(constraints) = Constraints::parse(range) else {
            return Link::unknown("range", format!("range '{range}' does not parse"));
        };
        let pre_only: Vec<&(&str, semver::Version<'_>)> = parsed
            .iter()
            .filter(|(_, v)| constraints.miss(v) == Some(Miss::Prerelease))
            .collect();
        let highest = parsed
            .iter()
            .max_by(|a, b| a.1.compare(&b.1))
            .map(|(t, v)| (*t, version_text(v)));
        if !pre_only.is_empty() {
            let lowest = pre_only
                .iter()
                .min_by(|a, b| a.1.compare(&b.1))
                .map(|(_, v)| format!("{}.{}.{}", v.major, v.minor, v.patch))
                .unwrap_or_default();
            return Link::broken(
                "range",
                format!(
                    "only prereleases satisfy range '{range}' ({}), and a range without a prerelease never matches one",
                    pre_only.iter().take(3).map(|(t, _)| *t).collect::<Vec<_>>().join(", ")
                ),
            )
            .with(format!(
                "Masterminds semver: write a prerelease in the range to allow them, e.g. '>={lowest}-0'"
            ));
        }
        let mut l = Link::broken(
            "range",
            format!(
                "range '{range}' excludes all {} semver version(s)",
                parsed.len()
            ),
        );
        if let Some((tag, v)) = highest {
            l = l.with(format!("the highest version seen is {v} (tag {tag})"));
        }
        l
    }
}

fn version_text(v: &semver::Version<'_>) -> String {
    let mut s = format!("{}.{}.{}", v.major, v.minor, v.patch);
    if !v.pre.is_empty() {
        s.push('-');
        s.push_str(v.pre);
    }
    s
}
