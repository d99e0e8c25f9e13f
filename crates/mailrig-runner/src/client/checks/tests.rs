//! Tests of the transcript checks.
