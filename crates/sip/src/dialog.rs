//! RFC 3261 section 12 dialogs.
