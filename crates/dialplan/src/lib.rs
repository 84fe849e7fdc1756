//! switchboard dialplan crate.
