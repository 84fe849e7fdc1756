//! Benchmarks and the load harness.
