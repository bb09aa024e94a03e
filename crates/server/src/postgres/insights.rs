//! What a database source's tables, indexes and buffer cache say over a
//! range, from the increases stored at each read (`pg_stat_user_tables`,
//! `pg_stat_user_indexes`, `pg_stat_database`): the large tables read by
//! sequential scans more than by index scans, the indexes no scan used over
//! a range watched long enough, and the buffer cache hit ratio; each with
//! its advice and figures. Answered by `database-insights/`, read by the
//! recommendations.

use axum::Json;
use axum::extract::State;
use vigie_api::{
    BufferCache, DatabaseAdvice, DatabaseAdviceKind, DatabaseInsightList, DatabaseInsights,
    DatabaseInsightsQuery, TableScans, UnusedIndex,
};

use super::plan::ident;
use super::store::{ActivityIn, StoredSource, TableIn};
use crate::error::{ApiError, ApiQuery};
use crate::openapi::Op;
use crate::reports::render::{duration, utc};
use crate::store::{Store, StoreError};

/// Sequential scans a table needs in the range before they count.
pub const MIN_SEQ_SCANS: u64 = 10;
/// PgHero's threshold: a buffer cache hit ratio under this, percent.
pub const MIN_HIT_RATIO_PCT: f64 = 99.0;
/// Blocks asked for in the range before the hit ratio counts.
pub const MIN_BLOCKS: u64 = 1000;

/// A table of [`super::LARGE_TABLE_ROWS`] live rows or more, read by
/// [`MIN_SEQ_SCANS`] sequential scans or more, and by more of them than
/// index scans.
pub fn scans_call_for_an_index(t: &TableScans) -> bool {
    t.live_rows as f64 >= super::LARGE_TABLE_ROWS
        && t.seq_scans >= MIN_SEQ_SCANS
        && t.seq_scans > t.index_scans
}

/// The hit ratio when it is under [`MIN_HIT_RATIO_PCT`] over at least
/// [`MIN_BLOCKS`] blocks.
pub fn low_hit_ratio(b: &BufferCache) -> Option<f64> {
    if b.blocks_hit + b.blocks_read < MIN_BLOCKS {
        return None;
    }
    b.hit_ratio.filter(|r| *r < MIN_HIT_RATIO_PCT)
}

fn count(v: i64) -> u64 {
    v.max(0) as u64
}

fn table_scans(t: TableIn) -> TableScans {
    let [seq, rows, idx] = t.counters;
    TableScans {
        schema: t.schema,
        table: t.table,
        seq_scans: count(seq),
        seq_rows_read: count(rows),
        rows_per_scan: if seq > 0 {
            rows as f64 / seq as f64
        } else {
            0.0
        },
        index_scans: count(idx),
        live_rows: count(t.live_rows),
    }
}

/// Bytes as KiB, MiB or GiB, with the exact count.
fn size(bytes: u64) -> String {
    let (value, unit) = match bytes {
        b if b >= 1 << 30 => (b as f64 / (1u64 << 30) as f64, "GiB"),
        b if b >= 1 << 20 => (b as f64 / (1u64 << 20) as f64, "MiB"),
        b => (b as f64 / 1024.0, "KiB"),
    };
    format!("{value:.1} {unit} ({bytes} bytes)")
}

/// Where the reads of `a` watched the range without a break: from the
/// later of `from_ms` and the baseline the stretch starts at, to the last
/// compared read.
fn watched(a: &ActivityIn, from_ms: i64) -> Option<(i64, i64)> {
    let last = a.last_ms?;
    Some((a.baseline_ms.map_or(from_ms, |b| b.max(from_ms)), last))
}

/// The insights of `source` over `[from_ms, to_ms]`; indexes are judged
/// only when the range is watched without a break for `watch_ms` from
/// where it starts to within two reads of its end.
pub async fn of_source(
    store: &Store,
    source: &StoredSource,
    from_ms: i64,
    to_ms: i64,
    watch_ms: i64,
) -> Result<DatabaseInsights, StoreError> {
    let id = source.id;
    let (activity, tables) = store
        .call(move |s| {
            Ok((
                s.database_activity_in(id, from_ms, to_ms)?,
                s.tables_in(id, from_ms, to_ms)?,
            ))
        })
        .await?;
    let span = watched(&activity, from_ms);
    let mut notes = Vec::new();
    let interval = source.spec.interval_ms as i64;
    let unused = match span {
        None => {
            notes.push("No read of this database in the range was compared with a read before it: nothing to tell yet.".to_owned());
            Vec::new()
        }
        Some((since, last)) if last - since >= watch_ms && to_ms - last <= 2 * interval => {
            store
                .call(move |s| s.unscanned_indexes(id, from_ms, since, last))
                .await?
        }
        Some((since, last)) if last - since >= watch_ms => {
            notes.push(format!(
                "No index is called unused: the last read of this database was {} before the end of the range, and an index is judged only on a range read to its end.",
                duration(to_ms - last)
            ));
            Vec::new()
        }
        Some((since, last)) => {
            notes.push(format!(
                "No index is called unused: this range was watched without a break for {}, and an index is called unused only after {} without a scan, read to the end of the range.",
                duration(last - since),
                duration(watch_ms)
            ));
            Vec::new()
        }
    };
    let [hit, read] = activity.blocks.map(count);
    let buffer_cache = BufferCache {
        blocks_hit: hit,
        blocks_read: read,
        hit_ratio: (hit + read > 0).then(|| hit as f64 * 100.0 / (hit + read) as f64),
    };
    let mut sequential_scans: Vec<TableScans> = tables
        .into_iter()
        .map(table_scans)
        .filter(scans_call_for_an_index)
        .collect();
    sequential_scans.sort_by(|a, b| {
        b.seq_rows_read
            .cmp(&a.seq_rows_read)
            .then_with(|| (&a.schema, &a.table).cmp(&(&b.schema, &b.table)))
    });
    let unused_indexes: Vec<UnusedIndex> = unused
        .into_iter()
        .map(|(schema, table, index, bytes)| UnusedIndex {
            schema,
            table,
            index,
            size_bytes: count(bytes),
        })
        .collect();

    let mut advice = Vec::new();
    for t in &sequential_scans {
        let table = format!("{}.{}", ident(&t.schema), ident(&t.table));
        advice.push(DatabaseAdvice {
            kind: DatabaseAdviceKind::SequentialScans,
            subject: table.clone(),
            title: format!("Sequential scans of {table}"),
            evidence: format!(
                "{} sequential scans read {} rows of {table} in this range ({:.0} rows per scan; it has {} live rows), against {} index scans: the statements that filter it read it whole. The Slow-queries page shows their plans and the index they call for.",
                t.seq_scans, t.seq_rows_read, t.rows_per_scan, t.live_rows, t.index_scans
            ),
            sql: None,
        });
    }
    if let Some((since, last)) = span {
        for i in &unused_indexes {
            let index = format!("{}.{}", ident(&i.schema), ident(&i.index));
            let table = format!("{}.{}", ident(&i.schema), ident(&i.table));
            advice.push(DatabaseAdvice {
                kind: DatabaseAdviceKind::UnusedIndex,
                subject: index.clone(),
                title: format!("Unused index {index}"),
                evidence: format!(
                    "No scan used {index} (on {table}, {}) from {} to {} UTC, watched without a break for {}: it costs every write to {table} and its room on disk and in the cache, and answers no query. It enforces no unique, primary-key or exclusion constraint.",
                    size(i.size_bytes),
                    utc(since),
                    utc(last),
                    duration(last - since)
                ),
                sql: Some(format!("DROP INDEX CONCURRENTLY {index};")),
            });
        }
    }
    if let Some(ratio) = low_hit_ratio(&buffer_cache) {
        advice.push(DatabaseAdvice {
            kind: DatabaseAdviceKind::LowBufferHitRatio,
            subject: source.spec.name.clone(),
            title: format!(
                "Buffer cache hit ratio of {} at {ratio:.1} %",
                source.spec.name
            ),
            evidence: format!(
                "{hit} of {} blocks asked for in this range were found in shared buffers and {read} were read from the operating system ({ratio:.2} %, under {MIN_HIT_RATIO_PCT} %). Raise shared_buffers (a quarter of the server's RAM is the usual start; it takes a restart), or give the server more RAM when its working set outgrows it.",
                hit + read
            ),
            sql: None,
        });
    }
    Ok(DatabaseInsights {
        source_id: id,
        source_name: source.spec.name.clone(),
        reads: activity.reads,
        watched_from_ms: span.map(|s| s.0),
        watched_to_ms: span.map(|s| s.1),
        buffer_cache,
        sequential_scans,
        unused_indexes,
        advice,
        notes,
    })
}

/// Every database source (or `only`) over `[from_ms, to_ms]`.
pub async fn of_sources(
    store: &Store,
    only: Option<i64>,
    from_ms: i64,
    to_ms: i64,
    watch_ms: i64,
) -> Result<Vec<DatabaseInsights>, StoreError> {
    let sources = store.call(|s| s.database_sources()).await?;
    let mut out = Vec::new();
    for source in sources.iter().filter(|s| only.is_none_or(|id| id == s.id)) {
        out.push(of_source(store, source, from_ms, to_ms, watch_ms).await?);
    }
    Ok(out)
}

pub fn insights_op() -> Op {
    Op::new(
        "databaseInsights",
        "The tables, indexes and buffer cache of the PostgreSQL database sources over a range, from the increases of their statistics: large tables read by sequential scans more than by index scans, indexes no scan used over a range watched long enough, the buffer cache hit ratio; each with its advice and figures",
    )
    .query::<DatabaseInsightsQuery>()
    .json::<DatabaseInsightList>(200, "every database source, or the one asked for")
    .error(400, "bad input: the body names the field")
}

/// `GET database-insights/?range=1h&source=1`
pub async fn database_insights(
    State(state): State<super::Ctx>,
    ApiQuery(q): ApiQuery<DatabaseInsightsQuery>,
) -> Result<Json<DatabaseInsightList>, ApiError> {
    let range = crate::metrics::parse_range(
        &q.time_range(),
        crate::now_ms(),
        state.config.retention().as_millis() as i64,
    )?;
    if let Some(id) = q.source
        && state
            .store
            .call(move |s| s.database_source(id))
            .await?
            .is_none()
    {
        return Err(ApiError::bad_request(
            "source",
            format!("no database source {id}"),
        ));
    }
    let watch = state.config.unused_index_watch();
    Ok(Json(DatabaseInsightList {
        from_ms: range.from_ms,
        to_ms: range.to_ms,
        unused_index_watch_ms: watch.as_millis() as u64,
        databases: of_sources(
            &state.store,
            q.source,
            range.from_ms,
            range.to_ms,
            watch.as_millis() as i64,
        )
        .await?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(live_rows: u64, seq_scans: u64, index_scans: u64) -> TableScans {
        TableScans {
            schema: "public".into(),
            table: "events".into(),
            seq_scans,
            seq_rows_read: seq_scans * live_rows,
            rows_per_scan: live_rows as f64,
            index_scans,
            live_rows,
        }
    }

    #[test]
    fn only_large_tables_mostly_scanned_sequentially_call_for_an_index() {
        assert!(scans_call_for_an_index(&table(10_000, 10, 9)));
        // Too small, too few scans, or index scans as many.
        assert!(!scans_call_for_an_index(&table(9_999, 50, 0)));
        assert!(!scans_call_for_an_index(&table(50_000, 9, 0)));
        assert!(!scans_call_for_an_index(&table(50_000, 20, 20)));
    }

    #[test]
    fn the_hit_ratio_counts_under_99_percent_with_enough_blocks() {
        let cache = |hit: u64, read: u64| BufferCache {
            blocks_hit: hit,
            blocks_read: read,
            hit_ratio: Some(hit as f64 * 100.0 / (hit + read) as f64),
        };
        assert_eq!(low_hit_ratio(&cache(980, 20)), Some(98.0));
        assert_eq!(low_hit_ratio(&cache(990, 10)), None);
        assert_eq!(low_hit_ratio(&cache(90, 10)), None, "too few blocks");
    }

    #[test]
    fn the_watched_stretch_starts_at_the_range_or_the_later_baseline() {
        let a = |baseline_ms, last_ms| ActivityIn {
            reads: 3,
            blocks: [0, 0],
            baseline_ms,
            last_ms,
        };
        assert_eq!(watched(&a(Some(100), Some(900)), 500), Some((500, 900)));
        assert_eq!(watched(&a(Some(700), Some(900)), 500), Some((700, 900)));
        assert_eq!(watched(&a(Some(100), None), 500), None);
        assert_eq!(size(2048), "2.0 KiB (2048 bytes)");
        assert_eq!(size(3 << 20), "3.0 MiB (3145728 bytes)");
    }
}
