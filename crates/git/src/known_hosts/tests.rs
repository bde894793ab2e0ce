use super::*;

// Real keys (ssh-keygen output); the blob decodes to a wire-format key.
const ED: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIMMa8bhkJ4M83XUK41InSa6DMSZGQZlYu1p5OOIyAz35";
const OTHER: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIOfAv0hG48nQS3+ZFhl0svwwALrFJvAlwlyAMCTK5zHg";

fn blob(b64: &str) -> Vec<u8> {
    B64.decode(b64).expect("test key")
}

fn hashed(host: &str, salt: &[u8]) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(salt).expect("hmac");
    mac.update(host.as_bytes());
    format!(
        "|1|{}|{}",
        B64.encode(salt),
        B64.encode(mac.finalize().into_bytes())
    )
}

#[test]
fn check_table() {
    let h = hashed("[127.0.0.1]:2222", b"0123456789abcdefghij");
    let cases: Vec<(String, &str, &str, Result<(), &str>)> = vec![
        (
            format!("github.com ssh-ed25519 {ED}"),
            "github.com",
            ED,
            Ok(()),
        ),
        (
            format!("GitHub.com ssh-ed25519 {ED}"),
            "github.com",
            ED,
            Ok(()),
        ),
        (
            format!("github.com ssh-ed25519 {ED}"),
            "gitlab.com",
            ED,
            Err("unknown"),
        ),
        (
            format!("github.com ssh-ed25519 {OTHER}"),
            "github.com",
            ED,
            Err("mismatch"),
        ),
        (
            format!("[127.0.0.1]:2222 ssh-ed25519 {ED}"),
            "[127.0.0.1]:2222",
            ED,
            Ok(()),
        ),
        (
            format!("127.0.0.1 ssh-ed25519 {ED}"),
            "[127.0.0.1]:2222",
            ED,
            Err("unknown"),
        ),
        (
            format!("{h} ssh-ed25519 {ED}"),
            "[127.0.0.1]:2222",
            ED,
            Ok(()),
        ),
        (
            format!("{h} ssh-ed25519 {ED}"),
            "127.0.0.1",
            ED,
            Err("unknown"),
        ),
        (
            format!("{h} ssh-ed25519 {OTHER}"),
            "[127.0.0.1]:2222",
            ED,
            Err("mismatch"),
        ),
        (
            format!("*.example.com,!bad.example.com ssh-ed25519 {ED}"),
            "a.example.com",
            ED,
            Ok(()),
        ),
        (
            format!("*.example.com,!bad.example.com ssh-ed25519 {ED}"),
            "bad.example.com",
            ED,
            Err("unknown"),
        ),
        (
            format!("git?.example.com ssh-ed25519 {ED}"),
            "git1.example.com",
            ED,
            Ok(()),
        ),
        (
            format!(
                "# comment\n\n@revoked github.com ssh-ed25519 {ED}\ngithub.com ssh-ed25519 {ED}"
            ),
            "github.com",
            ED,
            Err("revoked"),
        ),
        (
            format!("@cert-authority *.example.com ssh-ed25519 {ED}"),
            "a.example.com",
            ED,
            Err("unknown"),
        ),
    ];
    for (text, host, key, want) in cases {
        let kh = KnownHosts::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let got = kh.check(host, &blob(key));
        match (want, got) {
            (Ok(()), Ok(())) => {}
            (Err(kind), Err(e)) => {
                let msg = e.to_string();
                assert!(
                    msg.contains(kind),
                    "{text} / {host}: {msg} should say {kind}"
                );
                assert!(msg.contains(host), "{msg} should name {host}");
                assert!(
                    msg.contains("ssh-ed25519"),
                    "{msg} should name the key type"
                );
            }
            (want, got) => panic!("{text} / {host}: want {want:?}, got {got:?}"),
        }
    }
}

#[test]
fn parse_errors_name_the_line() {
    for (text, line) in [
        ("github.com ssh-ed25519", 1),
        ("# c\ngithub.com ssh-ed25519 !!notbase64", 2),
        ("|1|bad github.com ssh-ed25519 AAAA", 1),
        ("@bogus github.com ssh-ed25519 AAAA", 1),
    ] {
        match KnownHosts::parse(text) {
            Err(Error::Parse { line: l, .. }) => assert_eq!(l, line, "{text}"),
            other => panic!("{text}: want a parse error, got {other:?}"),
        }
    }
}

#[test]
fn key_type_from_blob() {
    assert_eq!(key_type_of(&blob(ED)), "ssh-ed25519");
    assert_eq!(key_type_of(b"\0\0"), "unknown");
    assert_eq!(key_type_of(b"\0\0\0\x09short"), "unknown");
}
