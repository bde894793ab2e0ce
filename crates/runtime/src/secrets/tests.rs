use super::*;

const SECRETS: &str = "apiVersion: v1
kind: Secret
metadata:
  name: webhook-token
  namespace: flux-system
stringData:
  token: s3cr3t
---
apiVersion: v1
kind: Secret
metadata:
  name: both
type: Opaque
data:
  a: aGVsbG8=
  b: d29y
    bGQ=
stringData:
  b: override
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: ignored
data:
  x: y
";

#[test]
fn data_and_string_data() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.yaml"), SECRETS).unwrap();
    let s = Secrets::load_dir(dir.path()).unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(
        s.get("flux-system", "webhook-token").unwrap()["token"],
        b"s3cr3t"
    );
    let both = s.get("default", "both").unwrap();
    assert_eq!(both["a"], b"hello");
    assert_eq!(both["b"], b"override");
    let err = s.get("flux-system", "ignored").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "secret 'flux-system/ignored' not found in {}",
            dir.path().display()
        )
    );
    assert!(format!("{s:?}").contains("webhook-token"));
    assert!(!format!("{s:?}").contains("s3cr3t"), "Debug leaks a value");
}

#[test]
fn errors_name_file_and_key_never_the_value() {
    let cases = [
        (
            "bad base64",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\ndata:\n  k: '!!!not-base64-secretvalue'\n",
            "key 'k' of data is not base64",
        ),
        (
            "data not a map",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\ndata: [1]\n",
            "data must be a map",
        ),
        (
            "value not a string",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\nstringData:\n  k: {a: 1}\n",
            "stringData key 'k' must be a string",
        ),
    ];
    for (case, text, want) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("s.yaml"), text).unwrap();
        let err = Secrets::load_dir(dir.path()).unwrap_err().to_string();
        assert!(err.contains(want), "{case}: {err}");
        assert!(
            err.contains("s.yaml:1:") && err.contains("'default/x'"),
            "{case}: {err}"
        );
        assert!(!err.contains("secretvalue"), "{case}: {err}");
    }
}

#[test]
fn missing_directory_and_docker_config() {
    let dir = tempfile::tempdir().unwrap();
    assert!(Secrets::load_dir(&dir.path().join("nope")).is_err());
    let none = Secrets::default();
    assert!(
        none.get("a", "b")
            .unwrap_err()
            .to_string()
            .ends_with("(no --secrets directory given)")
    );
    let cfg = dir.path().join("config.json");
    std::fs::write(&cfg, br#"{"auths":{}}"#).unwrap();
    let s = Secrets::default().with_docker_config(&cfg).unwrap();
    assert_eq!(s.docker_config().unwrap().1, br#"{"auths":{}}"#);
    assert!(
        Secrets::default()
            .with_docker_config(&dir.path().join("x"))
            .is_err()
    );
}
