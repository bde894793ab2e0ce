//! Integration tests of the runtime: the webhook server over real HTTP.

mod webhook;
