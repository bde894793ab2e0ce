use super::*;
use ferroflux_api::image::{ImageRepositorySpec, ImageRepositoryStatus, ScanResult};

#[test]
fn status_and_spec_round_trip_and_list() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep/dir/state.redb");
    let st = StatusStore::open(&path).unwrap();
    let a = ObjectKey::new("ImageRepository", "flux-system", "a");
    let b = ObjectKey::new("ImageRepository", "apps", "b");
    let status = ImageRepositoryStatus {
        canonical_image_name: Some("127.0.0.1:5000/app".into()),
        last_scan_result: Some(ScanResult {
            tag_count: 4,
            ..Default::default()
        }),
        ..Default::default()
    };
    st.put_status(&a, &status).unwrap();
    let spec = ImageRepositorySpec {
        image: "x".into(),
        suspend: Some(true),
        ..Default::default()
    };
    st.put_spec(&a, &spec).unwrap();
    st.put_spec(&b, &spec).unwrap();
    // another kind with the same prefix must not leak in
    st.put_status(&ObjectKey::new("ImageRepositoryX", "n", "c"), &status)
        .unwrap();
    drop(st);

    let st = StatusStore::open(&path).unwrap();
    let back: ImageRepositoryStatus = st.get_status(&a).unwrap().unwrap();
    assert_eq!(back, status);
    let back: ImageRepositorySpec = st.get_spec(&a).unwrap().unwrap();
    assert_eq!(back.suspend, Some(true));
    assert!(
        st.get_status::<ImageRepositoryStatus>(&b)
            .unwrap()
            .is_none()
    );
    let list = st.list("ImageRepository").unwrap();
    let names: Vec<(String, bool, bool)> = list
        .iter()
        .map(|s| {
            (
                format!("{}/{}", s.namespace, s.name),
                s.spec.is_some(),
                s.status.is_some(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("apps/b".to_string(), true, false),
            ("flux-system/a".to_string(), true, true)
        ]
    );
    st.remove(&a).unwrap();
    assert_eq!(st.keys("ImageRepository").unwrap(), vec![b]);
}

#[test]
fn a_status_of_the_wrong_shape_names_the_object() {
    let dir = tempfile::tempdir().unwrap();
    let st = StatusStore::open(&dir.path().join("s.redb")).unwrap();
    let k = ObjectKey::new("ImagePolicy", "ns", "p");
    st.put_status(&k, &serde_json::json!({"latestRef": 3}))
        .unwrap();
    let err = st
        .get_status::<ferroflux_api::image::ImagePolicyStatus>(&k)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("status of ImagePolicy/ns/p does not decode"),
        "{err}"
    );
}
