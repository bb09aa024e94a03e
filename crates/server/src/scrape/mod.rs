//! Scraping Prometheus `/metrics` endpoints: the text format ([`text`]) and
//! what Vigie reads from it — a host's resources from node_exporter ([`node`])
//! and request-duration histograms per route ([`histogram`]).

pub mod histogram;
pub mod node;
pub mod store;
pub mod text;

/// Most bytes of one scrape's body. A node_exporter answers some 100 KiB and
/// a large application a few MiB; past this cap the scrape fails ("body
/// larger than …") and nothing of it is read, since an exposition cut short
/// would be taken for a complete one (missing series read as gone).
pub const SCRAPE_MAX_BYTES: usize = 16 * 1024 * 1024;
