//! Integration tests of ferroflux-kube: the install manifests and seed 000's
//! objects against the fake apiserver, driven by kubectl 1.32 from Debian
//! trixie (`FERROFLUX_KUBECTL`, set by `.ci/setup.d/70-kube.sh`).

mod client;
mod kubectl;
