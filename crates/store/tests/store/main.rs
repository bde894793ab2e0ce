//! Integration tests of ferroflux-store: a writer killed with SIGKILL in the
//! middle of its write loop leaves a database where every entry is a
//! complete earlier write.

mod crash;
