//! Tests of plan building.
