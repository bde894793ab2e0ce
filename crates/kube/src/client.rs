//! The kube-rs client over HTTP/2 where the apiserver offers it (as
//! client-go talks to it): every request and watch of one client shares
//! one TLS connection. kube-rs's own stack speaks HTTP/1.1 only, so each
//! request in flight holds a connection of its own, with its TLS state and
//! buffers, which stays in the pool afterwards: a burst of a few hundred
//! concurrent requests (health checks, applies, watches) left as many
//! connections open, a handshake each for the apiserver and memory for
//! both sides.
//!
//! Built from kube-rs's own layers (`ConfigExt`): the base URI, the
//! credentials (tokens, client certificates, refreshable tokens), the
//! impersonation headers, kube-rs's retry policy and its request spans.
//! What that stack does beyond them is left to kube-rs: a proxy, an exec
//! plugin's certificates (which expire), or plain `http://`, get
//! `Client::try_from` as they are.

use std::time::Duration;

use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use kube::client::{Body, ClientBuilder, ConfigExt};
use kube::{Client, Config};
use tower::{BoxError, ServiceBuilder};
use tower_http::trace::TraceLayer;

/// Flow-control windows (see [`client`]).
const STREAM_WINDOW: u32 = 512 << 10;
const CONNECTION_WINDOW: u32 = 1 << 30;

/// A PING this often keeps the shared connection known alive, and read
/// often enough for a client's read timeout not to end it while idle.
const KEEP_ALIVE: Duration = Duration::from_secs(10);

/// A client for `config`: HTTP/2 when the apiserver negotiates it, else
/// HTTP/1.1 (see the module's text for what keeps kube-rs's own stack).
pub fn client(config: Config) -> Result<Client, kube::Error> {
    if !multiplexed(&config) {
        return Client::try_from(config);
    }
    let default_ns = config.default_namespace.clone();
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    let mut https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config.rustls_client_config()?)
        .https_or_http();
    if let Some(name) = &config.tls_server_name {
        let name = rustls::pki_types::ServerName::try_from(name.clone()).map_err(|e| {
            kube::Error::RustlsTls(kube::client::RustlsTlsError::InvalidServerName(e))
        })?;
        https = https.with_server_name_resolver(hyper_rustls::FixedServerNameResolver::new(name));
    }
    let https = https.enable_all_versions().wrap_connector(tcp);
    let mut connector = hyper_timeout::TimeoutConnector::new(https);
    connector.set_connect_timeout(config.connect_timeout);
    connector.set_read_timeout(config.read_timeout);
    connector.set_write_timeout(config.write_timeout);
    connector.set_reset_reader_on_write(config.reset_reader_on_write);
    let transport: hyper_util::client::legacy::Client<_, Body> =
        hyper_util::client::legacy::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .http2_keep_alive_interval(KEEP_ALIVE)
            .http2_keep_alive_while_idle(true)
            // Flow control is shared: with small windows (hyper's
            // adaptive one starts at 64 KiB) the events of a watch its
            // consumer is not reading fill the connection's window and
            // every other request on it stalls, the consumer's own
            // included. So the connection's window is client-go's 1 GiB,
            // far more than its streams can hold together, and a stream
            // may hold 512 KiB unread (client-go: 4 MiB), about what a
            // socket buffered for it over HTTP/1.1: at 4 MiB the unread
            // watch events of the 1,000-Kustomization bench added 18 MiB
            // to the peak.
            .http2_initial_stream_window_size(STREAM_WINDOW)
            .http2_initial_connection_window_size(CONNECTION_WINDOW)
            .build(connector);
    let retry = config
        .default_retry
        .then(|| tower::retry::RetryLayer::new(kube::client::retry::RetryPolicy::server_retry()));
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(retry)
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .layer(
            // kube-rs's request spans, so that `kube_client=debug` logs
            // the same lines whichever stack sent the request.
            TraceLayer::new_for_http()
                .make_span_with(|req: &http::Request<Body>| {
                    tracing::debug_span!(
                        target: "kube_client::client::builder",
                        "HTTP",
                        http.method = %req.method(),
                        http.url = %req.uri(),
                        otel.name = req.extensions().get::<&'static str>().unwrap_or(&"HTTP"),
                        otel.kind = "client",
                    )
                })
                .on_request(|_: &http::Request<Body>, _: &tracing::Span| {
                    tracing::debug!(target: "kube_client::client::builder", "requesting");
                }),
        )
        .map_err(BoxError::from)
        .service(transport);
    Ok(ClientBuilder::new(service, default_ns).build())
}

/// Whether `config` gets the shared HTTP/2 connection: TLS, no proxy, no
/// exec plugin.
fn multiplexed(config: &Config) -> bool {
    config.cluster_url.scheme_str() == Some("https")
        && config.proxy_url.is_none()
        && config.auth_info.exec.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_tls_configs_are_multiplexed() {
        let mut c = Config::new("https://127.0.0.1:6443".parse().unwrap());
        assert!(multiplexed(&c));
        c.proxy_url = Some("http://proxy:3128".parse().unwrap());
        assert!(!multiplexed(&c));
        let mut c = Config::new("https://127.0.0.1:6443".parse().unwrap());
        c.auth_info.exec =
            Some(serde_json::from_value(serde_json::json!({"command": "aws"})).unwrap());
        assert!(!multiplexed(&c));
        assert!(!multiplexed(&Config::new(
            "http://127.0.0.1:8080".parse().unwrap()
        )));
    }
}
