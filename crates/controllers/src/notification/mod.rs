//! `notification.toolkit.fluxcd.io`: one module per kind. The Receiver:
//! its webhook path, its status and the per-type checks of an incoming
//! request (serving HTTP is the runtime's job). Provider and Alert: held
//! objects whose dispatch turns the engine's events into notifications
//! ([`alert::dispatch`], sent by `ferroflux-notify`).

pub mod alert;
pub mod event;
pub mod provider;
pub mod receiver;

#[cfg(test)]
mod tests;
