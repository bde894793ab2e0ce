use super::*;

#[test]
fn canonical_names_match_go_containerregistry() {
    let cases = [
        ("nginx", "index.docker.io/library/nginx"),
        ("alpine", "index.docker.io/library/alpine"),
        ("docker.io/nginx", "index.docker.io/library/nginx"),
        (
            "docker.io/stefanprodan/podinfo",
            "index.docker.io/stefanprodan/podinfo",
        ),
        (
            "stefanprodan/podinfo",
            "index.docker.io/stefanprodan/podinfo",
        ),
        (
            "index.docker.io/library/alpine",
            "index.docker.io/library/alpine",
        ),
        ("ghcr.io/org/app", "ghcr.io/org/app"),
        ("ghcr.io/org/team/app", "ghcr.io/org/team/app"),
        ("localhost/app", "localhost/app"),
        ("localhost:5000/app", "localhost:5000/app"),
        ("127.0.0.1:5000/a/b", "127.0.0.1:5000/a/b"),
        (
            "registry.example.com:443/x_y-z.w",
            "registry.example.com:443/x_y-z.w",
        ),
        ("[::1]:5000/app", "[::1]:5000/app"),
    ];
    for (input, want) in cases {
        let name = ImageName::parse(input, false).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(name.canonical(), want, "{input}");
        assert_eq!(name.to_string(), want, "{input}");
    }
}

#[test]
fn registry_and_repository_parts() {
    let name = ImageName::parse("localhost:5000/team/app", true).unwrap();
    assert_eq!(name.registry(), "localhost:5000");
    assert_eq!(name.repository(), "team/app");
    assert!(name.insecure());
    let hub = ImageName::parse("nginx", false).unwrap();
    assert_eq!(hub.registry(), DOCKER_HUB);
    assert_eq!(hub.repository(), "library/nginx");
    assert!(!hub.insecure());
}

#[test]
fn flux_errors_for_scheme_and_tag() {
    let cases = [
        (
            "https://ghcr.io/org/app",
            "image 'https://ghcr.io/org/app' should not include URL scheme; remove 'https://'",
        ),
        (
            "oci://ghcr.io/org/app",
            "image 'oci://ghcr.io/org/app' should not include URL scheme; remove 'oci://'",
        ),
        (
            "ghcr.io/org/app:v1.0",
            "image 'ghcr.io/org/app:v1.0' should not include a tag; remove ':v1.0'",
        ),
        (
            "nginx:latest",
            "image 'nginx:latest' should not include a tag; remove ':latest'",
        ),
        (
            "localhost:5000/app:1",
            "image 'localhost:5000/app:1' should not include a tag; remove ':1'",
        ),
        (
            "ghcr.io/org/app@sha256:abc",
            "image 'ghcr.io/org/app@sha256:abc' should not include a digest; remove '@sha256:abc'",
        ),
    ];
    for (input, want) in cases {
        let err = ImageName::parse(input, false).expect_err(input);
        assert_eq!(err.to_string(), want);
    }
}

#[test]
fn invalid_names_are_rejected() {
    let cases = [
        ("", "a repository name must be specified"),
        ("Nginx", "repository can only contain the characters"),
        (
            "ghcr.io/Org/app",
            "repository can only contain the characters",
        ),
        ("a", "between 2 and 255 characters"),
        (
            "bad host:5000/app",
            "registries must be valid RFC 3986 URI authorities",
        ),
        (
            "host:port/app",
            "registries must be valid RFC 3986 URI authorities",
        ),
        (
            "a:b:c/app",
            "registries must be valid RFC 3986 URI authorities",
        ),
    ];
    for (input, want) in cases {
        let err = ImageName::parse(input, false).expect_err(input);
        assert!(err.to_string().contains(want), "{input}: {err}");
    }
}
