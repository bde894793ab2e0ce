//! Integration tests of the runtime: the webhook server over real HTTP and
//! one `automate` pass against a fake registry and a file:// repository.

mod automate;
mod sources;
mod webhook;
