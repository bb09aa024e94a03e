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
use crate::measures::{self, Measure, MeasureError, RangeQuery};
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
                let rollups = s.probe_rollups_between(from, to, Some(id))?;
                let results = s.probe_results_between(from, to, Some(id))?;
                let mut steps: Vec<ProbeStep> = rollups
                    .iter()
                    .map(|(_, ts, a)| {
                        ProbeStep::Minute(Minute {
                            ts_ms: *ts,
                            count: a.count,
                            errors: a.errors,
                        })
                    })
                    .chain(results.iter().map(|r| ProbeStep::One {
                        ts_ms: r.ts_ms,
                        ok: !Measure::from(r).error,
                    }))
                    .collect();
                steps.sort_by_key(|s| match s {
                    ProbeStep::One { ts_ms, .. } => *ts_ms,
                    ProbeStep::Minute(m) => m.ts_ms,
                });
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
            let mut by: HashMap<String, BTreeMap<i64, (u64, u64)>> = HashMap::new();
            let mut add = |service: &str, ts: i64, count: u64, errors: u64| {
                if !by.contains_key(service) {
                    by.insert(service.to_owned(), BTreeMap::new());
                }
                if let Some(minutes) = by.get_mut(service) {
                    let m = minutes.entry(minute_of(ts)).or_default();
                    m.0 += count;
                    m.1 += errors;
                }
            };
            let all = RequestFilter::default();
            for (lo, hi) in plan.raw {
                s.for_each_request(all, lo, hi, |r| {
                    add(r.service, r.ts_ms, 1, u64::from(is_server_error(r.status)));
                })?;
            }
            if let Some((lo, hi)) = plan.rollups {
                s.for_each_request_rollup(all, lo, hi, |r| {
                    add(r.service, r.ts_ms, r.figures.count, r.figures.errors);
                })?;
            }
            let mut services: Vec<(String, Vec<Minute>)> = by
                .into_iter()
                .map(|(service, minutes)| {
                    let minutes = minutes
                        .into_iter()
                        .map(|(ts_ms, (count, errors))| Minute {
                            ts_ms,
                            count,
                            errors,
                        })
                        .collect();
                    (service, minutes)
                })
                .collect();
            services.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(services)
        })
        .await?;
    for (service, minutes) in services {
        out.extend(rules::error_burst(&Subject::Service(service), &minutes, p));
    }

    rules::sort(&mut out);
    Ok(out)
}

pub fn recommendations_op() -> Op {
    Op::new(
        "recommendations",
        "Advice drawn from the measurements of a period (the last day by default, at most 31 days): CPU saturated without scaling, slow endpoints, bursts of errors, targets down more than once, a disk filling, memory growing; each with its figures, the gain expected and the dashboard range that shows it, most severe first. One whose condition no longer holds is not listed",
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
