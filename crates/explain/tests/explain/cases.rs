//! The failure cases of issue 7 item 2, one fixture each.

use ferroflux_explain::LinkState;

use crate::support::{explain_case, golden};

struct Case {
    name: &'static str,
    /// The first broken link, or `None` for a whole chain.
    broken: Option<&'static str>,
    /// Text the broken link (or, for a whole chain, the report) must hold.
    says: &'static [&'static str],
    /// `FILE:LINE` the broken link must point at, when there is one.
    at: Option<(&'static str, usize)>,
}

const CASES: &[Case] = &[
    Case {
        name: "whole-nothing-to-do",
        broken: None,
        says: &[
            "nothing to do: the file already has tag 0.13.3",
            "repository up-to-date",
        ],
        at: None,
    },
    Case {
        name: "whole-pending",
        broken: None,
        says: &[
            "chose 0.13.3",
            "\"harbor.example.com/team/app:0.13.2\" → \"harbor.example.com/team/app:0.13.3\"",
        ],
        at: None,
    },
    Case {
        name: "no-marker",
        broken: Some("marker"),
        says: &[
            "no $imagepolicy marker on this line",
            "markers in this file: line 11 (flux-system:app)",
        ],
        at: Some(("apps/stage/deployment.yaml", 13)),
    },
    Case {
        name: "malformed-marker",
        broken: Some("marker"),
        says: &["malformed $imagepolicy marker", "key must be a string"],
        at: Some(("apps/stage/deployment.yaml", 11)),
    },
    Case {
        name: "policy-missing",
        broken: Some("policy"),
        says: &[
            "ImagePolicy flux-system/ap does not exist",
            "ImagePolicy ap exists in namespace prod",
            "did you mean ImagePolicy flux-system/app?",
        ],
        at: None,
    },
    Case {
        name: "policy-other-namespace",
        broken: Some("automation"),
        says: &[
            "no ImageUpdateAutomation is",
            "own namespace",
            "ImageUpdateAutomation flux-system/flux-system",
        ],
        at: Some(("clusters/stage/policy.yaml", 5)),
    },
    Case {
        name: "selector-excludes",
        broken: Some("automation"),
        says: &["policySelector {tier=frontend} excludes it (policy labels {tier=backend})"],
        at: Some(("clusters/stage/automation.yaml", 11)),
    },
    Case {
        name: "path-not-covered",
        broken: Some("path"),
        says: &[
            "no ImageUpdateAutomation's update.path covers apps/prod/deployment.yaml",
            "scans 'apps/stage'",
        ],
        at: Some(("apps/prod/deployment.yaml", 11)),
    },
    Case {
        name: "repository-missing",
        broken: Some("repository"),
        says: &[
            "ImageRepository flux-system/app does not exist",
            "DependencyNotReady",
        ],
        at: Some(("clusters/stage/policy.yaml", 7)),
    },
    Case {
        name: "never-scanned",
        broken: Some("tags"),
        says: &["ImageRepository/flux-system/app was never scanned"],
        at: Some(("clusters/stage/repository.yaml", 1)),
    },
    Case {
        name: "scan-failed",
        broken: Some("tags"),
        says: &[
            "the last scan of ImageRepository/flux-system/app failed (AuthenticationFailed)",
            "harbor-credentials",
        ],
        at: Some(("clusters/stage/repository.yaml", 1)),
    },
    Case {
        name: "exclusion-removes-latest",
        broken: Some("exclusion"),
        says: &["removed 2 of 6 tags, including 0.13.3, which the policy would otherwise choose"],
        at: Some(("clusters/stage/repository.yaml", 9)),
    },
    Case {
        name: "pattern-matches-nothing",
        broken: Some("filter"),
        says: &[
            "matched 0 of 5 tags",
            "closest to matching: v0.13.2 (1 edit(s) away), v0.13.3 (1 edit(s) away)",
        ],
        at: Some(("clusters/stage/policy.yaml", 10)),
    },
    Case {
        name: "range-excludes-all",
        broken: Some("range"),
        says: &[
            "range '^1.0.0' excludes all 4 semver version(s)",
            "the highest version seen is 0.13.3 (tag 0.13.3)",
        ],
        at: Some(("clusters/stage/policy.yaml", 12)),
    },
    Case {
        name: "prerelease-only",
        broken: Some("range"),
        says: &[
            "only prereleases satisfy range '>=1.0.0' (1.1.0-rc.1, 1.1.0-rc.2)",
            "'>=1.1.0-0'",
        ],
        at: Some(("clusters/stage/policy.yaml", 9)),
    },
    Case {
        name: "never-semver",
        broken: Some("range"),
        says: &[
            "none of the 2 candidate(s) is a semver version",
            "exactly 3 dots",
        ],
        at: None,
    },
    Case {
        name: "push-failed",
        broken: Some("push"),
        says: &["failed (GitOperationFailed)", "protected branch 'main'"],
        at: Some(("clusters/stage/automation.yaml", 19)),
    },
    Case {
        name: "policy-target",
        broken: None,
        says: &[
            "1 marker(s) name flux-system:app",
            "3 tags from the state database",
            "applied at scan time",
        ],
        at: None,
    },
];

/// What is wrong with one case's report (empty when it is right).
fn check(case: &Case) -> Vec<String> {
    let mut failures = Vec::new();
    let report = explain_case(case.name);
    let text = report.to_text();
    let first = report.first_broken();
    if first.map(|l| l.link) != case.broken {
        failures.push(format!(
            "{}: first broken link {:?}, want {:?}\n{text}",
            case.name,
            first.map(|l| l.link),
            case.broken
        ));
        return failures;
    }
    let haystack = match first {
        Some(l) => format!("{} {}", l.message, l.evidence.join(" ")),
        None => text.clone(),
    };
    for s in case.says {
        if !haystack.contains(s) {
            failures.push(format!("{}: missing {s:?}\n{text}", case.name));
        }
    }
    if let (Some((file, line)), Some(l)) = (case.at, first)
        && (l.file.as_deref() != Some(file) || l.line != Some(line))
    {
        failures.push(format!(
            "{}: broken link at {:?}:{:?}, want {file}:{line}",
            case.name, l.file, l.line
        ));
    }
    // Every link is reported, whatever breaks.
    if report.links.len() != 11 {
        failures.push(format!(
            "{}: {} links, want 11",
            case.name,
            report.links.len()
        ));
    }
    failures
}

fn run_case(name: &str) {
    let case = CASES
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no case {name}"));
    let failures = check(case);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// One test per case, so each failure case is reported on its own.
macro_rules! case_tests {
    ($($test:ident => $name:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                run_case($name);
            }
        )*
        const TESTED: &[&str] = &[$($name),*];
    };
}

case_tests! {
    case_whole_nothing_to_do => "whole-nothing-to-do",
    case_whole_pending => "whole-pending",
    case_no_marker => "no-marker",
    case_malformed_marker => "malformed-marker",
    case_policy_missing => "policy-missing",
    case_policy_other_namespace => "policy-other-namespace",
    case_selector_excludes => "selector-excludes",
    case_path_not_covered => "path-not-covered",
    case_repository_missing => "repository-missing",
    case_never_scanned => "never-scanned",
    case_scan_failed => "scan-failed",
    case_exclusion_removes_latest => "exclusion-removes-latest",
    case_pattern_matches_nothing => "pattern-matches-nothing",
    case_range_excludes_all => "range-excludes-all",
    case_prerelease_only => "prerelease-only",
    case_never_semver => "never-semver",
    case_push_failed => "push-failed",
    case_policy_target => "policy-target",
}

#[test]
fn every_case_has_its_own_test() {
    let listed: Vec<&str> = CASES.iter().map(|c| c.name).collect();
    assert_eq!(listed, TESTED);
}

#[test]
fn golden_reports() {
    for case in CASES {
        golden(case.name, &explain_case(case.name).to_text());
    }
}

#[test]
fn links_after_the_break_still_show_what_is_known() {
    // The repository is missing, yet the automation and path links are judged.
    let report = explain_case("repository-missing");
    assert_eq!(
        report.link("automation").map(|l| l.state),
        Some(LinkState::Ok)
    );
    assert_eq!(report.link("path").map(|l| l.state), Some(LinkState::Ok));
    assert_eq!(
        report.link("tags").map(|l| l.state),
        Some(LinkState::Unknown)
    );
}

#[test]
fn json_lists_every_link() {
    let report = explain_case("range-excludes-all");
    let json = report.to_json();
    assert_eq!(json["whole"], false);
    assert_eq!(json["brokenLink"], "range");
    let links = json["links"].as_array().expect("links");
    let names: Vec<&str> = links.iter().filter_map(|l| l["link"].as_str()).collect();
    assert_eq!(
        names,
        [
            "marker",
            "policy",
            "repository",
            "tags",
            "exclusion",
            "filter",
            "range",
            "automation",
            "path",
            "update",
            "push"
        ]
    );
    assert_eq!(links[6]["state"], "broken");
    assert_eq!(links[6]["file"], "clusters/stage/policy.yaml");
}
