//! Helm's own template functions against the real helm
//! (`$FERROFLUX_HELM`, .ci/setup.d/56-helm.sh).

mod files_caps;
mod oracle;
mod render;
mod serialisers;
