//! Whole-call and interop test helpers.
