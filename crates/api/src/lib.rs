//! switchboard HTTP API (in progress).
