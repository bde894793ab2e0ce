use super::*;

fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect()
}

const KH: &str =
    "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMMa8bhkJ4M83XUK41InSa6DMSZGQZlYu1p5OOIyAz35";

#[test]
fn from_secret_table() {
    let ok = Auth::from_secret(&data(&[("username", "u"), ("password", "p4ss")])).expect("basic");
    assert_eq!(ok.basic, Some(("u".into(), "p4ss".into())));
    assert!(ok.ssh_identity.is_none());

    let bearer = Auth::from_secret(&data(&[("bearerToken", "tok3n\n")])).expect("bearer");
    assert_eq!(bearer.bearer_token.as_deref(), Some("tok3n"));

    let ssh = Auth::from_secret(&data(&[
        ("identity", "KEY"),
        ("password", "phrase"),
        ("known_hosts", KH),
    ]))
    .expect("ssh");
    let id = ssh.ssh_identity.as_ref().expect("identity");
    assert_eq!(id.passphrase.as_deref(), Some("phrase"));
    assert!(ssh.basic.is_none(), "password belongs to the identity");
    assert_eq!(ssh.known_hosts.as_ref().map(KnownHosts::len), Some(1));

    let ca = Auth::from_secret(&data(&[("ca.crt", "PEM")])).expect("ca");
    assert_eq!(ca.ca_cert.as_deref(), Some(&b"PEM"[..]));

    for (pairs, want) in [
        (vec![("username", "u")], "no 'password'"),
        (vec![("password", "p")], "no 'username'"),
        (
            vec![("known_hosts", "github.com ssh-ed25519")],
            "known_hosts",
        ),
    ] {
        let err = Auth::from_secret(&data(&pairs)).expect_err("invalid");
        assert!(
            err.to_string().contains(want),
            "{err} should contain {want}"
        );
    }
}

#[test]
fn ssh_needs_identity_and_known_hosts() {
    let url = RemoteUrl::parse("ssh://git@example.com/repo").expect("url");
    let err = Auth::none().validate_for(&url).expect_err("no identity");
    assert!(matches!(err, Error::MissingIdentity { .. }), "{err}");
    let no_kh = Auth::from_secret(&data(&[("identity", "KEY")])).expect("identity");
    let err = no_kh.validate_for(&url).expect_err("no known_hosts");
    assert!(matches!(err, Error::MissingKnownHosts { .. }), "{err}");
    let file = RemoteUrl::parse("file:///tmp/x").expect("url");
    assert!(Auth::none().validate_for(&file).is_ok());
}

#[test]
fn debug_hides_secrets() {
    let auth =
        Auth::from_secret(&data(&[("username", "u"), ("password", "hunter2")])).expect("basic");
    let dbg = format!("{auth:?}");
    assert!(!dbg.contains("hunter2"), "{dbg}");
    assert_eq!(auth.secrets(), vec!["hunter2"]);
}
