//! `pg_stat_statements` read as increases: each read is compared with the
//! one before, so a range's figures are about that range, not about the
//! time since the statistics were last reset.

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
}
