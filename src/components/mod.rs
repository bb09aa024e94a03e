//! Reusable view pieces.

pub mod alert_badge;
pub mod alert_dialog;
pub mod alert_markers;
pub mod change_error;
pub mod chart;
pub mod confirm;
pub mod connection;
pub mod form;
pub mod header;
pub mod kpi;
pub mod monitoring;
pub mod pager;
pub mod range_picker;
pub mod report_schedules;
pub mod report_scope;
pub mod scale_dialog;
pub mod scaling_editor;
pub mod severity;
pub mod sign_in;
pub mod target_picker;
