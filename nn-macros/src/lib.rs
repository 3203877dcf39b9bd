//! Proc macro.
