//! Tier 1 adapter: ferroflux in Kubernetes.
//!
//! Today: the CustomResourceDefinitions of every kind ferroflux serves,
//! generated from the `ferroflux-api` types with Flux's names, versions,
//! categories and printer columns ([`crd`]), and the install manifests that
//! `ferroflux install --export` prints ([`install`]), and the kube-rs client
//! side ([`cluster`]): connecting as kubectl does. For the Kustomization
//! controller: kstatus health ([`health`], pure), Flux's inventory ids,
//! order and prune rules ([`inventory`], pure), and server-side apply,
//! diff, prune and wait as kustomize-controller does them ([`apply`]).
//!
//! For the HelmRelease kind: Helm's release storage and its install,
//! upgrade, rollback, uninstall and test actions ([`helm`]), over the
//! pure chart renderer of `ferroflux-helm` (the one engine this adapter
//! uses).
//!
//! Must not depend on the engines (policy, setters, template), on other
//! adapters (git, registry, store) or on the controllers: data flows from
//! here up, never sideways.

pub mod apply;
pub mod client;
pub mod cluster;
pub mod crd;
pub mod health;
pub mod helm;
pub mod install;
pub mod inventory;
pub mod kinds;

pub use crd::crds;
pub use install::{InstallOptions, manifests, render_yaml};
