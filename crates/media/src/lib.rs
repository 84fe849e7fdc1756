//! switchboard media crate.
