//! Integration tests of ferroflux-kube.
