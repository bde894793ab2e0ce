use super::*;

#[test]
fn parses_like_go_containerregistry() {
    // (input, registry, repository, identifier, name)
    let cases = [
        (
            "myorg/web-app:1.0.1",
            "index.docker.io",
            "myorg/web-app",
            "1.0.1",
            "index.docker.io/myorg/web-app:1.0.1",
        ),
        (
            "redis",
            "index.docker.io",
            "library/redis",
            "latest",
            "index.docker.io/library/redis:latest",
        ),
        (
            "docker.io/redis:7",
            "index.docker.io",
            "library/redis",
            "7",
            "index.docker.io/library/redis:7",
        ),
        (
            "ghcr.io/a/b:6.5.1",
            "ghcr.io",
            "a/b",
            "6.5.1",
            "ghcr.io/a/b:6.5.1",
        ),
        (
            "localhost:5000/app:v1",
            "localhost:5000",
            "app",
            "v1",
            "localhost:5000/app:v1",
        ),
        (
            "redis:7.2.4@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "index.docker.io",
            "library/redis",
            "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "index.docker.io/library/redis@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ),
    ];
    for (input, reg, repo, id, name) in cases {
        let r = ImageRef::parse(input).unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.identifier()),
            (reg, repo, id),
            "{input}"
        );
        assert_eq!(r.name(), name, "{input}");
        assert_eq!(r.original, input);
    }
}

#[test]
fn rejects_invalid_references() {
    for input in [
        "MyOrg/Web-App:1.0.1",
        "a:b:c:d",
        "x",
        "app:bad tag",
        "app@sha256:short",
    ] {
        let err = ImageRef::parse(input).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "encountered invalid image ref \"{input}\": could not parse reference: {input}"
            )
        );
    }
}
