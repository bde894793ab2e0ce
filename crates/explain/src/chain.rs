//! The walk: one step per link, each returning what the next one needs.
//! A step whose input is missing (an earlier link broke before producing it)
//! still adds its link, as `unknown`, so the report always has every link.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ferroflux_api::image::{ImagePolicy, ImageRepository, ImageUpdateAutomation};
use ferroflux_api::manifest::{self, Finding, Manifest, Object};
use ferroflux_api::meta::Condition;
use ferroflux_policy::{Choice, Policy, TagFilter};
use serde::de::DeserializeOwned;

use crate::Error;
use crate::evidence::Evidence;
use crate::markers::{self, Site};
use crate::report::{Link, LinkState, Report};
use crate::target::Target;

mod automation;
mod tags;

/// The marked values and the `(namespace, name)` of the policy they name.
type Marked = (Vec<Site>, Option<(String, String)>);

pub(crate) const DEFAULT_NAMESPACE: &str = "default";

pub(crate) fn run(
    root: &Path,
    paths: &[PathBuf],
    target: &Target,
    evidence: &Evidence<'_>,
) -> Result<Report, Error> {
    let loaded = manifest::load_paths(paths);
    let validated = ferroflux_validate::validate_paths(paths);
    let walk = Walk {
        root,
        paths,
        manifests: &loaded.manifests,
        findings: &validated.findings,
        evidence,
    };
    walk.run(target)
}

pub(crate) struct Walk<'a> {
    pub root: &'a Path,
    pub paths: &'a [PathBuf],
    pub manifests: &'a [Manifest],
    pub findings: &'a [Finding],
    pub evidence: &'a Evidence<'a>,
}

/// The ImagePolicy the chain runs through.
pub(crate) struct PolicyCtx<'a> {
    pub m: &'a Manifest,
    pub p: &'a ImagePolicy,
    pub compiled: Option<Policy>,
}

pub(crate) struct RepoCtx<'a> {
    pub m: &'a Manifest,
    pub r: &'a ImageRepository,
    pub canonical: Option<String>,
}

/// A status read from the state database.
pub(crate) enum Lookup<T> {
    NoState,
    Missing(String),
    Found(T),
    Failed(String),
}

impl<'a> Walk<'a> {
    fn run(&self, target: &Target) -> Result<Report, Error> {
        let mut links = Vec::new();
        let (sites, key) = self.marker(target, &mut links)?;
        let target_text = match target {
            Target::Line { file, line } => {
                let rel = self.rel(file);
                line.map_or(rel.clone(), |l| format!("{rel}:{l}"))
            }
            Target::Policy { namespace, name } => format!("{namespace}/{name}"),
        };
        let Some((namespace, name)) = key else {
            for l in [
                "policy",
                "repository",
                "tags",
                "exclusion",
                "filter",
                "range",
                "automation",
                "path",
                "update",
                "push",
            ] {
                links.push(Link::unknown(
                    l,
                    "no policy to follow: the marker link is broken",
                ));
            }
            return Ok(Report {
                target: target_text,
                policy: None,
                links,
            });
        };
        let policy = self.policy(&namespace, &name, &mut links);
        let repo = self.repository(policy.as_ref(), &mut links);
        let chosen = self.tag_links(policy.as_ref(), repo.as_ref(), &mut links);
        let automations = self.automation(&namespace, &name, policy.as_ref(), &mut links);
        let covered = self.path(&automations, &sites, &mut links);
        let pending = self.update(
            &covered,
            chosen.as_deref(),
            policy.as_ref(),
            repo.as_ref(),
            &mut links,
        );
        self.push(&covered, pending, &mut links);
        Ok(Report {
            target: target_text,
            policy: Some(format!("{namespace}/{name}")),
            links,
        })
    }

    pub(crate) fn rel(&self, p: &Path) -> String {
        let shown = p.strip_prefix(self.root).unwrap_or(p);
        let s = shown.to_string_lossy().replace('\\', "/");
        if s.is_empty() { ".".to_string() } else { s }
    }

    pub(crate) fn objects<T>(
        &self,
        pick: impl Fn(&'a Object) -> Option<&'a T>,
    ) -> Vec<(&'a Manifest, &'a T)> {
        self.manifests
            .iter()
            .filter_map(|m| pick(&m.object).map(|o| (m, o)))
            .collect()
    }

    /// validate's findings about one object, as evidence lines.
    pub(crate) fn findings_for(&self, kind: &str, namespace: &str, name: &str) -> Vec<String> {
        let label = format!("{kind}/{namespace}/{name}");
        self.findings
            .iter()
            .filter(|f| f.object.as_deref() == Some(label.as_str()))
            .map(|f| {
                format!(
                    "validate: {}:{}: {}: {}",
                    self.rel(&f.file),
                    f.line,
                    f.severity,
                    f.message
                )
            })
            .collect()
    }

    pub(crate) fn status<T: DeserializeOwned>(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Lookup<T> {
        let Some(state) = self.evidence.state else {
            return Lookup::NoState;
        };
        match state.status(kind, namespace, name) {
            Err(e) => Lookup::Failed(e),
            Ok(None) => Lookup::Missing(state.path().display().to_string()),
            Ok(Some(v)) => match serde_json::from_value(v) {
                Ok(s) => Lookup::Found(s),
                Err(e) => Lookup::Failed(format!(
                    "status of {kind}/{namespace}/{name} does not decode: {e}"
                )),
            },
        }
    }

    // ------------------------------------------------------------ marker

    fn marker(&self, target: &Target, links: &mut Vec<Link>) -> Result<Marked, Error> {
        match target {
            Target::Policy { namespace, name } => {
                let sites = markers::scan_tree(self.root, namespace, name)?;
                let link = if sites.is_empty() {
                    Link::broken(
                        "marker",
                        format!(
                            "no $imagepolicy marker under the repository names {namespace}:{name}; nothing will be updated"
                        ),
                    )
                    .with(format!(
                        "a marker is a comment on the value's line: image: IMAGE:TAG # {{\"$imagepolicy\": \"{namespace}:{name}\"}}"
                    ))
                } else {
                    let mut l = Link::ok(
                        "marker",
                        format!("{} marker(s) name {namespace}:{name}", sites.len()),
                    );
                    for s in &sites {
                        l = l.with(format!(
                            "{}:{}: {} = {:?}",
                            self.rel(&s.file),
                            s.line,
                            s.setter,
                            s.value
                        ));
                    }
                    l
                };
                links.push(link);
                Ok((sites, Some((namespace.clone(), name.clone()))))
            }
            Target::Line { file, line } => self.line_marker(file, *line, links),
        }
    }

    fn line_marker(
        &self,
        file: &Path,
        line: Option<usize>,
        links: &mut Vec<Link>,
    ) -> Result<Marked, Error> {
        let rel = self.rel(file);
        let found = markers::scan_file(file)?;
        let read_by_flux = matches!(
            file.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) || file.file_name().is_some_and(|n| n == "Kustomization");
        let listing = |sites: &[Site]| -> String {
            sites
                .iter()
                .map(|s| format!("line {} ({})", s.line, s.setter))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let sites: Vec<Site> = match line {
            Some(l) => found
                .sites
                .iter()
                .filter(|s| s.line == l)
                .cloned()
                .collect(),
            None => {
                let mut policies: Vec<(&str, &str)> = found
                    .sites
                    .iter()
                    .map(|s| (s.namespace(), s.name()))
                    .collect();
                policies.dedup();
                if policies.len() > 1 {
                    return Err(Error::Ambiguous {
                        file: rel,
                        markers: listing(&found.sites),
                    });
                }
                found.sites.clone()
            }
        };
        let Some(first) = sites.first() else {
            let problem = found
                .problems
                .iter()
                .find(|(pl, _)| line.is_none_or(|l| *pl == l));
            let mut link = match (problem, line) {
                (Some((pl, message)), _) => Link::broken("marker", message.clone()).at(&rel, *pl),
                (None, Some(l)) => {
                    let text = std::fs::read_to_string(file).unwrap_or_default();
                    let line_text = text.lines().nth(l - 1);
                    let message = match line_text {
                        None => format!("the file has only {} lines", text.lines().count()),
                        Some(t) if t.contains(ferroflux_setters::marker::SHORT_HAND) => {
                            "the line mentions $imagepolicy, but not as a comment on a scalar value (inside a block scalar or a quoted string?); Flux ignores it".to_string()
                        }
                        Some(_) => "no $imagepolicy marker on this line; Flux does not touch it".to_string(),
                    };
                    Link::broken("marker", message).at(&rel, l)
                }
                (None, None) => {
                    Link::broken("marker", "no $imagepolicy marker in this file").at(&rel, 0)
                }
            };
            if !found.sites.is_empty() {
                link = link.with(format!("markers in this file: {}", listing(&found.sites)));
            }
            for (pl, message) in &found.problems {
                if Some(*pl) != link.line {
                    link = link.with(format!("{rel}:{pl}: {message}"));
                }
            }
            links.push(link);
            return Ok((Vec::new(), None));
        };
        let key = (first.namespace().to_string(), first.name().to_string());
        let mut link = if read_by_flux {
            Link::ok(
                "marker",
                format!("{{\"$imagepolicy\": \"{}\"}} on value {:?}", first.setter, first.value),
            )
        } else {
            Link::broken(
                "marker",
                "Flux reads only *.yaml, *.yml and Kustomization files, so this marker is never seen",
            )
        }
        .at(&rel, first.line);
        for s in sites.iter().skip(1) {
            link = link.with(format!("{rel}:{}: {} = {:?}", s.line, s.setter, s.value));
        }
        links.push(link);
        Ok((sites, Some(key)))
    }

    // ------------------------------------------------------------ policy

    fn policy(&self, namespace: &str, name: &str, links: &mut Vec<Link>) -> Option<PolicyCtx<'a>> {
        let all = self.objects(|o| match o {
            Object::ImagePolicy(p) => Some(p),
            _ => None,
        });
        let found = all
            .iter()
            .find(|(m, _)| ns_of(m) == namespace && m.name == name);
        let Some(&(m, p)) = found else {
            let invalid = self
                .manifests
                .iter()
                .find(|m| m.kind == "ImagePolicy" && ns_of(m) == namespace && m.name == name);
            if let Some(m) = invalid {
                let mut link = Link::broken(
                    "policy",
                    format!("ImagePolicy {namespace}/{name} does not decode; Flux rejects it"),
                )
                .at(self.rel(&m.file), m.line);
                link.evidence = self.findings_for("ImagePolicy", namespace, name);
                links.push(link);
                return None;
            }
            links.push(self.missing_object("policy", "ImagePolicy", namespace, name, &all, None));
            return None;
        };
        let rel = self.rel(&m.file);
        let mut link = match compile(p) {
            Err((field, e)) => Link::broken("policy", format!("ImagePolicy {namespace}/{name}: {e}"))
                .at(&rel, m.line_of(field))
                .with("Flux: Stalled, reason InvalidPolicy"),
            Ok(_) if p.spec.suspend == Some(true) => Link::broken(
                "policy",
                format!("ImagePolicy {namespace}/{name} is suspended (spec.suspend: true); its latestRef never changes"),
            )
            .at(&rel, m.line_of("spec.suspend")),
            Ok(_) => Link::ok("policy", format!("ImagePolicy {namespace}/{name}: {}", describe_policy(p)))
                .at(&rel, m.line),
        };
        let compiled = compile(p).ok();
        if let Lookup::Found(st) =
            self.status::<ferroflux_api::image::ImagePolicyStatus>("ImagePolicy", namespace, name)
        {
            if let Some(r) = &st.latest_ref {
                link = link.with(format!("state: latestRef {r}"));
            }
            if let Some(c) = ready(&st.conditions) {
                link = link.with(format!(
                    "state: Ready={} {}: {}",
                    c.status, c.reason, c.message
                ));
            }
        }
        link.evidence
            .extend(self.findings_for("ImagePolicy", namespace, name));
        links.push(link);
        Some(PolicyCtx { m, p, compiled })
    }

    /// A referenced object that is not there: say if it exists in another
    /// namespace, and suggest close names.
    pub(crate) fn missing_object<T>(
        &self,
        link: &'static str,
        kind: &str,
        namespace: &str,
        name: &str,
        all: &[(&Manifest, &T)],
        referrer: Option<(&Manifest, &str)>,
    ) -> Link {
        let mut l = Link::broken(
            link,
            format!("{kind} {namespace}/{name} does not exist in the manifests"),
        );
        if let Some((m, field)) = referrer {
            l = l.at(self.rel(&m.file), m.line_of(field));
        }
        let elsewhere: Vec<&Manifest> = all
            .iter()
            .map(|(m, _)| *m)
            .filter(|m| m.name == name && ns_of(m) != namespace)
            .collect();
        for m in &elsewhere {
            l = l.with(format!(
                "{kind} {name} exists in namespace {} ({}:{}); the reference resolves to namespace {namespace}",
                ns_of(m),
                self.rel(&m.file),
                m.line
            ));
        }
        let mut close: Vec<(usize, &Manifest)> = all
            .iter()
            .map(|(m, _)| *m)
            .filter(|m| m.name != name)
            .map(|m| (strsim::levenshtein(&m.name, name), m))
            .filter(|(d, m)| *d <= (name.len().max(m.name.len()) / 3).max(2))
            .collect();
        close.sort_by_key(|(d, m)| (*d, ns_of(m) != namespace, m.name.clone()));
        for (_, m) in close.iter().take(3) {
            l = l.with(format!(
                "did you mean {kind} {}/{}? ({}:{})",
                ns_of(m),
                m.name,
                self.rel(&m.file),
                m.line
            ));
        }
        l.with(format!(
            "searched {} {kind} object(s) under {}",
            all.len(),
            self.paths
                .iter()
                .map(|p| self.rel(p))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }

    // ------------------------------------------------------------ repository

    fn repository(
        &self,
        policy: Option<&PolicyCtx<'a>>,
        links: &mut Vec<Link>,
    ) -> Option<RepoCtx<'a>> {
        let Some(pc) = policy else {
            links.push(Link::unknown(
                "repository",
                "no ImagePolicy, so no ImageRepository reference",
            ));
            return None;
        };
        let pns = ns_of(pc.m);
        let rref = &pc.p.spec.image_repository_ref;
        let rns = rref.namespace.as_deref().unwrap_or(pns);
        let all = self.objects(|o| match o {
            Object::ImageRepository(r) => Some(r),
            _ => None,
        });
        let Some(&(m, r)) = all
            .iter()
            .find(|(m, _)| ns_of(m) == rns && m.name == rref.name)
        else {
            let mut l = self.missing_object(
                "repository",
                "ImageRepository",
                rns,
                &rref.name,
                &all,
                Some((pc.m, "spec.imageRepositoryRef")),
            );
            l.message.push_str(&format!(
                " (spec.imageRepositoryRef of ImagePolicy {pns}/{}; Flux: DependencyNotReady, referenced ImageRepository does not exist)",
                pc.m.name
            ));
            links.push(l);
            return None;
        };
        let rel = self.rel(&m.file);
        let insecure = r.spec.insecure == Some(true);
        let name = ferroflux_registry::ImageName::parse(&r.spec.image, insecure);
        let canonical = name.as_ref().ok().map(|n| n.canonical());
        let mut link = match &name {
            Err(e) => Link::broken("repository", format!("{e} (Flux: Stalled, ImageURLInvalid)"))
                .at(&rel, m.line_of("spec.image")),
            Ok(_) if rns != pns && r.spec.access_from.is_none() => Link::broken(
                "repository",
                format!(
                    "ImagePolicy {pns}/{} refers to ImageRepository {rns}/{} in another namespace, and the repository has no spec.accessFrom; Flux denies it (AccessDenied)",
                    pc.m.name, m.name
                ),
            )
            .at(&rel, m.line),
            Ok(_) if r.spec.suspend == Some(true) => Link::broken(
                "repository",
                format!("ImageRepository {rns}/{} is suspended (spec.suspend: true); it never scans", m.name),
            )
            .at(&rel, m.line_of("spec.suspend")),
            Ok(n) => Link::ok(
                "repository",
                format!("ImageRepository {rns}/{} scans {} ({})", m.name, r.spec.image, n.canonical()),
            )
            .at(&rel, m.line),
        };
        if rns != pns && r.spec.access_from.is_some() && link.state == LinkState::Ok {
            link = link.with(format!(
                "cross-namespace reference allowed only if spec.accessFrom selects namespace {pns}'s labels"
            ));
        }
        link.evidence
            .extend(self.findings_for("ImageRepository", rns, &m.name));
        links.push(link);
        Some(RepoCtx { m, r, canonical })
    }
}

pub(crate) fn ns_of(m: &Manifest) -> &str {
    m.namespace.as_deref().unwrap_or(DEFAULT_NAMESPACE)
}

pub(crate) fn ready(conditions: &[Condition]) -> Option<&Condition> {
    conditions.iter().find(|c| c.type_ == "Ready")
}

pub(crate) fn labels_of(p: &ImagePolicy) -> BTreeMap<String, String> {
    p.metadata.labels.clone().unwrap_or_default()
}

pub(crate) fn automations(o: &Object) -> Option<&ImageUpdateAutomation> {
    match o {
        Object::ImageUpdateAutomation(a) => Some(a),
        _ => None,
    }
}

/// The policy engine's view of a spec; the error names the field at fault.
fn compile(p: &ImagePolicy) -> Result<Policy, (&'static str, ferroflux_policy::Error)> {
    let choice = &p.spec.policy;
    let order = |o: &ferroflux_api::image::SortOrder| match o {
        ferroflux_api::image::SortOrder::Asc => "asc",
        ferroflux_api::image::SortOrder::Desc => "desc",
    };
    let choice = Choice::from_spec(
        choice.semver.as_ref().map(|s| s.range.as_str()),
        choice.alphabetical.as_ref().map(|a| order(&a.order)),
        choice.numerical.as_ref().map(|n| order(&n.order)),
    )
    .map_err(|e| ("spec.policy", e))?;
    let filter = p.spec.filter_tags.as_ref().map(|f| TagFilter {
        pattern: f.pattern.clone(),
        extract: f.extract.clone(),
    });
    Policy::new(choice, filter).map_err(|e| {
        let field = match e {
            ferroflux_policy::Error::InvalidPattern(_) => "spec.filterTags.pattern",
            _ => "spec.policy",
        };
        (field, e)
    })
}

fn describe_policy(p: &ImagePolicy) -> String {
    let c = &p.spec.policy;
    let mut out = if let Some(s) = &c.semver {
        format!("semver range '{}'", s.range)
    } else if let Some(a) = &c.alphabetical {
        format!("alphabetical {:?}", a.order).to_lowercase()
    } else if let Some(n) = &c.numerical {
        format!("numerical {:?}", n.order).to_lowercase()
    } else {
        "no policy".to_string()
    };
    if let Some(f) = &p.spec.filter_tags {
        out.push_str(&format!(", filterTags pattern '{}'", f.pattern));
        if !f.extract.is_empty() {
            out.push_str(&format!(" extract '{}'", f.extract));
        }
    }
    out
}
