//! The automation links: which ImageUpdateAutomation applies the policy,
//! whether its `update.path` covers the marked file, what the next run would
//! write, and whether its last push went through.

use ferroflux_api::image::{ImageUpdateAutomation, ImageUpdateAutomationStatus, ReflectionPolicy};
use ferroflux_api::manifest::{Manifest, Object};

use super::{Lookup, PolicyCtx, RepoCtx, Walk, automations, labels_of, ns_of, ready};
use crate::markers::Site;
use crate::report::Link;
use crate::selector;

pub(crate) type Auto<'a> = (&'a Manifest, &'a ImageUpdateAutomation);

/// A marked value and the automation whose `update.path` covers it.
pub(crate) struct Covered<'a> {
    pub auto: Auto<'a>,
    pub site: Site,
}

impl<'a> Walk<'a> {
    fn auto_label(&self, a: &Auto<'a>) -> String {
        format!(
            "{}/{} ({}:{})",
            ns_of(a.0),
            a.0.name,
            self.rel(&a.0.file),
            a.0.line
        )
    }

    /// The active automations that select the policy.
    pub(crate) fn automation(
        &self,
        namespace: &str,
        name: &str,
        policy: Option<&PolicyCtx<'a>>,
        links: &mut Vec<Link>,
    ) -> Vec<Auto<'a>> {
        let all: Vec<Auto<'a>> = self.objects(automations);
        if all.is_empty() {
            links.push(Link::broken(
                "automation",
                "no ImageUpdateAutomation in the manifests: nothing writes policy results to Git",
            ));
            return Vec::new();
        }
        let in_ns: Vec<Auto<'a>> = all
            .iter()
            .copied()
            .filter(|a| ns_of(a.0) == namespace)
            .collect();
        if in_ns.is_empty() {
            let mut l = Link::broken(
                "automation",
                format!(
                    "ImagePolicy {namespace}/{name} is in namespace {namespace}, but no ImageUpdateAutomation is; Flux applies only the policies of the automation's own namespace"
                ),
            );
            for a in &all {
                l = l.with(format!("ImageUpdateAutomation {}", self.auto_label(a)));
            }
            if let Some(pc) = policy {
                l = l.at(self.rel(&pc.m.file), pc.m.line_of("metadata.namespace"));
            }
            links.push(l);
            return Vec::new();
        }
        let labels = policy.map(|pc| labels_of(pc.p)).unwrap_or_default();
        let mut selecting = Vec::new();
        let mut excluded = Vec::new();
        for a in &in_ns {
            let sel = a.1.spec.policy_selector.as_ref();
            match selector::matches(sel, &labels) {
                Ok(true) => selecting.push(*a),
                Ok(false) => excluded.push(format!(
                    "ImageUpdateAutomation {}: policySelector {} excludes it (policy labels {})",
                    self.auto_label(a),
                    selector::describe(sel),
                    describe_labels(&labels)
                )),
                Err(e) => excluded.push(format!(
                    "ImageUpdateAutomation {}: {e} (Flux: Stalled, InvalidPolicySelector)",
                    self.auto_label(a)
                )),
            }
        }
        if selecting.is_empty() {
            let first = in_ns[0];
            let mut l = Link::broken(
                "automation",
                format!(
                    "every ImageUpdateAutomation in namespace {namespace} leaves ImagePolicy {namespace}/{name} out through its policySelector"
                ),
            )
            .at(self.rel(&first.0.file), first.0.line_of("spec.policySelector"));
            l.evidence = excluded;
            links.push(l);
            return Vec::new();
        }
        let (active, suspended): (Vec<Auto<'a>>, Vec<Auto<'a>>) = selecting
            .into_iter()
            .partition(|a| a.1.spec.suspend != Some(true));
        if active.is_empty() {
            let a = suspended[0];
            links.push(
                Link::broken(
                    "automation",
                    format!("ImageUpdateAutomation {}/{} selects the policy but is suspended (spec.suspend: true)", ns_of(a.0), a.0.name),
                )
                .at(self.rel(&a.0.file), a.0.line_of("spec.suspend")),
            );
            return Vec::new();
        }
        let first = active[0];
        let mut l = Link::ok(
            "automation",
            format!(
                "ImageUpdateAutomation {}/{} applies ImagePolicy {namespace}/{name}",
                ns_of(first.0),
                first.0.name
            ),
        )
        .at(self.rel(&first.0.file), first.0.line);
        for a in active.iter().skip(1) {
            l = l.with(format!("also ImageUpdateAutomation {}", self.auto_label(a)));
        }
        l.evidence.extend(excluded);
        l.evidence.extend(self.findings_for(
            "ImageUpdateAutomation",
            ns_of(first.0),
            &first.0.name,
        ));
        links.push(l);
        active
    }

    pub(crate) fn path(
        &self,
        autos: &[Auto<'a>],
        sites: &[Site],
        links: &mut Vec<Link>,
    ) -> Vec<Covered<'a>> {
        if autos.is_empty() || sites.is_empty() {
            let why = if autos.is_empty() {
                "no automation applies the policy"
            } else {
                "no marked file"
            };
            links.push(Link::unknown("path", why));
            return Vec::new();
        }
        let mut covered = Vec::new();
        for s in sites {
            let rel = self.rel(&s.file);
            if let Some(a) = autos.iter().find(|a| covers(&update_path(a.1), &rel)) {
                covered.push(Covered {
                    auto: *a,
                    site: s.clone(),
                });
            }
        }
        let shown = |a: &Auto<'a>| {
            let p = update_path(a.1);
            format!(
                "ImageUpdateAutomation {} scans {}",
                self.auto_label(a),
                if p.is_empty() {
                    "the whole repository".to_string()
                } else {
                    format!("'{p}'")
                }
            )
        };
        let link = match covered.first() {
            None => {
                let s = &sites[0];
                let mut l = Link::broken(
                    "path",
                    format!(
                        "no ImageUpdateAutomation's update.path covers {}",
                        self.rel(&s.file)
                    ),
                )
                .at(self.rel(&s.file), s.line);
                for a in autos {
                    l = l.with(shown(a));
                }
                l.with(
                    "update.path is relative to the root of the automation's Git checkout (--repo)",
                )
            }
            Some(c) => {
                let mut l = Link::ok(
                    "path",
                    format!(
                        "{} is under update.path of {}/{}",
                        self.rel(&c.site.file),
                        ns_of(c.auto.0),
                        c.auto.0.name
                    ),
                )
                .at(
                    self.rel(&c.auto.0.file),
                    c.auto.0.line_of("spec.update.path"),
                )
                .with(shown(&c.auto));
                let missed: Vec<&Site> = sites
                    .iter()
                    .filter(|s| !covered.iter().any(|c| c.site == **s))
                    .collect();
                for s in missed {
                    l = l.with(format!("not covered: {}:{}", self.rel(&s.file), s.line));
                }
                l
            }
        };
        links.push(link);
        covered
    }

    /// Returns whether the next run would change the file (`None`: cannot tell).
    pub(crate) fn update(
        &self,
        covered: &[Covered<'a>],
        chosen: Option<&str>,
        policy: Option<&PolicyCtx<'a>>,
        repo: Option<&RepoCtx<'a>>,
        links: &mut Vec<Link>,
    ) -> Option<bool> {
        let Some(first) = covered.first() else {
            links.push(Link::unknown("update", "no covered marker"));
            return None;
        };
        let (Some(tag), Some(pc), Some(rc)) = (chosen, policy, repo) else {
            links.push(
                Link::unknown(
                    "update",
                    format!("no chosen tag; the file has {:?}", first.site.value),
                )
                .at(self.rel(&first.site.file), first.site.line),
            );
            return None;
        };
        let image = rc.r.spec.image.as_str();
        let digest = self.known_digest(pc, tag);
        let wants_digest =
            pc.p.spec.digest_reflection_policy.unwrap_or_default() != ReflectionPolicy::Never;
        let mut pending = false;
        let mut lines = Vec::new();
        for c in covered {
            let s = &c.site;
            let want = match (s.field(), wants_digest, &digest) {
                (Some("tag"), _, _) => Some(tag.to_string()),
                (Some("name"), _, _) => Some(image.to_string()),
                (Some(_), false, _) => Some(String::new()),
                (Some(_), true, d) => d.clone(),
                (None, false, _) => Some(format!("{image}:{tag}")),
                (None, true, d) => d.as_ref().map(|d| format!("{image}:{tag}@{d}")),
            };
            let place = format!("{}:{}", self.rel(&s.file), s.line);
            match want {
                None => lines.push(format!(
                    "{place}: needs the digest of {image}:{tag}, which only the state knows"
                )),
                Some(w) if w == s.value => lines.push(format!("{place}: already {w:?}")),
                Some(w) => {
                    pending = true;
                    lines.push(format!("{place}: {:?} → {w:?}", s.value));
                }
            }
        }
        let s = &first.site;
        let mut link = if pending {
            Link::ok(
                "update",
                format!(
                    "the next run of {}/{} rewrites the marked value(s) to tag {tag}",
                    ns_of(first.auto.0),
                    first.auto.0.name
                ),
            )
        } else if lines.iter().any(|l| l.contains("needs the digest")) {
            Link::unknown(
                "update",
                "cannot tell the value to write without the reflected digest",
            )
        } else {
            Link::ok(
                "update",
                format!("nothing to do: the file already has tag {tag}"),
            )
        }
        .at(self.rel(&s.file), s.line);
        link.evidence = lines;
        links.push(link);
        Some(pending)
    }

    fn known_digest(&self, pc: &PolicyCtx<'a>, tag: &str) -> Option<String> {
        match self.status::<ferroflux_api::image::ImagePolicyStatus>(
            "ImagePolicy",
            ns_of(pc.m),
            &pc.m.name,
        ) {
            Lookup::Found(st) => st
                .latest_ref
                .filter(|r| r.tag == tag)
                .and_then(|r| r.digest)
                .filter(|d| !d.is_empty()),
            _ => None,
        }
    }

    pub(crate) fn push(
        &self,
        covered: &[Covered<'a>],
        pending: Option<bool>,
        links: &mut Vec<Link>,
    ) {
        let Some(first) = covered.first() else {
            links.push(Link::unknown("push", "no automation covers the marker"));
            return;
        };
        let (m, a) = first.auto;
        let (ns, name) = (ns_of(m), m.name.as_str());
        let rel = self.rel(&m.file);
        if a.spec.git.is_none() {
            links.push(
                Link::broken(
                    "push",
                    format!("ImageUpdateAutomation {ns}/{name} has no spec.git (Flux: Stalled, InvalidSourceConfiguration)"),
                )
                .at(&rel, m.line_of("spec")),
            );
            return;
        }
        let source = &a.spec.source_ref;
        let sns = source.namespace.as_deref().unwrap_or(ns);
        let git_found = self.manifests.iter().any(|g| {
            matches!(g.object, Object::GitRepository(_)) && g.name == source.name && ns_of(g) == sns
        });
        let source_note = if git_found {
            format!("pushes through {} {sns}/{}", source.kind, source.name)
        } else {
            format!(
                "{} {sns}/{} is not in the manifests (it may live in the cluster)",
                source.kind, source.name
            )
        };
        let branch = a
            .spec
            .git
            .as_ref()
            .and_then(|g| g.push.as_ref())
            .and_then(|p| p.branch.clone())
            .or_else(|| {
                a.spec
                    .git
                    .as_ref()
                    .and_then(|g| g.checkout.as_ref())
                    .and_then(|c| c.reference.branch.clone())
            });
        let mut link = match self.status::<ImageUpdateAutomationStatus>("ImageUpdateAutomation", ns, name) {
            Lookup::NoState => Link::unknown(
                "push",
                format!("no state database: cannot tell whether ImageUpdateAutomation {ns}/{name} pushed"),
            ),
            Lookup::Failed(e) => Link::unknown("push", format!("state: {e}")),
            Lookup::Missing(path) => Link::unknown(
                "push",
                format!("ImageUpdateAutomation {ns}/{name} has never run: no status in {path}"),
            ),
            Lookup::Found(st) => {
                let last = st
                    .last_push_commit
                    .as_deref()
                    .map(|c| format!("last push: commit {}", &c[..c.len().min(12)]));
                match ready(&st.conditions) {
                    Some(c) if c.status == "False" && pending != Some(false) => Link::broken(
                        "push",
                        format!("the last run of ImageUpdateAutomation {ns}/{name} failed ({}): {}", c.reason, c.message),
                    ),
                    Some(c) if c.status == "False" => Link::ok("push", "nothing to push for this marker")
                        .with(format!("note: the last run of {ns}/{name} failed ({}): {}", c.reason, c.message)),
                    Some(c) => Link::ok(
                        "push",
                        format!("ImageUpdateAutomation {ns}/{name}: {}", c.message),
                    ),
                    None => Link::unknown("push", format!("ImageUpdateAutomation {ns}/{name} has no Ready condition yet")),
                }
                .with(last.unwrap_or_else(|| "no push recorded".to_string()))
            }
        }
        .at(&rel, m.line_of("spec.git.push"));
        if let Some(b) = branch {
            link = link.with(format!("push branch: {b}"));
        }
        links.push(link.with(source_note));
    }
}

/// `update.path` without `./` and trailing `/`; "" is the whole checkout.
pub(crate) fn update_path(a: &ImageUpdateAutomation) -> String {
    let p = a
        .spec
        .update
        .as_ref()
        .and_then(|u| u.path.as_deref())
        .unwrap_or("");
    let mut p = p.trim();
    while let Some(rest) = p.strip_prefix("./") {
        p = rest;
    }
    let p = p.trim_start_matches('/').trim_end_matches('/');
    if p == "." {
        String::new()
    } else {
        p.to_string()
    }
}

/// Is `file` (relative, `/`-separated) under `path`?
pub(crate) fn covers(path: &str, file: &str) -> bool {
    path.is_empty() || file == path || file.strip_prefix(path).is_some_and(|r| r.starts_with('/'))
}

fn describe_labels(labels: &std::collections::BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return "none".to_string();
    }
    format!(
        "{{{}}}",
        labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

#[cfg(test)]
mod tests;
