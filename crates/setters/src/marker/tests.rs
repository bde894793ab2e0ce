use super::*;

#[derive(Debug, PartialEq)]
enum Want {
    Marker(&'static str),
    NotMarker,
    Json,
    Form,
}

#[test]
fn parses_comments_like_kyaml() {
    let cases = [
        (
            r#"# {"$imagepolicy": "flux-system:app"}"#,
            Want::Marker("flux-system:app"),
        ),
        (
            r#"#{"$imagepolicy":"ns:app:tag"}"#,
            Want::Marker("ns:app:tag"),
        ),
        (
            r##"## {"$imagepolicy": "ns:app:name"}  "##,
            Want::Marker("ns:app:name"),
        ),
        (
            "# {\"$imagepolicy\": \"ns:app:digest\"}\r",
            Want::Marker("ns:app:digest"),
        ),
        (
            r#"# {"other": "x", "$imagepolicy": "ns:app"}"#,
            Want::Marker("ns:app"),
        ),
        ("# just a comment", Want::NotMarker),
        (r#"# {"$openapi": "replicas"}"#, Want::NotMarker),
        (r#"# {"note": "see $imagepolicy docs"}"#, Want::NotMarker),
        (r#"# {"$imagepolicy": flux-system:app}"#, Want::Json),
        (r#"# {'$imagepolicy': 'flux-system:app'}"#, Want::Json),
        (r#"# {"$imagepolicy": "ns:app"} trailing"#, Want::Json),
        (r#"# {"$imagepolicy": 3}"#, Want::Json),
        (r#"# {"$imagepolicy": "ns:app"#, Want::Json),
        (r#"# {"$imagepolicy": ""}"#, Want::Form),
        (r#"# {"$imagepolicy": "app"}"#, Want::Form),
        (r#"# {"$imagepolicy": "ns/app"}"#, Want::Form),
        (r#"# {"$imagepolicy": "ns:app:version"}"#, Want::Form),
        (r#"# {"$imagepolicy": "ns::tag"}"#, Want::Form),
        (r#"# {"$imagepolicy": "ns:app:tag:x"}"#, Want::Form),
    ];
    for (comment, want) in cases {
        let got = match parse_comment(comment) {
            Ok(Some(v)) => {
                assert_eq!(
                    Want::Marker(Box::leak(v.into_boxed_str())),
                    want,
                    "{comment}"
                );
                continue;
            }
            Ok(None) => Want::NotMarker,
            Err(Error::Json { .. }) => Want::Json,
            Err(Error::Form { .. }) => Want::Form,
        };
        assert_eq!(got, want, "{comment}");
    }
}

#[test]
fn errors_name_the_comment() {
    let comment = r#"# {"$imagepolicy": flux-system:app}"#;
    let err = parse_comment(comment).expect_err("malformed");
    let msg = err.to_string();
    assert!(msg.contains("flux-system:app"), "{msg}");
    assert!(msg.starts_with("malformed $imagepolicy marker"), "{msg}");
}
