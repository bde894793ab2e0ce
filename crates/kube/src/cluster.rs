//! The kube-rs client side: connect as kubectl does (`$KUBECONFIG`, else
//! `~/.kube/config`, else the in-cluster service account), with an optional
//! kubeconfig file and context, and report the context's namespace.

use std::path::PathBuf;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("kubeconfig {path}: {detail}")]
    Kubeconfig { path: String, detail: String },
    #[error("no Kubernetes configuration found ({detail}); set KUBECONFIG or pass --kubeconfig")]
    NoConfig { detail: String },
    #[error("Kubernetes client: {0}")]
    Client(String),
}

/// Where to find the cluster: `--kubeconfig` and `--context`.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
}

/// A connected client and the namespace its context names (`default` when
/// the context names none).
#[derive(Clone)]
pub struct Connection {
    pub client: Client,
    pub namespace: String,
    /// What the client was made from (appliers make impersonating and
    /// remote clients from it).
    pub config: Config,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

/// The client configuration as kubectl would find it.
pub async fn config(opts: &ConnectOptions) -> Result<Config, ClusterError> {
    let kc_opts = KubeConfigOptions {
        context: opts.context.clone(),
        ..KubeConfigOptions::default()
    };
    match &opts.kubeconfig {
        Some(path) => {
            let shown = path.display().to_string();
            let kc = Kubeconfig::read_from(path).map_err(|e| ClusterError::Kubeconfig {
                path: shown.clone(),
                detail: e.to_string(),
            })?;
            Config::from_custom_kubeconfig(kc, &kc_opts)
                .await
                .map_err(|e| ClusterError::Kubeconfig {
                    path: shown,
                    detail: e.to_string(),
                })
        }
        None if opts.context.is_some() => {
            Config::from_kubeconfig(&kc_opts)
                .await
                .map_err(|e| ClusterError::NoConfig {
                    detail: e.to_string(),
                })
        }
        None => Config::infer().await.map_err(|e| ClusterError::NoConfig {
            detail: e.to_string(),
        }),
    }
}

/// Connect as kubectl would.
pub async fn connect(opts: &ConnectOptions) -> Result<Connection, ClusterError> {
    let config = config(opts).await?;
    let namespace = config.default_namespace.clone();
    let client =
        crate::client::client(config.clone()).map_err(|e| ClusterError::Client(e.to_string()))?;
    Ok(Connection {
        client,
        namespace,
        config,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn missing_kubeconfig_names_the_file() {
        let opts = ConnectOptions {
            kubeconfig: Some(PathBuf::from("/nonexistent/ferroflux/kubeconfig")),
            context: None,
        };
        let err = connect(&opts).await.expect_err("no file");
        assert!(
            err.to_string()
                .contains("/nonexistent/ferroflux/kubeconfig"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn unknown_context_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config");
        std::fs::write(
            &path,
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:1\ncontexts:\n- name: a\n  context:\n    cluster: c\n    namespace: flux-system\ncurrent-context: a\nusers: []\n",
        )
        .expect("write");
        let ok = connect(&ConnectOptions {
            kubeconfig: Some(path.clone()),
            context: None,
        })
        .await
        .expect("context a");
        assert_eq!(ok.namespace, "flux-system");
        let err = connect(&ConnectOptions {
            kubeconfig: Some(path),
            context: Some("nope".into()),
        })
        .await
        .expect_err("unknown context");
        assert!(err.to_string().contains("nope"), "{err}");
    }
}
