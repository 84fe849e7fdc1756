//! switchboard sdp crate.
