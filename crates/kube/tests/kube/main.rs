//! Integration tests of ferroflux-kube: the install manifests and seed 000's
//! objects on a real control plane (the testkit's, shared by the tests of
//! this binary), driven by kube-rs and by kubectl 1.32 from Debian trixie
//! (`FERROFLUX_KUBECTL`, set by `.ci/setup.d/70-kube.sh`).

mod apply;
mod client;
mod cluster;
mod helm;
mod kubectl;
