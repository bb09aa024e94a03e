//! One file per route.

pub mod alert_rules;
pub mod alerts;
pub mod cache;
pub mod endpoints;
pub mod not_found;
pub mod overview;
pub mod recommendations;
pub mod reports;
pub mod response_times;
pub mod scaling;
pub mod slow_queries;
pub mod targets;
