//! End-to-end tests for mailrig live in `it/` (one test binary, one module per area). This
//! library is empty; it exists so the crate is a workspace member with a place to grow
//! shared test helpers.
