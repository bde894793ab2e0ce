//! Integration tests of the runtime: the webhook server over real HTTP and
//! one `automate` pass against a fake registry and a file:// repository;
//! the Kustomization reconcile against the testkit's real kube-apiserver;
//! a test-only kind served with one registration line.

mod automate;
mod kind;
mod kustomize;
mod notify;
mod sources;
mod webhook;
