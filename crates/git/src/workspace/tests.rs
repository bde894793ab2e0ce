use super::*;

#[test]
fn revision_string_like_flux() {
    let hex = "8084f1bb0a8cb20f8d1bd7e1d2b1e6d0b5a4f3c2";
    for (reference, want) in [
        (Some("refs/heads/main"), format!("main@sha1:{hex}")),
        (
            Some("refs/heads/feature/x"),
            format!("feature/x@sha1:{hex}"),
        ),
        (Some("refs/tags/v1.0.0"), format!("v1.0.0@sha1:{hex}")),
        (Some("HEAD"), format!("sha1:{hex}")),
        (None, format!("sha1:{hex}")),
    ] {
        assert_eq!(revision_string(reference, hex), want, "{reference:?}");
    }
}

#[test]
fn checkout_branch_name() {
    assert_eq!(CheckoutRef::default().branch_name(), Some("master"));
    assert_eq!(CheckoutRef::branch("main").branch_name(), Some("main"));
    let tag = CheckoutRef {
        tag: Some("v1".into()),
        ..CheckoutRef::default()
    };
    assert_eq!(tag.branch_name(), None);
    let empty_strings = CheckoutRef {
        branch: Some(String::new()),
        ..CheckoutRef::default()
    };
    assert_eq!(empty_strings.branch_name(), Some("master"));
}

#[test]
fn options_default_is_shallow() {
    let o = Options::default();
    assert_eq!(o.depth, Some(1));
    assert!(o.push_attempts > 1);
}
