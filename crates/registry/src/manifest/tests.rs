use super::*;

fn flux_manifest() -> Vec<u8> {
    let layer = sha256(b"layer");
    let config = sha256(b"{}");
    serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": FLUX_CONFIG, "digest": config, "size": 2},
        "layers": [{"mediaType": FLUX_CONTENT, "digest": layer, "size": 5}],
        "annotations": {"org.opencontainers.image.revision": "main@sha1:abc"},
    }))
    .unwrap()
}

#[test]
fn parses_a_flux_artifact_and_checks_its_digest() {
    let bytes = flux_manifest();
    let digest = sha256(&bytes);
    let m = parse(&bytes, None, &[&digest]).unwrap();
    assert_eq!(m.digest, digest);
    assert_eq!(m.media_type, OCI_MANIFEST);
    assert!(!m.is_index());
    assert_eq!(m.layers.len(), 1);
    assert_eq!(m.layers[0].media_type, FLUX_CONTENT);
    assert_eq!(m.layers[0].size, 5);
    assert_eq!(m.config.as_ref().unwrap().media_type, FLUX_CONFIG);
    assert_eq!(
        m.annotations["org.opencontainers.image.revision"],
        "main@sha1:abc"
    );
}

#[test]
fn hostile_manifests_are_refused() {
    let bytes = flux_manifest();
    let other = sha256(b"something else");
    let bad_layer = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "layers": [{"mediaType": FLUX_CONTENT, "digest": "md5:abc", "size": 5}],
    }))
    .unwrap();
    let negative = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "layers": [{"mediaType": FLUX_CONTENT, "digest": sha256(b"x"), "size": -1}],
    }))
    .unwrap();
    let schema1 = br#"{"schemaVersion": 1, "name": "a", "tag": "b"}"#.to_vec();
    type Case<'a> = (&'a [u8], Option<&'a str>, Vec<&'a str>, &'a str);
    let cases: [Case; 6] = [
        (
            &bytes,
            None,
            vec![other.as_str()],
            "digest mismatch: content has sha256:",
        ),
        (
            &bytes,
            None,
            vec!["sha512:abcd"],
            "unsupported digest 'sha512:abcd'",
        ),
        (&bad_layer, None, vec![], "unsupported digest 'md5:abc'"),
        (&negative, None, vec![], "negative size -1"),
        (
            &schema1,
            Some("application/vnd.docker.distribution.manifest.v1+prettyjws"),
            vec![],
            "unsupported manifest media type 'application/vnd.docker.distribution.manifest.v1+prettyjws'",
        ),
        (b"not json", None, vec![], "invalid manifest: "),
    ];
    for (body, content_type, expected, want) in cases {
        let err = parse(body, content_type, &expected)
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{err} !~ {want}");
    }
}

#[test]
fn media_type_from_the_header_when_the_body_has_none() {
    let body = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "manifests": [
            {"digest": sha256(b"arm"), "size": 1, "platform": {"os": "linux", "architecture": "arm64"}},
            {"digest": sha256(b"amd"), "size": 1, "platform": {"os": "linux", "architecture": "amd64"}},
        ],
    }))
    .unwrap();
    let m = parse(
        &body,
        Some("application/vnd.oci.image.index.v1+json; charset=utf-8"),
        &[],
    )
    .unwrap();
    assert!(m.is_index());
    assert_eq!(m.default_platform().unwrap().digest, sha256(b"amd"));
    assert!(is_sha256_digest(&sha256(b"")));
    assert!(!is_sha256_digest("sha256:ABC"));
}
