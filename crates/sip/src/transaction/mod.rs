//! RFC 3261 section 17 transactions, one state machine per file.
