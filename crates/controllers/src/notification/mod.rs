//! `notification.toolkit.fluxcd.io`: one module per kind. Only the Receiver
//! lives here so far: its webhook path, its status and the per-type checks
//! of an incoming request. Serving HTTP is the runtime's job.

pub mod receiver;
