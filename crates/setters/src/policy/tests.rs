use super::*;

const DIGEST: &str = "sha256:5903208060952d4479dee603fd7b6b78da9ca27a19d8322a4a6578dfc9036319";

fn policies() -> Policies {
    let mut p = Policies::new();
    p.insert(
        "apps-ns",
        "web",
        LatestRef {
            name: "registry.example/team/web".into(),
            tag: "v2.3.4".into(),
            digest: String::new(),
        },
    );
    p.insert(
        "apps-ns",
        "pinned",
        LatestRef {
            name: "image".into(),
            tag: "v1.0.0".into(),
            digest: DIGEST.into(),
        },
    );
    p
}

#[test]
fn resolves_the_four_setters() {
    let with_digest = format!("image:v1.0.0@{DIGEST}");
    let cases: &[(&str, Option<&str>)] = &[
        ("apps-ns:web", Some("registry.example/team/web:v2.3.4")),
        ("apps-ns:web:tag", Some("v2.3.4")),
        ("apps-ns:web:name", Some("registry.example/team/web")),
        ("apps-ns:web:digest", Some("")),
        ("apps-ns:pinned", Some(&with_digest)),
        ("apps-ns:pinned:digest", Some(DIGEST)),
        ("apps-ns:pinned:tag", Some("v1.0.0")),
        ("other-ns:web", None),
        ("apps-ns:web:bogus", None),
        ("apps-ns", None),
        ("", None),
        ("apps-ns/web", None),
    ];
    let p = policies();
    for (setter, want) in cases {
        let got = p.resolve(setter).map(|r| r.value);
        assert_eq!(got.as_deref(), *want, "setter {setter}");
    }
}

#[test]
fn parses_policy_specs() {
    type Parts<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str);
    let cases: &[(&str, Result<Parts<'_>, ()>)] = &[
        (
            "ns:app=ghcr.io/org/app:1.2.3",
            Ok(("ns", "app", "ghcr.io/org/app", "1.2.3", "")),
        ),
        (
            "ns:app=localhost:5000/app:v1@sha256:abc",
            Ok(("ns", "app", "localhost:5000/app", "v1", "sha256:abc")),
        ),
        (
            "ns:app=helloworld:1.0.1",
            Ok(("ns", "app", "helloworld", "1.0.1", "")),
        ),
        ("ns:app=localhost:5000/app", Err(())),
        ("ns:app=app", Err(())),
        ("ns:app=app:", Err(())),
        ("app=app:1", Err(())),
        (":app=app:1", Err(())),
        ("ns:app:tag=app:1", Err(())),
        ("ns:app", Err(())),
        ("ns:app=app:1@nodigest", Err(())),
        ("ns:app=app :1", Err(())),
    ];
    for (spec, want) in cases {
        let got = spec.parse::<PolicySpec>().map(|s| {
            (
                s.key.namespace,
                s.key.name,
                s.latest.name,
                s.latest.tag,
                s.latest.digest,
            )
        });
        match (got, want) {
            (Ok(g), Ok(w)) => assert_eq!(
                (
                    g.0.as_str(),
                    g.1.as_str(),
                    g.2.as_str(),
                    g.3.as_str(),
                    g.4.as_str()
                ),
                *w,
                "spec {spec}"
            ),
            (Err(e), Err(())) => assert!(e.to_string().contains(spec), "{e}"),
            (got, want) => panic!("spec {spec}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn latest_ref_prints_like_flux() {
    let cases = [
        (("app", "1", ""), "app:1"),
        (("app", "1", "sha256:x"), "app:1@sha256:x"),
        (("app", "", "sha256:x"), "app@sha256:x"),
    ];
    for ((name, tag, digest), want) in cases {
        let r = LatestRef {
            name: name.into(),
            tag: tag.into(),
            digest: digest.into(),
        };
        assert_eq!(r.to_string(), want);
    }
}
