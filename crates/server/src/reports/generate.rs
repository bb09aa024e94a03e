//! A report's content, from the stored measurements of its period: the
//! figures `measures` gives the dashboard, the cache sources' figures and
//! the database sources' slow statements, the alerts and the scaling
//! actions of the period, and its recommendations. Nothing here knows HTTP.

use vigie_api::{
    EndpointStats, MetricsResponse, PerformanceMetrics, ReportContent, ReportKpis, ReportRequest,
    ReportSection, ReportSeries, TargetKind, sli,
};

use crate::AppState;
use crate::alerts::store::AlertFilter;
use crate::measures::{self, RangeQuery, Scope};
use crate::scaling::store::ActionFilter;
use crate::store::StoreError;

/// Buckets of each chart's series.
const POINTS: u32 = 200;
/// Endpoints listed as the worst.
const WORST: usize = 10;
/// Alerts and actions listed at most.
const LISTED: u32 = 500;
/// Slow statements listed at most.
const SLOW_LISTED: usize = 10;

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Measure(String),
    #[error("cancelled")]
    Cancelled,
}

impl From<measures::MeasureError> for GenerateError {
    fn from(e: measures::MeasureError) -> Self {
        GenerateError::Measure(format!("{e:?}"))
    }
}

/// The KPIs of `m` (`count` probes or requests) against the SLI targets.
pub fn kpis(kind: &str, name: &str, target_id: Option<i64>, m: &PerformanceMetrics) -> ReportKpis {
    let count = m.total_requests;
    let allowed = (count as f64) * (100.0 - sli::AVAILABILITY_PCT) / 100.0;
    let failures = m.availability.map(|a| (count as f64) * (100.0 - a) / 100.0);
    let used = match (failures, count) {
        (Some(f), c) if c > 0 && allowed > 0.0 => Some(f / allowed * 100.0),
        _ => None,
    };
    let meets = m.availability.map(|a| {
        a >= sli::AVAILABILITY_PCT
            && m.p95.is_none_or(|p| p <= sli::P95_MS)
            && m.p99.is_none_or(|p| p <= sli::P99_MS)
    });
    ReportKpis {
        kind: kind.to_owned(),
        name: name.to_owned(),
        target_id,
        count,
        availability: m.availability,
        error_rate: m.error_rate,
        avg_response_time: m.avg_response_time,
        p95: m.p95,
        p99: m.p99,
        error_budget: (count > 0).then_some(allowed),
        error_budget_used_pct: used,
        meets_sli: meets,
    }
}

fn p95_series(name: String, r: &MetricsResponse) -> ReportSeries {
    ReportSeries {
        name,
        unit: "ms".into(),
        points: r
            .series
            .iter()
            .filter_map(|p| p.p95.map(|v| (p.ts_ms, v)))
            .collect(),
    }
}

/// Says how far along it is; `false` stops the generation (cancelled).
pub trait Progress {
    fn step(&mut self, percent: u8, what: &str) -> bool;
}

/// The content of report `id` over `[from, to]`.
pub async fn content(
    state: &AppState,
    id: i64,
    req: &ReportRequest,
    (from, to): (i64, i64),
    progress: &mut impl Progress,
) -> Result<ReportContent, GenerateError> {
    let sections = req
        .sections
        .clone()
        .unwrap_or_else(|| ReportSection::ALL.to_vec());
    let has = |s: ReportSection| sections.contains(&s);
    let raw_start = state.config().raw_start_ms(crate::now_ms());
    let range = |target| RangeQuery {
        from_ms: from,
        to_ms: to,
        target,
        points: POINTS,
    };
    let mut go = |p: u8, what: &str| {
        if progress.step(p, what) {
            Ok(())
        } else {
            Err(GenerateError::Cancelled)
        }
    };
    let mut out = ReportContent {
        id,
        from,
        to,
        generated_at: crate::now_ms(),
        sections: sections.clone(),
        kpis: Vec::new(),
        series: Vec::new(),
        worst_endpoints: Vec::new(),
        alerts: Vec::new(),
        scaling_actions: Vec::new(),
        recommendations: Vec::new(),
        cache: Vec::new(),
        slow_queries: None,
        notes: Vec::new(),
    };

    go(5, "probes of the targets")?;
    let targets = state.store().call(|s| s.targets()).await?;
    let chosen: Vec<_> = targets
        .into_iter()
        .filter(|(id, t)| {
            t.kind == TargetKind::Http && req.targets.as_ref().is_none_or(|ids| ids.contains(id))
        })
        .collect();
    let n = chosen.len().max(1);
    for (i, (tid, t)) in chosen.iter().enumerate() {
        go(5 + (40 * i / n) as u8, &format!("probes of {}", t.name))?;
        let r = measures::summary(
            state.store(),
            raw_start,
            range(Some(*tid)),
            Scope::Probes { target: Some(*tid) },
        )
        .await?;
        out.kpis
            .push(kpis("target", &t.name, Some(*tid), &r.performance_metrics));
        if has(ReportSection::ResponseTimes) && r.performance_metrics.total_requests > 0 {
            out.series.push(p95_series(format!("{} p95", t.name), &r));
        }
    }

    go(45, "ingested requests")?;
    let endpoints: Vec<EndpointStats> =
        measures::requested_endpoints(state.store(), raw_start, None, range(None)).await?;
    let mut services: Vec<String> = endpoints.iter().map(|e| e.service.clone()).collect();
    services.sort();
    services.dedup();
    if let Some(wanted) = &req.services {
        services.retain(|s| wanted.contains(s));
    }
    for service in &services {
        go(55, &format!("requests of {service}"))?;
        let r = measures::summary(
            state.store(),
            raw_start,
            range(None),
            Scope::Requests {
                service: Some(service.clone()),
                endpoint: None,
            },
        )
        .await?;
        out.kpis
            .push(kpis("service", service, None, &r.performance_metrics));
        if has(ReportSection::ResponseTimes) && r.performance_metrics.total_requests > 0 {
            out.series.push(p95_series(format!("{service} p95"), &r));
        }
    }
    if has(ReportSection::Endpoints) {
        let mut worst: Vec<EndpointStats> = endpoints
            .into_iter()
            .filter(|e| services.contains(&e.service))
            .collect();
        worst.sort_by(|a, b| b.p95.total_cmp(&a.p95));
        worst.truncate(WORST);
        out.worst_endpoints = worst;
    }

    if has(ReportSection::Resources) {
        go(70, "this host's resources")?;
        let samples = state
            .store()
            .call(move |s| s.host_samples_between(from, to))
            .await?;
        let every = (samples.len() / POINTS as usize).max(1);
        let pick = |f: fn(&vigie_api::HostSample) -> f64| -> Vec<(i64, f64)> {
            samples
                .iter()
                .step_by(every)
                .map(|s| (s.ts_ms, f(s)))
                .collect()
        };
        if samples.is_empty() {
            out.notes
                .push("No host sample was stored in this period.".into());
        } else {
            out.series.push(ReportSeries {
                name: "CPU".into(),
                unit: "%".into(),
                points: pick(|s| s.cpu_usage),
            });
            out.series.push(ReportSeries {
                name: "memory".into(),
                unit: "%".into(),
                points: pick(|s| s.memory_usage),
            });
        }
    }

    if has(ReportSection::Cache) {
        go(74, "cache sources")?;
        out.cache = crate::redis::figures_of(state.store(), None, from, to, POINTS).await?;
    }
    if has(ReportSection::SlowQueries) {
        let databases = state.store().call(|s| s.database_sources()).await?;
        if !databases.is_empty() {
            go(76, "slow queries")?;
            let threshold_ms = crate::postgres::DEFAULT_THRESHOLD_MS;
            let queries = crate::postgres::slow_with_advice(
                state.store(),
                state.database_sources().policy(),
                &databases,
                (from, to),
                threshold_ms,
                SLOW_LISTED,
            )
            .await?;
            out.slow_queries = Some(vigie_api::SlowQueryList {
                from_ms: from,
                to_ms: to,
                threshold_ms,
                queries,
            });
        }
    }

    if has(ReportSection::Alerts) {
        go(80, "alerts")?;
        let filter = AlertFilter {
            states: Vec::new(),
            severities: Vec::new(),
            from_ms: Some(from),
            to_ms: Some(to),
            fired: Some(true),
            limit: LISTED,
            offset: 0,
        };
        out.alerts = state.store().call(move |s| s.alerts(&filter)).await?.0;
    }
    if has(ReportSection::Scaling) {
        go(88, "scaling actions")?;
        let filter = ActionFilter {
            from_ms: Some(from),
            to_ms: Some(to),
            limit: LISTED,
            ..ActionFilter::default()
        };
        out.scaling_actions = state
            .store()
            .call(move |s| s.scaling_actions(&filter))
            .await?
            .0;
        if out.scaling_actions.is_empty() {
            out.notes
                .push("No scaling action was taken in this period.".into());
        }
    }
    if has(ReportSection::Recommendations) {
        go(90, "recommendations")?;
        let mut recs = crate::recommendations::for_period(state, from, to).await?;
        // Those about the targets and services the report covers, and the host's.
        recs.retain(|r| {
            let target = r
                .link
                .target
                .is_none_or(|id| req.targets.as_ref().is_none_or(|ids| ids.contains(&id)));
            let service = r.link.service.as_ref().is_none_or(|s| {
                req.services
                    .as_ref()
                    .is_none_or(|wanted| wanted.contains(s))
            });
            target && service
        });
        out.recommendations = recs;
    }
    if out.kpis.iter().all(|k| k.count == 0) {
        out.notes.insert(
            0,
            "No probe result and no ingested request was stored in this period.".into(),
        );
    }
    go(92, "writing the files")?;
    Ok(out)
}
