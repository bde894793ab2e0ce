use super::*;

#[test]
fn parse_table() {
    struct Case {
        raw: &'static str,
        scheme: Scheme,
        user: Option<&'static str>,
        host: &'static str,
        port: Option<u16>,
        path: &'static str,
        known_hosts: &'static str,
        redacted: &'static str,
    }
    let cases = [
        Case {
            raw: "https://user:s3cret@github.com/org/repo.git",
            scheme: Scheme::Https,
            user: Some("user"),
            host: "github.com",
            port: None,
            path: "/org/repo.git",
            known_hosts: "github.com",
            redacted: "https://user@github.com/org/repo.git",
        },
        Case {
            raw: "ssh://git@127.0.0.1:2222/srv/repo.git",
            scheme: Scheme::Ssh,
            user: Some("git"),
            host: "127.0.0.1",
            port: Some(2222),
            path: "/srv/repo.git",
            known_hosts: "[127.0.0.1]:2222",
            redacted: "ssh://git@127.0.0.1:2222/srv/repo.git",
        },
        Case {
            raw: "ssh://git@example.com:22/repo",
            scheme: Scheme::Ssh,
            user: Some("git"),
            host: "example.com",
            port: Some(22),
            path: "/repo",
            known_hosts: "example.com",
            redacted: "ssh://git@example.com:22/repo",
        },
        Case {
            raw: "git@github.com:org/repo.git",
            scheme: Scheme::Ssh,
            user: Some("git"),
            host: "github.com",
            port: None,
            path: "org/repo.git",
            known_hosts: "github.com",
            redacted: "git@github.com:org/repo.git",
        },
        Case {
            raw: "file:///tmp/repo.git",
            scheme: Scheme::File,
            user: None,
            host: "",
            port: None,
            path: "/tmp/repo.git",
            known_hosts: "",
            redacted: "file:///tmp/repo.git",
        },
        Case {
            raw: "http://[::1]:8080/git/r",
            scheme: Scheme::Http,
            user: None,
            host: "::1",
            port: Some(8080),
            path: "/git/r",
            known_hosts: "[::1]:8080",
            redacted: "http://[::1]:8080/git/r",
        },
    ];
    for c in cases {
        let u = RemoteUrl::parse(c.raw).unwrap_or_else(|e| panic!("{}: {e}", c.raw));
        assert_eq!(u.scheme, c.scheme, "{}", c.raw);
        assert_eq!(u.user.as_deref(), c.user, "{}", c.raw);
        assert_eq!(u.host, c.host, "{}", c.raw);
        assert_eq!(u.port, c.port, "{}", c.raw);
        assert_eq!(u.path, c.path, "{}", c.raw);
        assert_eq!(u.known_hosts_name(), c.known_hosts, "{}", c.raw);
        assert_eq!(u.redacted(), c.redacted, "{}", c.raw);
        assert!(!u.redacted().contains("s3cret"));
    }
}

#[test]
fn rejects_unsupported() {
    for raw in [
        "git://example.com/repo",
        "ftp://x/y",
        "relative/path",
        "https://:80/x",
    ] {
        assert!(RemoteUrl::parse(raw).is_err(), "{raw} should be rejected");
    }
}

#[test]
fn error_never_contains_password() {
    let err = RemoteUrl::parse("https://u:hunter2@:99999/x").expect_err("bad port");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[test]
fn debug_never_shows_the_password() {
    let u = RemoteUrl::parse("https://bob:hunter2-pw@git.example/fleet.git").expect("parse");
    let shown = format!("{u:?}");
    assert!(!shown.contains("hunter2-pw"), "{shown}");
    assert!(
        shown.contains("https://bob@git.example/fleet.git"),
        "{shown}"
    );
    assert_eq!(u.password(), Some("hunter2-pw"));
}
