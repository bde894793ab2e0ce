//! Integration tests of ferroflux-registry: the real `docker-registry`
//! (htpasswd + TLS) for the distribution API, the fake registry of
//! ferroflux-testkit for Link pagination, Bearer tokens and 429/5xx.

mod fake;
mod real;
