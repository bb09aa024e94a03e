//! Recommendations: advice drawn from a period's stored measurements.
//! [`for_period`] reads what the rules need — this host's samples as
//! per-minute means, the ingested requests' endpoints and their failures per
//! minute, each target's probes in order — through `measures` and the
//! domains' store methods, and [`rules`] decides, as pure functions, which
//! recommendations hold. One whose condition no longer holds in the period
//! is simply not listed. Reports call [`for_period`] for their
//! recommendations section.
//!
//! Routes: `GET recommendations/`.

pub mod rules;

use std::collections::{BTreeMap, HashMap};

use axum::extract::State;
use vigie_api::{Recommendation, RecommendationList, RecommendationsQuery, paths};

use crate::AppState;
use crate::cache::{self, JsonBytes};
use crate::error::{ApiError, ApiQuery};
use crate::measures::{self, MeasureError, RangeQuery};
use crate::openapi::Op;
use crate::rollup::{HostAggregate, fold_hosts, is_server_error, minute_of};
use crate::store::RequestFilter;
use rules::{HostMinute, Minute, Period, ProbeStep, Subject};

fn host_minute(ts_ms: i64, a: &HostAggregate) -> HostMinute {
    let mean = |i: usize| a.figures[i].sum / a.count.max(1) as f64;
    HostMinute {
        ts_ms,
        samples: a.count,
        cpu: mean(0),
        memory: mean(1),
        disk: mean(2),
    }
}

/// Failures per minute of `steps` (in time order).
fn per_minute(steps: &[ProbeStep]) -> Vec<Minute> {
    let mut minutes: BTreeMap<i64, Minute> = BTreeMap::new();
    for step in steps {
        let (ts, count, errors) = match *step {
            ProbeStep::One { ts_ms, ok } => (ts_ms, 1, u64::from(!ok)),
            ProbeStep::Minute(m) => (m.ts_ms, m.count, m.errors),
        };
        let m = minutes.entry(minute_of(ts)).or_insert(Minute {
            ts_ms: minute_of(ts),
            count: 0,
            errors: 0,
        });
        m.count += count;
        m.errors += errors;
    }
    minutes.into_values().collect()
}

/// Requests and failures per minute of each service, from rows in any
/// order: pushed as they come (a service's rows arrive in runs, so the
/// service is looked up once a run), sorted and summed at the end.
#[derive(Debug, Default)]
struct PerService {
    index: HashMap<String, usize>,
    services: Vec<(String, Vec<Minute>)>,
    last: usize,
}

impl PerService {
    fn add(&mut self, service: &str, ts_ms: i64, count: u64, errors: u64) {
        let i = match self.services.get(self.last) {
            Some((s, _)) if s == service => self.last,
            _ => match self.index.get(service) {
                Some(&i) => i,
                None => {
                    self.index.insert(service.to_owned(), self.services.len());
                    self.services.push((service.to_owned(), Vec::new()));
                    self.services.len() - 1
                }
            },
        };
        self.last = i;
        self.services[i].1.push(Minute {
            ts_ms: minute_of(ts_ms),
            count,
            errors,
        });
    }

    /// Each service (by name) with its minutes in order, one entry a minute.
    fn minutes(mut self) -> Vec<(String, Vec<Minute>)> {
        for (_, minutes) in &mut self.services {
            minutes.sort_unstable_by_key(|m| m.ts_ms);
            minutes.dedup_by(|later, kept| {
                let same = later.ts_ms == kept.ts_ms;
                if same {
                    kept.count += later.count;
                    kept.errors += later.errors;
                }
                same
            });
        }
        self.services.sort_by(|a, b| a.0.cmp(&b.0));
        self.services
    }
}

/// The recommendations whose conditions hold over `[from, to]`, most
/// severe first.
pub(crate) async fn for_period(
    state: &AppState,
    from: i64,
    to: i64,
) -> Result<Vec<Recommendation>, MeasureError> {
    let p = Period { from, to };
    let store = state.store();
    let mut out = Vec::new();

    // This host: raw samples and rollups, as minutes.
    let (minutes, scaling_configured) = store
        .call(move |s| {
            let mut by_minute = fold_hosts(&s.host_samples_between(from, to)?);
            for (ts, agg) in s.host_rollups_between(from, to)? {
                by_minute
                    .entry(ts)
                    .and_modify(|m| m.merge(&agg))
                    .or_insert(agg);
            }
            let minutes: Vec<HostMinute> = by_minute
                .iter()
                .map(|(ts, a)| host_minute(*ts, a))
                .collect();
            Ok((minutes, !s.scaling_configs()?.is_empty()))
        })
        .await?;
    let host = state
        .host()
        .snapshot()
        .resources
        .capacities
        .hostname
        .clone();
    out.extend(rules::cpu_without_scaling(
        &host,
        &minutes,
        scaling_configured,
        p,
    ));
    out.extend(rules::disk_filling(&host, &minutes, p));
    out.extend(rules::memory_growing(&host, &minutes, p));

    // Each target's probes, in order (rollups are older than raw results).
    let down_after = state.config().down_after;
    let targets = store.call(|s| s.targets()).await?;
    for (id, target) in targets {
        let steps = store
            .call(move |s| {
                let mut steps = Vec::new();
                s.for_each_probe_count(id, from, to, |c| {
                    steps.push(if c.minute {
                        ProbeStep::Minute(Minute {
                            ts_ms: c.ts_ms,
                            count: c.probes,
                            errors: c.failed,
                        })
                    } else {
                        ProbeStep::One {
                            ts_ms: c.ts_ms,
                            ok: c.failed == 0,
                        }
                    });
                })?;
                Ok(steps)
            })
            .await?;
        let subject = Subject::Target {
            id,
            name: target.name.clone(),
        };
        out.extend(rules::error_burst(&subject, &per_minute(&steps), p));
        out.extend(rules::target_down(id, &target.name, &steps, down_after, p));
    }

    // The ingested requests: endpoints, and each service's failures per minute.
    let raw_start = state.config().raw_start_ms(crate::now_ms());
    let range = RangeQuery {
        from_ms: from,
        to_ms: to,
        target: None,
        points: 1,
    };
    let endpoints = measures::requested_endpoints(store, raw_start, None, range).await?;
    out.extend(rules::slow_endpoints(&endpoints, p));
    let plan = measures::request_plan(from, to, raw_start);
    let services = store
        .call(move |s| {
            let mut by = PerService::default();
            let all = RequestFilter::default();
            for (lo, hi) in plan.raw {
                s.for_each_request(all, lo, hi, |r| {
                    by.add(r.service, r.ts_ms, 1, u64::from(is_server_error(r.status)));
                })?;
            }
            if let Some((lo, hi)) = plan.rollups {
                s.for_each_request_rollup(all, lo, hi, |r| {
                    by.add(r.service, r.ts_ms, r.figures.count, r.figures.errors);
                })?;
            }
            let services = by.minutes();
            Ok(services)
        })
        .await?;
    for (service, minutes) in services {
        out.extend(rules::error_burst(&Subject::Service(service), &minutes, p));
    }

    // The cache and database sources, when there are any.
    let caches = crate::redis::figures_of(store, None, from, to, 1).await?;
    out.extend(rules::low_cache_hit_rates(&caches, p));
    let statements =
        crate::postgres::statements_over(store, from, to, rules::SLOW_QUERY_MS).await?;
    out.extend(rules::slow_queries(&statements, p));
    let watch = state.config().unused_index_watch().as_millis() as i64;
    for db in crate::postgres::insights::of_sources(store, None, from, to, watch).await? {
        out.extend(rules::sequential_scans(&db, p));
        out.extend(rules::unused_indexes(&db, p));
        out.extend(rules::low_buffer_hit_ratio(&db, p));
    }

    rules::sort(&mut out);
    Ok(out)
}

pub fn recommendations_op() -> Op {
    Op::new(
        "recommendations",
        "Advice drawn from the measurements of a period (the last day by default, at most 31 days): CPU saturated without scaling, slow endpoints, bursts of errors, targets down more than once, a disk filling, memory growing, a cache missing, slow statements, large tables read by sequential scans, unused indexes, a low buffer cache hit ratio; each with its figures, the gain expected and the dashboard range that shows it, most severe first. One whose condition no longer holds is not listed",
    )
    .query::<RecommendationsQuery>()
    .json::<RecommendationList>(200, "most severe first; empty when no rule's condition holds")
    .error(400, "bad period or unknown parameter: the body names it")
}

/// `GET recommendations/?from=&to=`. Answered from the response cache:
/// computed at most once per second and write, however many ask.
pub async fn recommendations(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<RecommendationsQuery>,
) -> Result<JsonBytes, ApiError> {
    let now = crate::now_ms();
    let (from, to) = crate::reports::period(q.from, q.to, now)?;
    let key = cache::key(paths::RECOMMENDATIONS, &q);
    state
        .cache()
        .get_or_compute(&key, state.store().generation(), now, || async {
            Ok(RecommendationList {
                from,
                to,
                recommendations: for_period(&state, from, to).await?,
            })
        })
        .await
}

/// The routes of this module.
pub(crate) fn routes(r: crate::Routes) -> crate::Routes {
    r.get(
        paths::RECOMMENDATIONS,
        recommendations,
        recommendations_op(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_service_minutes_are_summed_and_ordered_whatever_the_row_order() {
        let mut by = PerService::default();
        // Raw requests in time order, services alternating, then rollups
        // in runs of one service, older minutes after newer ones.
        by.add("b", 120_500, 1, 1);
        by.add("a", 120_900, 1, 0);
        by.add("b", 121_000, 1, 0);
        by.add("b", 60_000, 10, 2);
        by.add("b", 0, 5, 0);
        by.add("a", 0, 7, 7);
        by.add("b", 60_000, 3, 1);
        let minute = |ts_ms, count, errors| Minute {
            ts_ms,
            count,
            errors,
        };
        assert_eq!(
            by.minutes(),
            vec![
                ("a".to_owned(), vec![minute(0, 7, 7), minute(120_000, 1, 0)]),
                (
                    "b".to_owned(),
                    vec![
                        minute(0, 5, 0),
                        minute(60_000, 13, 3),
                        minute(120_000, 2, 1)
                    ]
                ),
            ]
        );
    }
}
