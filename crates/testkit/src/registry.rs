//! Debian's `docker-registry` (CNCF distribution 2.8) on loopback: a free
//! port, filesystem storage in a temp dir, optional htpasswd (bcrypt) Basic
//! auth and TLS from a test CA; killed on drop. Images are pushed through the
//! distribution API (an empty config blob plus a manifest per tag).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sha2::Digest as _;

use crate::tls::{CertPair, TestCa};

/// Environment variable overriding the binary path.
pub const BINARY_ENV: &str = "FERROFLUX_DOCKER_REGISTRY";
const DEFAULT_BINARY: &str = "/usr/bin/docker-registry";

/// How to start the registry.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `(user, password)` for htpasswd Basic auth.
    pub htpasswd: Option<(String, String)>,
    /// Serve HTTPS with a certificate for 127.0.0.1/localhost from a fresh CA.
    pub tls: bool,
    /// With `tls`: require a client certificate signed by the same CA (mTLS).
    pub client_auth: bool,
}

/// A running `docker-registry serve`.
pub struct DockerRegistry {
    child: Child,
    dir: tempfile::TempDir,
    addr: SocketAddr,
    ca_pem: Option<String>,
    client: Option<CertPair>,
    creds: Option<(String, String)>,
}

impl DockerRegistry {
    /// The binary, from `FERROFLUX_DOCKER_REGISTRY` or `/usr/bin/docker-registry`.
    pub fn binary() -> Option<PathBuf> {
        let path = std::env::var_os(BINARY_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_BINARY));
        path.is_file().then_some(path)
    }

    /// Start a registry; `None` (after a skip notice, or a panic in CI)
    /// when the binary is missing.
    pub fn start(opts: Options) -> Option<DockerRegistry> {
        let Some(binary) = Self::binary() else {
            crate::env::skip_or_fail(&format!(
                "docker-registry binary ({DEFAULT_BINARY} or ${BINARY_ENV}); apt-get install docker-registry"
            ));
            return None;
        };
        let dir = tempfile::tempdir().expect("registry temp dir");
        let port = free_port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let storage = dir.path().join("storage");
        std::fs::create_dir_all(&storage).expect("registry storage dir");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: {addr}\n",
            storage.display()
        );
        let mut ca_pem = None;
        let mut client = None;
        if opts.tls {
            let ca = TestCa::new("ferroflux test registry CA");
            let server = ca.server_cert(&["127.0.0.1", "localhost"]);
            let cert = dir.path().join("server.crt");
            let key = dir.path().join("server.key");
            std::fs::write(&cert, &server.cert_pem).expect("write server cert");
            std::fs::write(&key, &server.key_pem).expect("write server key");
            config.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert.display(),
                key.display()
            ));
            if opts.client_auth {
                let ca_path = dir.path().join("client-ca.crt");
                std::fs::write(&ca_path, ca.cert_pem()).expect("write client CA");
                config.push_str(&format!("    clientcas:\n      - {}\n", ca_path.display()));
                client = Some(ca.client_cert("ferroflux test client"));
            }
            ca_pem = Some(ca.cert_pem().to_owned());
        }
        if let Some((user, pass)) = &opts.htpasswd {
            // distribution only accepts bcrypt entries.
            let hash = bcrypt::hash_with_result(pass, 4)
                .expect("bcrypt")
                .format_for_version(bcrypt::Version::TwoY);
            let path = dir.path().join("htpasswd");
            std::fs::write(&path, format!("{user}:{hash}\n")).expect("write htpasswd");
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: basic-realm\n    path: {}\n",
                path.display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).expect("write registry config");
        let log = std::fs::File::create(dir.path().join("registry.log")).expect("registry log");
        let child = Command::new(&binary)
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
        let mut registry = DockerRegistry {
            child,
            dir,
            addr,
            ca_pem,
            client,
            creds: opts.htpasswd,
        };
        registry.wait_ready();
        Some(registry)
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("docker-registry exited with {status}: {}", self.log());
            }
            if TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "docker-registry did not listen on {}: {}",
            self.addr,
            self.log()
        );
    }

    /// The registry's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// `127.0.0.1:<port>`.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// `127.0.0.1:<port>/<repository>`.
    pub fn image(&self, repository: &str) -> String {
        format!("{}/{repository}", self.addr)
    }

    /// The client certificate the registry accepts when started with
    /// `client_auth`.
    pub fn client_cert(&self) -> Option<&CertPair> {
        self.client.as_ref()
    }

    /// The CA certificate when started with TLS.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    fn base(&self) -> String {
        let scheme = if self.ca_pem.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    fn http(&self) -> reqwest::Client {
        let mut roots = rustls::RootCertStore::empty();
        if let Some(pem) = &self.ca_pem {
            use rustls::pki_types::pem::PemObject as _;
            for cert in rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes()) {
                roots.add(cert.expect("CA PEM")).expect("add CA");
            }
        }
        let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("tls versions")
        .with_root_certificates(roots);
        let tls = match &self.client {
            Some(pair) => {
                use rustls::pki_types::pem::PemObject as _;
                let chain =
                    rustls::pki_types::CertificateDer::pem_slice_iter(pair.cert_pem.as_bytes())
                        .collect::<Result<Vec<_>, _>>()
                        .expect("client cert PEM");
                let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(pair.key_pem.as_bytes())
                    .expect("client key PEM");
                tls.with_client_auth_cert(chain, key).expect("client auth")
            }
            None => tls.with_no_client_auth(),
        };
        reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .build()
            .expect("push client")
    }

    fn authed(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.creds {
            Some((user, pass)) => req.basic_auth(user, Some(pass)),
            None => req,
        }
    }

    /// Push a minimal OCI image as `repository:tag`; returns its digest.
    pub async fn push_image(&self, repository: &str, tag: &str) -> String {
        self.push_build(repository, tag, None).await
    }

    /// Push `repository:tag` again as another build (a mutable tag such as
    /// `latest` rebuilt): `build` lands in an annotation, so the manifest
    /// and its digest differ from [`DockerRegistry::push_image`]'s.
    pub async fn push_build(&self, repository: &str, tag: &str, build: Option<&str>) -> String {
        let mut annotations = serde_json::json!({"org.opencontainers.image.ref.name": tag});
        if let Some(build) = build {
            annotations["org.opencontainers.image.revision"] = build.into();
        }
        self.push_artifact(
            repository,
            tag,
            ("application/vnd.oci.image.config.v1+json", b"{}"),
            &[],
            annotations,
        )
        .await
    }

    /// Push `tgz` as `flux push artifact` does: Flux's config and content
    /// media types and its `revision`/`source`/`created` annotations.
    /// Returns the manifest digest.
    pub async fn push_flux_artifact(
        &self,
        repository: &str,
        tag: &str,
        tgz: &[u8],
        revision: &str,
    ) -> String {
        self.push_artifact(
            repository,
            tag,
            ("application/vnd.cncf.flux.config.v1+json", b"{}"),
            &[("application/vnd.cncf.flux.content.v1.tar+gzip", tgz)],
            serde_json::json!({
                "org.opencontainers.image.created": "2026-01-01T00:00:00Z",
                "org.opencontainers.image.revision": revision,
                "org.opencontainers.image.source": "https://example.test/fleet.git",
            }),
        )
        .await
    }

    /// Upload a blob (monolithic POST + PUT); returns its digest.
    pub async fn push_blob(&self, repository: &str, data: &[u8]) -> String {
        let http = self.http();
        let base = self.base();
        let digest = sha256(data);
        let start = self
            .authed(http.post(format!("{base}/v2/{repository}/blobs/uploads/")))
            .send()
            .await
            .expect("start blob upload");
        assert_eq!(
            start.status().as_u16(),
            202,
            "start upload: {}",
            start.status()
        );
        let location = start
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .expect("upload location")
            .to_owned();
        let upload = if location.starts_with("http") {
            location
        } else {
            format!("{base}{location}")
        };
        let sep = if upload.contains('?') { '&' } else { '?' };
        let put = self
            .authed(http.put(format!("{upload}{sep}digest={digest}")))
            .header("content-type", "application/octet-stream")
            .body(data.to_vec())
            .send()
            .await
            .expect("put blob");
        assert_eq!(put.status().as_u16(), 201, "put blob: {}", put.status());
        digest
    }

    /// Push an OCI image manifest of `config` (media type, bytes) and
    /// `layers` (media type, bytes) as `repository:tag`; returns its digest.
    pub async fn push_artifact(
        &self,
        repository: &str,
        tag: &str,
        config: (&str, &[u8]),
        layers: &[(&str, &[u8])],
        annotations: serde_json::Value,
    ) -> String {
        let config_digest = self.push_blob(repository, config.1).await;
        let mut descriptors = Vec::new();
        for (media_type, data) in layers {
            let digest = self.push_blob(repository, data).await;
            descriptors.push(serde_json::json!({
                "mediaType": media_type, "digest": digest, "size": data.len(),
            }));
        }
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": config.0,
                "digest": config_digest,
                "size": config.1.len(),
            },
            "layers": descriptors,
            "annotations": annotations,
        });
        let body = serde_json::to_vec(&manifest).expect("manifest json");
        let digest = sha256(&body);
        let http = self.http();
        let base = self.base();
        let resp = self
            .authed(http.put(format!("{base}/v2/{repository}/manifests/{tag}")))
            .header("content-type", "application/vnd.oci.image.manifest.v1+json")
            .body(body)
            .send()
            .await
            .expect("put manifest");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        assert_eq!(
            status.as_u16(),
            201,
            "put manifest {repository}:{tag}: {text}"
        );
        digest
    }
}

impl Drop for DockerRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `sha256:<hex>` of bytes.
pub fn sha256(bytes: &[u8]) -> String {
    let digest = sha2::Sha256::digest(bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// A port that was free a moment ago on 127.0.0.1, and never handed out
/// before by this process: the kernel may give the same ephemeral port to
/// two `bind(0)`s in a row once the first listener is closed, and two
/// servers told to listen on it would collide.
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("bind 127.0.0.1:0");
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

#[cfg(test)]
mod tests;
