//! Call flow interpreter.
