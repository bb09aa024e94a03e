//! Reusable view pieces.

pub mod change_error;
pub mod chart;
pub mod connection;
pub mod header;
pub mod kpi;
pub mod monitoring;
pub mod range_picker;
pub mod target_picker;
