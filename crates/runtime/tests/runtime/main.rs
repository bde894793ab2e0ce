//! Integration tests of the runtime: the webhook server over real HTTP and
//! one `automate` pass against a fake registry and a file:// repository;
//! the Kustomization reconcile against the testkit's real kube-apiserver,
//! SOPS-encrypted Secrets among its manifests.

mod automate;
mod kustomize;
mod sops;
mod sources;
mod webhook;
