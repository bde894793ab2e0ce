//! Test support (dev-dependency only): launchers for real servers on loopback
//! (docker-registry, git http-backend, sshd), fakes for what those servers
//! lack, builders, and golden-directory comparison (`FERROFLUX_BLESS=1`).
//! One module per server or fake.

pub mod apiserver;
pub mod chart_repo;
pub mod control_plane;
pub mod env;
pub mod fake_registry;
pub mod git_http;
pub mod gitrepo;
pub mod helm;
pub mod http;
pub mod process;
pub mod registry;
pub mod scripted;
pub mod sops;
pub mod sshd;
pub mod tls;
