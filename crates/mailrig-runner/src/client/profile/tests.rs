//! Tests of the profile format.
