//! Scraping Prometheus `/metrics` endpoints: the text format ([`text`]) and
//! what Vigie reads from it — a host's resources from node_exporter ([`node`])
//! and request-duration histograms per route ([`histogram`]).

pub mod histogram;
pub mod node;
pub mod text;
