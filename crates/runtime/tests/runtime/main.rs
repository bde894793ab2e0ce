//! Integration tests of the runtime: the webhook server over real HTTP and
//! one `automate` pass against a fake registry and a file:// repository;
//! the Kustomization reconcile against the testkit's real kube-apiserver.

mod automate;
mod kustomize;
mod notify;
mod sources;
mod webhook;
