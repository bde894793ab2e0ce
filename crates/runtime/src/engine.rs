//! The engine: what runs when, and what follows each reconcile, for every
//! kind alike. It names no kind (a test checks it): what differs between
//! kinds comes from their own modules, what differs between homes from
//! the home.
//!
//! Today the engine is [`finish`] (the frame every reconcile ends with);
//! the loop itself is still [`Runner`](crate::automate::Runner)'s
//! `pass`, `watch` and `control`, and moves here with the `Kind` registry.

pub mod finish;

#[cfg(test)]
mod tests;
