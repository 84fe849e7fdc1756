//! switchboard store crate.
