//! Flux's setter fixtures (`flux-image/update-setters`, `policy-applier`),
//! with the policies `setters-README.md` describes. The output must be
//! byte-identical to `expected/`.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use ferroflux_setters::{Options, apply_tree, write_changes};

use crate::support::{assert_same_tree, copy_tree, policies, read_tree};

fn fixtures() -> Option<PathBuf> {
    let dir = ferroflux_testkit::env::dir_from_env("FERROFLUX_CONFORMANCE_DIR")?;
    Some(dir.join("flux-image"))
}

/// One row of the "Policies assumed" table of `setters-README.md`.
struct ReadmePolicy {
    namespace: String,
    name: String,
    image: String,
    tag: String,
    digest: String,
}

impl ReadmePolicy {
    fn setter(&self) -> String {
        format!("{}:{}", self.namespace, self.name)
    }

    fn image_ref(&self) -> String {
        match self.digest.as_str() {
            "" => format!("{}:{}", self.image, self.tag),
            d => format!("{}:{}@{d}", self.image, self.tag),
        }
    }
}

/// The policies the update-setters fixture assumes, read from the table
/// (`| `ns/name` | `image` | `tag` | `digest` or (empty) |`).
fn readme_policies(fixtures: &Path) -> Vec<ReadmePolicy> {
    let text = fs::read_to_string(fixtures.join("setters-README.md")).expect("setters-README.md");
    let cell = |c: &str| c.trim().trim_matches('`').to_string();
    let table: Vec<ReadmePolicy> = text
        .lines()
        .skip_while(|l| !l.starts_with("| policy |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|row| {
            let cols: Vec<&str> = row.trim_matches('|').split('|').collect();
            let (namespace, name) = cell(cols[0])
                .split_once('/')
                .map(|(n, p)| (n.to_string(), p.to_string()))
                .expect("namespace/name");
            let digest = cell(cols[3]);
            ReadmePolicy {
                namespace,
                name,
                image: cell(cols[1]),
                tag: cell(cols[2]),
                digest: if digest == "(empty)" {
                    String::new()
                } else {
                    digest
                },
            }
        })
        .collect();
    assert_eq!(table.len(), 3, "the policies table of setters-README.md");
    table
}

#[test]
fn update_setters_matches_flux_byte_for_byte() {
    let Some(fixtures) = fixtures() else { return };
    let case = fixtures.join("update-setters");
    let work = tempfile::tempdir().expect("tempdir");
    let root = work.path().join("repo");
    copy_tree(&case.join("original"), &root);
    // Upstream keeps test.yaml as a dangling symlink to testing.yaml; the
    // shared copy may hold it as a regular file, so recreate the link.
    let test_yaml = root.join("test.yaml");
    if !fs::symlink_metadata(&test_yaml)
        .expect("lstat")
        .file_type()
        .is_symlink()
    {
        fs::remove_file(&test_yaml).expect("rm");
        symlink("testing.yaml", &test_yaml).expect("symlink");
    }
    let readme = readme_policies(&fixtures);
    let spec: String = readme
        .iter()
        .map(|p| format!("{}={}\n", p.setter(), p.image_ref()))
        .collect();
    let policies = policies(&spec);
    let (policy, pinned) = (&readme[0], &readme[2]);
    let original = read_tree(&root);
    let result = apply_tree(&root, &policies, &Options::default()).expect("apply");
    assert!(result.diagnostics.is_empty(), "{:?}", result.diagnostics);

    // Only the files in expected/ change, and they match byte for byte.
    let expected = read_tree(&case.join("expected"));
    let changed: Vec<&str> = result.files.iter().map(|f| f.path.as_str()).collect();
    let want: Vec<&str> = expected.keys().map(String::as_str).collect();
    assert_eq!(changed, want);
    for file in &result.files {
        assert_eq!(
            String::from_utf8_lossy(&file.updated),
            String::from_utf8_lossy(&expected[&file.path]),
            "{}",
            file.path
        );
    }
    write_changes(&result).expect("write");
    let mut want_tree = original.clone();
    want_tree.extend(expected.clone());
    assert_same_tree(&read_tree(&root), &want_tree, "update-setters");

    // The commit-template data of the same upstream test.
    type Triple = (String, String, String);
    let got: Vec<(String, String, Vec<Triple>)> = result
        .files
        .iter()
        .flat_map(|f| {
            f.objects.iter().map(move |o| {
                let id = &o.object;
                let key = if id.name.is_empty() && id.namespace.is_empty() {
                    format!("{}/{} (no name/namespace)", id.api_version, id.kind)
                } else {
                    format!(
                        "{}/{} {}/{}",
                        id.api_version, id.kind, id.namespace, id.name
                    )
                };
                let changes = o
                    .changes
                    .iter()
                    .map(|c| (c.old_value.clone(), c.new_value.clone(), c.setter.clone()))
                    .collect();
                (f.path.clone(), key, changes)
            })
        })
        .collect();
    let s = |v: &str| v.to_string();
    let kustomization = s("kustomize.config.k8s.io/v1beta1/Kustomization (no name/namespace)");
    let name_change = (
        s("replaced"),
        policy.image.clone(),
        format!("{}:name", policy.setter()),
    );
    let tag_change = (
        s("v1"),
        policy.tag.clone(),
        format!("{}:tag", policy.setter()),
    );
    assert_eq!(
        got,
        vec![
            (
                s("Kustomization"),
                kustomization.clone(),
                vec![name_change.clone(), tag_change.clone()]
            ),
            (
                s("kustomization.yml"),
                kustomization,
                vec![
                    name_change,
                    tag_change,
                    (
                        s("sha256:1234567890abcdef"),
                        pinned.digest.clone(),
                        format!("{}:digest", pinned.setter())
                    ),
                    (s("image"), pinned.image_ref(), pinned.setter()),
                ]
            ),
            (
                s("marked.yaml"),
                s("batch/v1beta1/CronJob bar/foo"),
                vec![(s("image:v1.0.0"), policy.image_ref(), policy.setter())]
            ),
        ]
    );
    let skipped: Vec<(&str, &str)> = result
        .skipped
        .iter()
        .map(|s| (s.path.as_str(), s.reason.as_str()))
        .collect();
    assert_eq!(skipped, [("test.yaml", "dangling symlink")]);
}

/// Copies `from` replacing `SETTER_SITE` with the marker of `target`.
fn with_marker(from: &Path, to: &Path, target: &str) {
    copy_tree(from, to);
    let marker = format!("{{\"$imagepolicy\": \"test-ns:{target}\"}}");
    for (rel, bytes) in read_tree(to) {
        let text = String::from_utf8(bytes).expect("utf-8");
        fs::write(to.join(rel), text.replace("SETTER_SITE", &marker)).expect("write");
    }
}

#[test]
fn policy_applier_matches_flux_byte_for_byte() {
    let Some(fixtures) = fixtures() else { return };
    let case = fixtures.join("policy-applier");
    struct Sub {
        name: &'static str,
        input: &'static str,
        expected: &'static str,
        update_path: &'static str,
        policies: &'static str,
        target: &'static str,
    }
    let subs = [
        Sub {
            name: "one policy",
            input: "appconfig",
            expected: "appconfig-setters-expected",
            update_path: "",
            policies: "test-ns:policy1=helloworld:1.0.1",
            target: "policy1",
        },
        Sub {
            name: "several policies",
            input: "appconfig",
            expected: "appconfig-setters-expected",
            update_path: "",
            policies: "test-ns:policy1=foo:1.1.1\ntest-ns:policy2=helloworld:1.0.1\ntest-ns:policy3=bar:2.2.2",
            target: "policy2",
        },
        Sub {
            name: "update path",
            input: "pathconfig",
            expected: "pathconfig-expected",
            update_path: "yes",
            policies: "test-ns:policy1=helloworld:1.0.1",
            target: "policy1",
        },
    ];
    for sub in subs {
        let work = tempfile::tempdir().expect("tempdir");
        let root = work.path().join("repo");
        let want = work.path().join("want");
        with_marker(&case.join(sub.input), &root, sub.target);
        with_marker(&case.join(sub.expected), &want, sub.target);
        let result = apply_tree(
            &root.join(sub.update_path),
            &policies(sub.policies),
            &Options::default(),
        )
        .expect("apply");
        assert!(
            result.diagnostics.is_empty(),
            "{}: {:?}",
            sub.name,
            result.diagnostics
        );
        assert_eq!(result.files.len(), 1, "{}", sub.name);
        assert_eq!(
            result.files[0].path, "deploy.yaml",
            "{}: relative to update.path",
            sub.name
        );
        let object = &result.files[0].objects[0].object;
        assert_eq!(
            (object.kind.as_str(), object.namespace.as_str()),
            ("Deployment", "")
        );
        write_changes(&result).expect("write");
        assert_same_tree(&read_tree(&root), &read_tree(&want), sub.name);
    }
}
