//! Integration tests of the runtime: the webhook server over real HTTP and
//! one `automate` pass against a fake registry and a file:// repository;
//! HelmRepositories and HelmCharts against a chart repository on loopback;
//! the Kustomization reconcile against the testkit's real kube-apiserver,
//! SOPS-encrypted Secrets among its manifests; a test-only kind served with
//! one registration line.

mod automate;
mod helm;
mod helm_target;
mod kind;
mod kustomize;
mod notify;
mod oci;
mod sops;
mod sources;
mod webhook;
