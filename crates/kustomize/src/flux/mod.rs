//! What Flux adds around kustomize: `flux build kustomization`'s pipeline
//! for a `kustomize.toolkit.fluxcd.io/v1` Kustomization over a directory
//! (generating a kustomization.yaml where there is none, layering the
//! Kustomization's spec onto the top kustomization file, building,
//! `postBuild` substitution with Flux's envsubst dialect, owner labels,
//! `commonMetadata`) and its output format. Pure like the rest of the crate.

pub mod envsubst;
