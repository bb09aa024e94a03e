//! Database sources (PostgreSQL servers) and what is read from them: the
//! statements of `pg_stat_statements`, their slow ones over a range, and
//! advice drawn from their plans; the tables' scans, the indexes' use and
//! the buffer cache over a range, and advice drawn from them.

use serde::{Deserialize, Serialize};

use crate::Health;

/// What an admin declares about a PostgreSQL database to watch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DatabaseSourceSpec {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub name: String,
    /// `postgres://host[:port]/database` (port 5432 when absent), without
    /// credentials. `?sslmode=require` (or `verify-ca`, `verify-full`) for
    /// TLS, where Vigie always verifies the certificate's chain and host
    /// name; `sslmode=disable` or none for a plain connection.
    pub url: String,
    /// The role Vigie connects as (`pg_read_all_stats` is enough for the
    /// statistics; index advice also needs to read the tables' plans).
    pub username: String,
    /// Write-only: stored, never sent back (a [`DatabaseSource`] says
    /// `has_password`). On a replace, absent keeps the stored password and
    /// `""` removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(write_only))]
    pub password: Option<String>,
    /// With TLS: PEM certificates of the authority that signed the server's
    /// certificate (a private CA), trusted instead of the public roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 65536))]
    pub tls_ca: Option<String>,
    /// Milliseconds between two reads of the statistics; at least 1000.
    #[serde(default = "default_interval_ms")]
    #[cfg_attr(feature = "openapi", schema(default = default_interval_ms, minimum = 1000, maximum = 86_400_000))]
    pub interval_ms: u64,
    /// Milliseconds a read may take; at most `interval_ms`.
    #[serde(default = "default_timeout_ms")]
    #[cfg_attr(feature = "openapi", schema(default = default_timeout_ms, minimum = 50))]
    pub timeout_ms: u64,
    #[serde(default = "default_true")]
    #[cfg_attr(feature = "openapi", schema(default = default_true))]
    pub enabled: bool,
}

fn default_interval_ms() -> u64 {
    30_000
}

fn default_timeout_ms() -> u64 {
    5_000
}

fn default_true() -> bool {
    true
}

/// A database source as stored (without its password), with its live state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatabaseSource {
    pub id: i64,
    pub name: String,
    pub url: String,
    pub username: String,
    pub has_password: bool,
    /// The private CA trusted for TLS, as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_ca: Option<String>,
    pub interval_ms: u64,
    pub timeout_ms: u64,
    pub enabled: bool,
    pub health: Health,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub last_sample_ms: Option<i64>,
    /// Why the last read failed (unreachable, refused password,
    /// pg_stat_statements missing — with how to enable it…).
    #[cfg_attr(feature = "openapi", schema(required))]
    pub last_error: Option<String>,
    /// `server_version` of the database.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub version: Option<String>,
}

/// Body of `GET database-sources/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatabaseSourceList {
    pub sources: Vec<DatabaseSource>,
}

/// What a statement does, from its first keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum QueryType {
    Select,
    Insert,
    Update,
    Delete,
    Other,
}

impl QueryType {
    pub const ALL: [QueryType; 5] = [
        QueryType::Select,
        QueryType::Insert,
        QueryType::Update,
        QueryType::Delete,
        QueryType::Other,
    ];

    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            QueryType::Select => "select",
            QueryType::Insert => "insert",
            QueryType::Update => "update",
            QueryType::Delete => "delete",
            QueryType::Other => "other",
        }
    }

    /// The type of a statement's text: its first keyword, or, after a
    /// `WITH`, the first of `INSERT`, `UPDATE`, `DELETE` it holds (else a
    /// `SELECT`).
    pub fn of(text: &str) -> QueryType {
        let words: Vec<String> = text
            .split(|c: char| !c.is_ascii_alphabetic())
            .filter(|w| !w.is_empty())
            .map(str::to_ascii_lowercase)
            .collect();
        let kind = |w: &str| match w {
            "select" | "values" | "table" => Some(QueryType::Select),
            "insert" => Some(QueryType::Insert),
            "update" => Some(QueryType::Update),
            "delete" => Some(QueryType::Delete),
            _ => None,
        };
        match words.first().map(String::as_str) {
            Some("with") => words
                .iter()
                .find_map(|w| kind(w).filter(|k| *k != QueryType::Select))
                .unwrap_or(if words.iter().any(|w| w == "select") {
                    QueryType::Select
                } else {
                    QueryType::Other
                }),
            Some(first) => kind(first).unwrap_or(QueryType::Other),
            None => QueryType::Other,
        }
    }
}

/// One piece of advice on a statement, with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Optimization {
    pub title: String,
    /// The figures and the plan that call for it.
    pub evidence: String,
    /// The statement that carries it out, when there is one.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub sql: Option<String>,
}

/// A statement over a range, from the increases of its statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlowQuery {
    pub source_id: i64,
    pub source_name: String,
    /// pg_stat_statements' `queryid`, as text (it does not fit a JSON number).
    pub query_hash: String,
    pub query_type: QueryType,
    /// The normalised text (constants replaced by `$1`, `$2`…).
    pub query_text: String,
    pub execution_count: u64,
    /// Mean execution time in the range, ms.
    pub avg_execution_time: f64,
    /// The longest execution since the statistics were last reset, ms.
    pub max_execution_time: f64,
    /// Execution time spent in the range, ms.
    pub total_time: f64,
    /// This statement's part of all statements' execution time, percent.
    pub time_share: f64,
    pub rows_per_call: f64,
    /// Shared blocks found in the buffer cache over those read, percent.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub cache_hit_ratio: Option<f64>,
    pub optimizations: Vec<Optimization>,
}

/// Body of `GET slow-queries/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlowQueryList {
    pub from_ms: i64,
    pub to_ms: i64,
    /// Statements whose mean is at least this are listed, ms.
    pub threshold_ms: f64,
    /// Slowest share of time first.
    pub queries: Vec<SlowQuery>,
}

/// One bucket of a statement's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueryPoint {
    pub ts_ms: i64,
    pub calls: u64,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub avg_execution_time: Option<f64>,
}

/// Body of `GET slow-queries/{hash}/`: one statement, its plan and history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlowQueryDetail {
    pub query: SlowQuery,
    /// The plan's nodes, one per line, indented (`EXPLAIN`, never run);
    /// null for a statement that is not a `SELECT`.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub plan: Option<Vec<String>>,
    /// Why there is no plan, when there is none.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub plan_error: Option<String>,
    pub history: Vec<QueryPoint>,
}

/// A table over a range, from the increases of `pg_stat_user_tables`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TableScans {
    pub schema: String,
    pub table: String,
    /// Sequential scans in the range.
    pub seq_scans: u64,
    /// Rows those scans read.
    pub seq_rows_read: u64,
    pub rows_per_scan: f64,
    /// Index scans in the range.
    pub index_scans: u64,
    /// `n_live_tup` at the last read that saw the table scanned.
    pub live_rows: u64,
}

/// An index no scan used over a range watched long enough; never one
/// that enforces a unique, primary-key or exclusion constraint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnusedIndex {
    pub schema: String,
    pub table: String,
    pub index: String,
    /// `pg_relation_size` of the index at the last read.
    pub size_bytes: u64,
}

/// The buffer cache over a range: the increases of `pg_stat_database`'s
/// `blks_hit` (found in shared buffers) and `blks_read` (asked of the
/// operating system).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BufferCache {
    pub blocks_hit: u64,
    pub blocks_read: u64,
    /// Hits over both, percent; null without any block.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub hit_ratio: Option<f64>,
}

/// What a piece of database advice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DatabaseAdviceKind {
    /// A large table read by sequential scans more than by index scans.
    SequentialScans,
    /// An index no scan used.
    UnusedIndex,
    /// A buffer cache hit ratio under 99 %.
    LowBufferHitRatio,
}

/// One piece of advice on a database, with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatabaseAdvice {
    pub kind: DatabaseAdviceKind,
    /// The table or index (`schema.name`), or the database.
    pub subject: String,
    pub title: String,
    /// The figures that call for it, and what to do.
    pub evidence: String,
    /// The statement that carries it out, when there is one.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub sql: Option<String>,
}

/// One database source over a range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatabaseInsights {
    pub source_id: i64,
    pub source_name: String,
    /// Reads in the range compared with the read before.
    pub reads: u64,
    /// The part of the range watched without a break (no restart of the
    /// reading, whose first read is only a baseline), Unix ms; null
    /// without a compared read.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub watched_from_ms: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub watched_to_ms: Option<i64>,
    pub buffer_cache: BufferCache,
    /// Tables of 10,000 live rows or more read by 10 sequential scans or
    /// more, and by more sequential scans than index scans; most rows read first.
    pub sequential_scans: Vec<TableScans>,
    /// Largest first.
    pub unused_indexes: Vec<UnusedIndex>,
    pub advice: Vec<DatabaseAdvice>,
    /// What the range could not tell, and why.
    pub notes: Vec<String>,
}

/// Body of `GET database-insights/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatabaseInsightList {
    pub from_ms: i64,
    pub to_ms: i64,
    /// An index is called unused only once watched this long without a
    /// scan, ms.
    pub unused_index_watch_ms: u64,
    pub databases: Vec<DatabaseInsights>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_type_names_itself_as_on_the_wire() {
        for t in QueryType::ALL {
            let json = serde_json::to_string(&t).expect("serialise");
            assert_eq!(json, format!("\"{}\"", t.as_str()));
        }
    }

    #[test]
    fn a_statement_is_typed_by_its_first_keyword() {
        let cases = [
            ("SELECT * FROM orders WHERE id = $1", QueryType::Select),
            ("  select 1", QueryType::Select),
            ("INSERT INTO t VALUES ($1)", QueryType::Insert),
            ("update t set a = $1", QueryType::Update),
            ("DELETE FROM t", QueryType::Delete),
            (
                "WITH x AS (SELECT 1) DELETE FROM t USING x",
                QueryType::Delete,
            ),
            ("WITH x AS (SELECT 1) SELECT * FROM x", QueryType::Select),
            ("VACUUM t", QueryType::Other),
            ("<insufficient privilege>", QueryType::Other),
            ("", QueryType::Other),
        ];
        for (text, expected) in cases {
            assert_eq!(QueryType::of(text), expected, "{text}");
        }
    }
}
