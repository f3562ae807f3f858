//! kubectl-guillotine's integration tests: one binary, a file per behaviour.
//! `support` runs the real executable; the rest use it or the library.

mod cli;
mod golden;
mod helm;
mod properties;
mod support;
