//! Request-duration histograms read from a scraped exposition: every family
//! declared `# TYPE … histogram` whose name matches (by default any ending in
//! `_duration_seconds`), one series per family, route, method and status
//! label set; summaries and untyped metrics are never read. Between two
//! scrapes the increase of each cumulative bucket is what happened; a counter
//! that went down means the exporter restarted, and its current value is then
//! the increase, as Prometheus' `increase()` counts it. A series absent from
//! [`FORGET_AFTER`] scrapes in a row is forgotten: if it comes back, it
//! counts from zero.

use std::collections::HashMap;

use super::text::{MetricKind, Sample};

/// Scrapes in a row a series may be missing before it is forgotten.
pub const FORGET_AFTER: u32 = 10;

/// Which labels name the route, the method and the status, most usual first.
const ROUTE_LABELS: [&str; 4] = ["route", "handler", "path", "endpoint"];
const METHOD_LABELS: [&str; 1] = ["method"];
const STATUS_LABELS: [&str; 3] = ["status", "code", "status_code"];

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    pub route: String,
    pub method: String,
    pub status: String,
}

/// What one series did between two scrapes.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramDelta {
    pub key: SeriesKey,
    pub count: f64,
    pub sum_seconds: f64,
    /// `(le, cumulative increase)`, `le` ascending, the last one `+Inf`.
    pub buckets: Vec<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq)]
struct Cumulative {
    count: f64,
    sum: f64,
    buckets: Vec<(f64, f64)>,
}

/// The previous scrape's histograms of one target, by family and series,
/// with the number of scrapes since each was last seen.
#[derive(Debug, Default)]
pub struct HistogramState {
    prev: HashMap<(String, SeriesKey), (Cumulative, u32)>,
    /// A scrape was read before: a series seen for the first time since
    /// then started from zero (its first requests count).
    baseline: bool,
}

fn first_label<'a>(s: &'a Sample, names: &[&str]) -> &'a str {
    names.iter().find_map(|n| s.label(n)).unwrap_or("")
}

/// Whether `family` (a metric name without `_bucket`) is read.
pub fn matches(family: &str, patterns: &[String]) -> bool {
    patterns.iter().any(|p| match p.strip_prefix('*') {
        Some(suffix) => family.ends_with(suffix),
        None => family == p,
    })
}

impl HistogramState {
    /// The increases since the previous scrape (none on the first one).
    pub fn read(&mut self, samples: &[Sample], patterns: &[String]) -> Vec<HistogramDelta> {
        type Key = (String, SeriesKey);
        let mut now: HashMap<Key, Cumulative> = HashMap::new();
        let key_of = |s: &Sample| {
            (
                s.family.clone(),
                SeriesKey {
                    route: first_label(s, &ROUTE_LABELS).to_owned(),
                    method: first_label(s, &METHOD_LABELS).to_owned(),
                    status: first_label(s, &STATUS_LABELS).to_owned(),
                },
            )
        };
        fn entry(now: &mut HashMap<Key, Cumulative>, key: Key) -> &mut Cumulative {
            now.entry(key).or_insert(Cumulative {
                count: 0.0,
                sum: 0.0,
                buckets: Vec::new(),
            })
        }
        for s in samples {
            if s.kind != MetricKind::Histogram || !matches(&s.family, patterns) {
                continue;
            }
            match s.name.strip_prefix(s.family.as_str()) {
                Some("_bucket") => {
                    let Some(le) = s.label("le").and_then(|v| match v {
                        "+Inf" | "Inf" => Some(f64::INFINITY),
                        v => v.parse().ok(),
                    }) else {
                        continue;
                    };
                    entry(&mut now, key_of(s)).buckets.push((le, s.value));
                }
                Some("_count") => entry(&mut now, key_of(s)).count = s.value,
                Some("_sum") => entry(&mut now, key_of(s)).sum = s.value,
                _ => {}
            }
        }
        // Series not in this scrape: one more miss; forgotten past the limit.
        self.prev.retain(|key, (_, missed)| {
            if now.contains_key(key) {
                return true;
            }
            *missed += 1;
            *missed < FORGET_AFTER
        });
        let mut deltas = Vec::new();
        for (key, mut cur) in now {
            cur.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
            let zero = Cumulative {
                count: 0.0,
                sum: 0.0,
                buckets: Vec::new(),
            };
            let prev = match self.prev.get(&key) {
                Some((prev, _)) => Some(prev),
                None if self.baseline => Some(&zero),
                None => None,
            };
            if let Some(prev) = prev {
                let reset = cur.count < prev.count
                    || prev.buckets.is_empty()
                    || cur.buckets.len() != prev.buckets.len()
                    || cur
                        .buckets
                        .iter()
                        .zip(&prev.buckets)
                        .any(|(c, p)| c.0 != p.0 || c.1 < p.1);
                let delta = if reset {
                    HistogramDelta {
                        key: key.1.clone(),
                        count: cur.count,
                        sum_seconds: cur.sum,
                        buckets: cur.buckets.clone(),
                    }
                } else {
                    HistogramDelta {
                        key: key.1.clone(),
                        count: cur.count - prev.count,
                        sum_seconds: cur.sum - prev.sum,
                        buckets: cur
                            .buckets
                            .iter()
                            .zip(&prev.buckets)
                            .map(|(c, p)| (c.0, c.1 - p.1))
                            .collect(),
                    }
                };
                if delta.count > 0.0 {
                    deltas.push(delta);
                }
            }
            self.prev.insert(key, (cur, 0));
        }
        self.baseline = true;
        deltas.sort_by(|a, b| a.key.cmp(&b.key));
        deltas
    }
}

/// Adds `other`'s cumulative bucket counts into `into` (same bounds merged).
pub fn merge_buckets(into: &mut Vec<(f64, f64)>, other: &[(f64, f64)]) {
    for (le, n) in other {
        match into.iter_mut().find(|(l, _)| l == le) {
            Some(b) => b.1 += n,
            None => into.push((*le, *n)),
        }
    }
    into.sort_by(|a, b| a.0.total_cmp(&b.0));
}

/// The `q` quantile (0–1) of cumulative buckets, interpolated linearly inside
/// the bucket it falls in, as Prometheus' `histogram_quantile` does; in the
/// `+Inf` bucket it is the highest finite bound.
pub fn quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut prev = (0.0, 0.0);
    for &(le, cum) in buckets {
        if cum >= rank {
            if le.is_infinite() {
                return Some(prev.0);
            }
            if cum == prev.1 {
                return Some(le);
            }
            return Some(prev.0 + (le - prev.0) * (rank - prev.1) / (cum - prev.1));
        }
        prev = (le, cum);
    }
    Some(prev.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scrape::text::parse;

    fn exposition(b1: u32, b2: u32, inf: u32, sum: f64) -> String {
        format!(
            "# TYPE http_request_duration_seconds histogram\n\
             # TYPE other histogram\n\
             http_request_duration_seconds_bucket{{route=\"/a\",method=\"GET\",status=\"200\",le=\"0.1\"}} {b1}\n\
             http_request_duration_seconds_bucket{{route=\"/a\",method=\"GET\",status=\"200\",le=\"0.5\"}} {b2}\n\
             http_request_duration_seconds_bucket{{route=\"/a\",method=\"GET\",status=\"200\",le=\"+Inf\"}} {inf}\n\
             http_request_duration_seconds_count{{route=\"/a\",method=\"GET\",status=\"200\"}} {inf}\n\
             http_request_duration_seconds_sum{{route=\"/a\",method=\"GET\",status=\"200\"}} {sum}\n\
             other_bucket{{le=\"1\"}} 5\n"
        )
    }

    fn patterns() -> Vec<String> {
        vec!["*_duration_seconds".to_owned()]
    }

    #[test]
    fn increases_between_scrapes_and_resets() {
        let mut state = HistogramState::default();
        let first = parse(&exposition(10, 15, 20, 3.0)).expect("valid");
        assert!(
            state.read(&first, &patterns()).is_empty(),
            "the first scrape is the baseline"
        );
        let second = parse(&exposition(30, 45, 50, 9.0)).expect("valid");
        let d = state.read(&second, &patterns());
        assert_eq!(d.len(), 1, "only the matching family");
        assert_eq!(
            d[0].key,
            SeriesKey {
                route: "/a".into(),
                method: "GET".into(),
                status: "200".into()
            }
        );
        assert_eq!(d[0].count, 30.0);
        assert!((d[0].sum_seconds - 6.0).abs() < 1e-9);
        assert_eq!(
            d[0].buckets,
            vec![(0.1, 20.0), (0.5, 30.0), (f64::INFINITY, 30.0)]
        );
        // The exporter restarted: its counters start again from zero.
        let third = parse(&exposition(2, 3, 4, 0.5)).expect("valid");
        let d = state.read(&third, &patterns());
        assert_eq!(
            d[0].count, 4.0,
            "after a reset the current value is the increase"
        );
        // A route seen for the first time after the baseline counts from zero.
        let fourth = exposition(2, 3, 4, 0.5).replace("\"/a\"", "\"/b\"");
        let d = state.read(&parse(&fourth).expect("valid"), &patterns());
        assert_eq!((d[0].key.route.as_str(), d[0].count), ("/b", 4.0));
    }

    #[test]
    fn summaries_and_untyped_families_are_never_read() {
        let expo = |n: u32| {
            format!(
                "# TYPE go_gc_duration_seconds summary\n\
                 go_gc_duration_seconds{{quantile=\"0.5\"}} 0.0001\n\
                 go_gc_duration_seconds_sum {n}\n\
                 go_gc_duration_seconds_count {n}\n\
                 untyped_duration_seconds_bucket{{le=\"+Inf\"}} {n}\n\
                 untyped_duration_seconds_count {n}\n"
            )
        };
        let mut state = HistogramState::default();
        for n in [10, 20, 5, 40] {
            let d = state.read(&parse(&expo(n)).expect("valid"), &patterns());
            assert!(d.is_empty(), "scrape with {n}: {d:?}");
        }
    }

    /// Two families with the same labels: each keeps its own counters, so
    /// neither looks reset by the other.
    #[test]
    fn families_with_the_same_labels_stay_apart() {
        let expo = |http: [u32; 3], db: [u32; 3]| {
            let fam = |name: &str, [a, b, inf]: [u32; 3]| {
                format!(
                    "# TYPE {name} histogram\n\
                     {name}_bucket{{route=\"/a\",le=\"0.1\"}} {a}\n\
                     {name}_bucket{{route=\"/a\",le=\"0.5\"}} {b}\n\
                     {name}_bucket{{route=\"/a\",le=\"+Inf\"}} {inf}\n\
                     {name}_count{{route=\"/a\"}} {inf}\n\
                     {name}_sum{{route=\"/a\"}} 1\n"
                )
            };
            fam("http_request_duration_seconds", http) + &fam("db_query_duration_seconds", db)
        };
        let mut state = HistogramState::default();
        state.read(
            &parse(&expo([10, 15, 20], [1, 1, 1])).expect("valid"),
            &patterns(),
        );
        let d = state.read(
            &parse(&expo([30, 45, 50], [2, 2, 2])).expect("valid"),
            &patterns(),
        );
        let mut counts: Vec<f64> = d.iter().map(|d| d.count).collect();
        counts.sort_by(f64::total_cmp);
        // 50 − 20 and 2 − 1; merged they would read as one reset series.
        assert_eq!(counts, vec![1.0, 30.0]);
        let http = d.iter().find(|d| d.count == 30.0).expect("http");
        assert_eq!(
            http.buckets,
            vec![(0.1, 20.0), (0.5, 30.0), (f64::INFINITY, 30.0)]
        );
    }

    #[test]
    fn a_series_gone_for_long_is_forgotten() {
        let mut state = HistogramState::default();
        let with = |n: u32| parse(&exposition(n, n, n, 1.0)).expect("valid");
        let without = parse("# TYPE up gauge\nup 1\n").expect("valid");
        state.read(&with(20), &patterns());
        // Missing for a few scrapes: still known, the increase is 50 − 20.
        for _ in 0..(FORGET_AFTER - 1) {
            assert!(state.read(&without, &patterns()).is_empty());
        }
        assert_eq!(state.read(&with(50), &patterns())[0].count, 30.0);
        // Missing for FORGET_AFTER scrapes: forgotten, back from zero.
        for _ in 0..FORGET_AFTER {
            state.read(&without, &patterns());
        }
        assert!(state.prev.is_empty());
        assert_eq!(state.read(&with(70), &patterns())[0].count, 70.0);
    }

    #[test]
    fn quantiles_interpolate_like_histogram_quantile() {
        let b = vec![(0.1, 20.0), (0.5, 30.0), (f64::INFINITY, 30.0)];
        assert_eq!(quantile(0.5, &b), Some(0.075), "rank 15 of 20 in (0, 0.1]");
        assert_eq!(quantile(0.9, &b), Some(0.1 + 0.4 * 7.0 / 10.0));
        let inf = vec![(0.1, 1.0), (f64::INFINITY, 10.0)];
        assert_eq!(
            quantile(0.99, &inf),
            Some(0.1),
            "in +Inf: the highest finite bound"
        );
        assert_eq!(quantile(0.5, &[]), None);
        let mut merged = vec![(0.1, 1.0), (f64::INFINITY, 2.0)];
        merge_buckets(&mut merged, &[(0.1, 3.0), (f64::INFINITY, 4.0)]);
        assert_eq!(merged, vec![(0.1, 4.0), (f64::INFINITY, 6.0)]);
    }
}
