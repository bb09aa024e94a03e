//! `pg_stat_statements`, and the tables', indexes' and database's
//! statistics, read as increases: each read is compared with the one
//! before, so a range's figures are about that range, not about the time
//! since the statistics were last reset.

use std::collections::HashMap;

/// A statement's counters, as read or as an increase.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Counters {
    pub calls: i64,
    pub total_ms: f64,
    /// The longest execution since the statistics were reset (not an increase).
    pub max_ms: f64,
    pub rows: i64,
    pub blks_hit: i64,
    pub blks_read: i64,
}

/// One read of the statistics.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    /// `pg_stat_statements_info.stats_reset`: changes when they are reset.
    pub reset: Option<String>,
    /// By `queryid`: the normalised text and the counters.
    pub statements: HashMap<i64, (String, Counters)>,
}

/// The increases from `before` to `now`, statements called in between only.
/// Without a `before` (the first read) there is nothing to compare: none.
/// After a reset, or for a statement whose calls went back or that was not
/// there before (evicted from the statistics, or new), its counters are
/// what happened since they started from zero.
pub fn increases(before: Option<&Snapshot>, now: &Snapshot) -> Vec<(i64, Counters)> {
    let Some(before) = before else {
        return Vec::new();
    };
    let reset = before.reset != now.reset;
    let mut out: Vec<(i64, Counters)> = now
        .statements
        .iter()
        .filter_map(|(id, (_, c))| {
            let from_zero = Some(*c);
            let delta = match before.statements.get(id) {
                _ if reset => from_zero,
                Some((_, b)) if c.calls >= b.calls => Some(Counters {
                    calls: c.calls - b.calls,
                    total_ms: (c.total_ms - b.total_ms).max(0.0),
                    max_ms: c.max_ms,
                    rows: (c.rows - b.rows).max(0),
                    blks_hit: (c.blks_hit - b.blks_hit).max(0),
                    blks_read: (c.blks_read - b.blks_read).max(0),
                }),
                _ => from_zero,
            };
            delta.filter(|d| d.calls > 0).map(|d| (*id, d))
        })
        .collect();
    out.sort_by_key(|(id, _)| *id);
    out
}

/// The baseline for the next read: `now`, plus the statements of `before`
/// it did not read (beyond the most time-consuming read, or not called
/// lately), unless the statistics were reset. A statement coming back is
/// then compared with its last counters, not counted whole.
pub fn carried(before: Option<Snapshot>, mut now: Snapshot) -> Snapshot {
    if let Some(before) = before
        && before.reset == now.reset
    {
        for (id, entry) in before.statements {
            now.statements.entry(id).or_insert(entry);
        }
    }
    now
}

/// A table's statistics as read (`pg_stat_user_tables`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableStat {
    pub schema: String,
    pub table: String,
    /// `seq_scan`, `seq_tup_read`, `idx_scan`: counters (or their increases).
    pub counters: [i64; 3],
    /// `n_live_tup`: a gauge.
    pub live_rows: i64,
}

/// An index's statistics as read (`pg_stat_user_indexes`, `pg_index`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IndexStat {
    pub schema: String,
    pub table: String,
    pub index: String,
    /// `idx_scan`: a counter.
    pub scans: i64,
    /// It enforces a unique, primary-key or exclusion constraint.
    pub constraint: bool,
    pub size_bytes: i64,
}

/// One read of a database's tables, indexes and buffer cache.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Activity {
    /// `pg_stat_database.stats_reset`: changes when they are reset.
    pub reset: Option<String>,
    /// `blks_hit`, `blks_read` of the database.
    pub blocks: [i64; 2],
    /// By `relid`.
    pub tables: HashMap<i64, TableStat>,
    /// By `indexrelid`.
    pub indexes: HashMap<i64, IndexStat>,
}

/// What grew from one [`Activity`] read to the next.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ActivityIncrease {
    pub blocks: [i64; 2],
    /// Tables scanned in between (`relid`, the table with its increases).
    pub tables: Vec<(i64, TableStat)>,
    /// Indexes scanned in between (`indexrelid`, scans).
    pub indexes: Vec<(i64, i64)>,
}

/// The increase of counters from `before` to `now`: from zero when one
/// went back (its counters were reset); nothing for an object not read
/// before (its first read is its baseline).
fn grown<const N: usize>(before: Option<&[i64; N]>, now: &[i64; N]) -> [i64; N] {
    match before {
        Some(b) if now.iter().zip(b).all(|(n, b)| n >= b) => std::array::from_fn(|i| now[i] - b[i]),
        Some(_) => *now,
        None => [0; N],
    }
}

/// The increases from `before` to `now`; `None` without a `before` (the
/// first read is a baseline), and `None` when `stats_reset` moved: a read
/// after a reset is a new baseline. PostgreSQL moves it for
/// `pg_stat_reset()` and also for one table's
/// `pg_stat_reset_single_table_counters()`, so it cannot say which
/// counters started again; taking every object's counters as increases
/// would count the others' lifetime totals as one read's activity.
pub fn activity_increase(before: Option<&Activity>, now: &Activity) -> Option<ActivityIncrease> {
    let before = before?;
    if before.reset != now.reset {
        return None;
    }
    let mut tables: Vec<(i64, TableStat)> = now
        .tables
        .iter()
        .filter_map(|(id, t)| {
            let counters = grown(before.tables.get(id).map(|b| &b.counters), &t.counters);
            (counters[0] > 0 || counters[2] > 0).then(|| {
                (
                    *id,
                    TableStat {
                        counters,
                        ..t.clone()
                    },
                )
            })
        })
        .collect();
    tables.sort_by_key(|(id, _)| *id);
    let mut indexes: Vec<(i64, i64)> = now
        .indexes
        .iter()
        .filter_map(|(id, i)| {
            let [scans] = grown(
                before.indexes.get(id).map(|b| [b.scans]).as_ref(),
                &[i.scans],
            );
            (scans > 0).then_some((*id, scans))
        })
        .collect();
    indexes.sort_unstable();
    Some(ActivityIncrease {
        blocks: grown(Some(&before.blocks), &now.blocks),
        tables,
        indexes,
    })
}

/// The baseline for the next read: `now`, plus the tables and indexes of
/// `before` it did not read, unless the statistics were reset (as
/// [`carried`] does for statements).
pub fn carried_activity(before: Option<Activity>, mut now: Activity) -> Activity {
    if let Some(before) = before
        && before.reset == now.reset
    {
        for (id, t) in before.tables {
            now.tables.entry(id).or_insert(t);
        }
        for (id, i) in before.indexes {
            now.indexes.entry(id).or_insert(i);
        }
    }
    now
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(calls: i64, total_ms: f64) -> Counters {
        Counters {
            calls,
            total_ms,
            max_ms: total_ms,
            rows: calls * 2,
            ..Counters::default()
        }
    }

    fn snap(reset: &str, s: &[(i64, Counters)]) -> Snapshot {
        Snapshot {
            reset: Some(reset.into()),
            statements: s
                .iter()
                .map(|(id, c)| (*id, (format!("q{id}"), *c)))
                .collect(),
        }
    }

    #[test]
    fn the_first_read_is_a_baseline_and_later_ones_give_increases() {
        let first = snap("r", &[(1, c(10, 100.0)), (2, c(5, 5.0))]);
        assert!(increases(None, &first).is_empty());
        let second = snap("r", &[(1, c(14, 180.0)), (2, c(5, 5.0)), (3, c(2, 4.0))]);
        let d = increases(Some(&first), &second);
        // 1 called 4 times (80 ms); 2 not called; 3 new: from zero.
        assert_eq!(d.len(), 2);
        assert_eq!(
            (d[0].0, d[0].1.calls, d[0].1.total_ms, d[0].1.rows),
            (1, 4, 80.0, 8)
        );
        assert_eq!((d[1].0, d[1].1.calls), (3, 2));
    }

    #[test]
    fn a_statement_out_of_one_read_is_compared_with_its_last_counters() {
        let first = snap("r", &[(1, c(10, 100.0)), (2, c(5, 5.0))]);
        // 2 not read this time (beyond the statements read).
        let second = snap("r", &[(1, c(11, 110.0))]);
        let base = carried(Some(first), second.clone());
        let third = snap("r", &[(1, c(11, 110.0)), (2, c(7, 7.0))]);
        let d = increases(Some(&base), &third);
        assert_eq!(
            d.iter().map(|(id, c)| (*id, c.calls)).collect::<Vec<_>>(),
            [(2, 2)]
        );
        // After a reset nothing is carried.
        let reset = carried(Some(base), snap("r2", &[]));
        assert!(reset.statements.is_empty());
    }

    #[test]
    fn a_reset_or_calls_going_back_count_from_zero() {
        let before = snap("r1", &[(1, c(100, 1000.0)), (2, c(50, 50.0))]);
        let reset = snap("r2", &[(1, c(3, 30.0)), (2, c(60, 60.0))]);
        let d = increases(Some(&before), &reset);
        assert_eq!(d.iter().map(|(_, c)| c.calls).collect::<Vec<_>>(), [3, 60]);
        let went_back = snap("r1", &[(1, c(7, 70.0))]);
        assert_eq!(increases(Some(&before), &went_back)[0].1.calls, 7);
    }

    fn activity(
        reset: &str,
        blocks: [i64; 2],
        tables: &[(i64, [i64; 3])],
        indexes: &[(i64, i64)],
    ) -> Activity {
        Activity {
            reset: Some(reset.into()),
            blocks,
            tables: tables
                .iter()
                .map(|(id, c)| {
                    let t = TableStat {
                        schema: "public".into(),
                        table: format!("t{id}"),
                        counters: *c,
                        live_rows: 20_000,
                    };
                    (*id, t)
                })
                .collect(),
            indexes: indexes
                .iter()
                .map(|(id, scans)| {
                    let i = IndexStat {
                        index: format!("i{id}"),
                        scans: *scans,
                        ..IndexStat::default()
                    };
                    (*id, i)
                })
                .collect(),
        }
    }

    #[test]
    fn activity_is_read_as_increases_a_new_object_being_its_own_baseline() {
        let first = activity("r", [100, 10], &[(1, [5, 500, 2])], &[(7, 3), (8, 0)]);
        assert_eq!(activity_increase(None, &first), None);
        let second = activity(
            "r",
            [160, 25],
            &[(1, [9, 900, 2]), (2, [4, 40, 0]), (3, [0, 0, 0])],
            &[(7, 3), (8, 2), (9, 5)],
        );
        let d = activity_increase(Some(&first), &second).expect("compared");
        assert_eq!(d.blocks, [60, 15]);
        // Table 1 scanned 4 times more; 2 first seen: its baseline; 3 idle.
        assert_eq!(
            d.tables
                .iter()
                .map(|(id, t)| (*id, t.counters))
                .collect::<Vec<_>>(),
            [(1, [4, 400, 0])]
        );
        assert_eq!(d.tables[0].1.live_rows, 20_000);
        // Index 8 used twice; 7 not; 9 first seen.
        assert_eq!(d.indexes, [(8, 2)]);
    }

    #[test]
    fn a_reset_is_a_baseline_counters_going_back_count_from_zero_and_carried_objects_are_compared()
    {
        let before = activity(
            "r",
            [100, 10],
            &[(1, [50, 5000, 0]), (2, [9, 90, 0])],
            &[(7, 3)],
        );
        // stats_reset moved (pg_stat_reset(), or one table's reset, which
        // moves it too): a new baseline, nothing counted, not even table 2
        // whose counters stayed.
        let reset = activity(
            "r2",
            [30, 3],
            &[(1, [2, 200, 1]), (2, [9, 95, 0])],
            &[(7, 1), (9, 4)],
        );
        assert_eq!(activity_increase(Some(&before), &reset), None);
        // One table's counters reset on their own (they went back).
        let back = activity(
            "r",
            [120, 12],
            &[(1, [3, 300, 0]), (2, [9, 90, 0])],
            &[(7, 3)],
        );
        let d = activity_increase(Some(&before), &back).expect("compared");
        assert_eq!(
            d.tables
                .iter()
                .map(|(id, t)| (*id, t.counters))
                .collect::<Vec<_>>(),
            [(1, [3, 300, 0])]
        );
        // Table 2 not read once, then read again: compared with its last counters.
        let missing = activity("r", [130, 12], &[(1, [50, 5000, 0])], &[(7, 3)]);
        let base = carried_activity(Some(before), missing);
        let again = activity(
            "r",
            [140, 12],
            &[(1, [50, 5000, 0]), (2, [11, 110, 0])],
            &[(7, 3)],
        );
        let d = activity_increase(Some(&base), &again).expect("compared");
        assert_eq!(
            d.tables
                .iter()
                .map(|(id, t)| (*id, t.counters))
                .collect::<Vec<_>>(),
            [(2, [2, 20, 0])]
        );
        assert!(
            carried_activity(Some(base), activity("r3", [0, 0], &[], &[]))
                .tables
                .is_empty()
        );
    }
}
