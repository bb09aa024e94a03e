//! The rules: pure functions of what was measured over a period (this
//! host's figures per minute, the endpoints' figures, failures per minute,
//! a target's probes in order) giving the recommendation whose condition
//! holds, or none. Thresholds are the seeds' alert defaults and SLI targets;
//! figures are kept exact in the evidence and rounded only in the text.

use vigie_api::{
    CacheSourceFigures, ChartLink, DatabaseInsights, EndpointStats, Evidence, Recommendation,
    RecommendationRule as Rule, RecommendationSeverity as Severity, SlowQuery, sli,
};

use crate::postgres::insights::{MIN_HIT_RATIO_PCT, low_hit_ratio, scans_call_for_an_index};

use crate::reports::render::utc;
use crate::rollup::ROLLUP_MS;

const DAY_MS: i64 = 86_400_000;

/// Where automatic scaling would scale up: the seeds' CPU alert threshold.
pub const CPU_SCALE_UP_PCT: f64 = 80.0;
/// Share of the measured time CPU must spend above it ("most of the period").
pub const CPU_BUSY_SHARE_PCT: f64 = 50.0;
/// Fewest minutes of host samples the CPU rule judges on.
pub const MIN_HOST_MINUTES: usize = 10;
/// Fewest minutes of host samples, and their shortest span, a trend (disk,
/// memory) is fitted on: a few minutes' wobble is no trend.
pub const MIN_TREND_MINUTES: usize = 60;
pub const MIN_TREND_SPAN_MS: i64 = 3_600_000;
/// Requests an endpoint needs in the period before its p95 counts.
pub const MIN_ENDPOINT_REQUESTS: u64 = 20;
/// The seeds' response-time alert: a p95 beyond it is critical.
pub const RESPONSE_TIME_ALERT_MS: f64 = 2000.0;
/// The seeds' error-rate alert, over the period or in one minute…
pub const ERROR_RATE_PCT: f64 = 5.0;
/// …with at least this many failures, so that one failure of a handful of
/// probes is not a burst.
pub const MIN_FAILURES: u64 = 5;
/// Down episodes of a target worth a recommendation.
pub const MIN_DOWN_EPISODES: usize = 2;
/// The seeds' disk alert threshold, and how far ahead reaching it matters.
pub const DISK_FULL_PCT: f64 = 90.0;
pub const DISK_HORIZON_DAYS: f64 = 14.0;
/// How well a line must fit the disk figures before it is extrapolated.
pub const DISK_MIN_R2: f64 = 0.5;
/// The seeds' memory alert threshold.
pub const MEMORY_ALERT_PCT: f64 = 85.0;
/// Memory growth counts as steady with this good a fit…
pub const MEMORY_MIN_R2: f64 = 0.8;
/// …and this rise over the period, percentage points.
pub const MEMORY_MIN_RISE_PCT: f64 = 5.0;

/// The period looked at, Unix ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: i64,
    pub to: i64,
}

impl Period {
    fn text(self) -> String {
        format!("between {} and {} UTC", utc(self.from), utc(self.to))
    }

    /// `[from, to]` narrowed to the period.
    fn clamp(self, from: i64, to: i64) -> (i64, i64) {
        let from = from.clamp(self.from, self.to);
        (from, to.clamp(from, self.to))
    }

    fn link(self, page: &str) -> ChartLink {
        ChartLink {
            page: page.to_owned(),
            from: self.from,
            to: self.to,
            target: None,
            service: None,
            endpoint: None,
        }
    }
}

/// This host's figures over one minute: the means of its samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HostMinute {
    /// Start of the minute.
    pub ts_ms: i64,
    pub samples: u64,
    pub cpu: f64,
    pub memory: f64,
    pub disk: f64,
}

/// Probes or requests of one minute, and how many failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Minute {
    /// Start of the minute.
    pub ts_ms: i64,
    pub count: u64,
    pub errors: u64,
}

/// What failures are counted of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Target { id: i64, name: String },
    Service(String),
}

/// A target's probes in time order: raw results, then (older than the raw
/// window) per-minute counts, whose order within the minute is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeStep {
    One { ts_ms: i64, ok: bool },
    Minute(Minute),
}

/// One time a target was down: at least `down_after` failed probes in a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Episode {
    /// The first failed probe.
    pub start_ms: i64,
    /// The probe that succeeded after it; the last failure when `ongoing`.
    pub end_ms: i64,
    pub failures: u64,
    /// Still down at the end of the period.
    pub ongoing: bool,
}

/// A straight line fitted by (weighted) least squares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    pub slope: f64,
    pub intercept: f64,
    /// Coefficient of determination: 1 on a line, near 0 for noise.
    pub r2: f64,
}

/// The line through `(x, y, weight)` points; `None` without two distinct
/// `x` (or any weight).
pub fn fit(points: &[(f64, f64, f64)]) -> Option<Fit> {
    let w: f64 = points.iter().map(|p| p.2).sum();
    if w <= 0.0 {
        return None;
    }
    let mx = points.iter().map(|p| p.2 * p.0).sum::<f64>() / w;
    let my = points.iter().map(|p| p.2 * p.1).sum::<f64>() / w;
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for &(x, y, wt) in points {
        sxx += wt * (x - mx) * (x - mx);
        sxy += wt * (x - mx) * (y - my);
        syy += wt * (y - my) * (y - my);
    }
    if sxx <= 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let r2 = if syy > 0.0 {
        sxy * sxy / (sxx * syy)
    } else {
        // Every y the same: the flat line fits exactly.
        1.0
    };
    Some(Fit {
        slope,
        intercept: my - slope * mx,
        r2,
    })
}

/// Figures in sentences: whole numbers from 100 up, one decimal below.
fn fig(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.1}");
        s.strip_suffix(".0").map(str::to_owned).unwrap_or(s)
    }
}

fn duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

fn ev(label: &str, value: f64, unit: &str) -> Evidence {
    Evidence {
        label: label.to_owned(),
        value,
        unit: unit.to_owned(),
    }
}

/// `rule:what`: stable while the condition holds (ids for targets, names
/// for services and endpoints, `host` for this host).
fn key(rule: Rule, what: &str) -> String {
    format!("{}:{what}", rule.as_str())
}

/// The parts every rule fills.
struct Draft {
    rule: Rule,
    what: String,
    severity: Severity,
    title: String,
    subject: String,
    detail: String,
    evidence: Vec<Evidence>,
    gain: String,
    link: ChartLink,
}

fn finish(d: Draft, p: Period) -> Recommendation {
    Recommendation {
        key: key(d.rule, &d.what),
        rule: d.rule,
        severity: d.severity,
        title: d.title,
        subject: d.subject,
        detail: d.detail,
        evidence: d.evidence,
        gain: d.gain,
        from: p.from,
        to: p.to,
        link: d.link,
    }
}

fn host_name(host: &str) -> String {
    if host.trim().is_empty() {
        "this host".to_owned()
    } else {
        host.to_owned()
    }
}

/// This host's CPU above [`CPU_SCALE_UP_PCT`] for at least
/// [`CPU_BUSY_SHARE_PCT`] of the samples (minutes whose mean is above it,
/// weighted by their samples), with no scaling configuration at all.
pub fn cpu_without_scaling(
    host: &str,
    minutes: &[HostMinute],
    scaling_configured: bool,
    p: Period,
) -> Option<Recommendation> {
    if scaling_configured || minutes.len() < MIN_HOST_MINUTES {
        return None;
    }
    let samples: u64 = minutes.iter().map(|m| m.samples).sum();
    if samples == 0 {
        return None;
    }
    let busy: Vec<&HostMinute> = minutes
        .iter()
        .filter(|m| m.cpu > CPU_SCALE_UP_PCT)
        .collect();
    let busy_samples: u64 = busy.iter().map(|m| m.samples).sum();
    let share = busy_samples as f64 * 100.0 / samples as f64;
    if share < CPU_BUSY_SHARE_PCT {
        return None;
    }
    let mean = minutes
        .iter()
        .map(|m| m.cpu * m.samples as f64)
        .sum::<f64>()
        / samples as f64;
    let name = host_name(host);
    Some(finish(
        Draft {
            rule: Rule::CpuWithoutScaling,
            what: "host".into(),
            severity: if share >= 90.0 {
                Severity::Critical
            } else {
                Severity::Warning
            },
            title: "CPU saturated and nothing scales".into(),
            subject: name.clone(),
            detail: format!(
                "CPU on {name} averaged above {} % in {} % of the {} minutes measured {} (mean {} %), and no scaling configuration exists.",
                fig(CPU_SCALE_UP_PCT),
                fig(share),
                minutes.len(),
                p.text(),
                fig(mean)
            ),
            evidence: vec![
                ev(
                    &format!("CPU above {} %", fig(CPU_SCALE_UP_PCT)),
                    share,
                    "%",
                ),
                ev("mean CPU", mean, "%"),
                ev("minutes measured", minutes.len() as f64, "count"),
                ev("minutes above", busy.len() as f64, "count"),
            ],
            gain: format!(
                "A scaling configuration on this CPU (scale up above {} %) adds capacity during the {} % of the time it was saturated, keeping response times steady under load.",
                fig(CPU_SCALE_UP_PCT),
                fig(share)
            ),
            // The overview's CPU chart over the period.
            link: p.link("/"),
        },
        p,
    ))
}

/// Endpoints of the ingested requests with at least
/// [`MIN_ENDPOINT_REQUESTS`] requests and a p95 above the SLI target.
pub fn slow_endpoints(endpoints: &[EndpointStats], p: Period) -> Vec<Recommendation> {
    endpoints
        .iter()
        .filter(|e| e.count >= MIN_ENDPOINT_REQUESTS && e.p95 > sli::P95_MS)
        .map(|e| {
            let subject = format!("{} {} {}", e.service, e.method, e.endpoint);
            let over = e.p95 - sli::P95_MS;
            let mut link = p.link("/endpoints");
            link.service = Some(e.service.clone());
            link.endpoint = Some(e.endpoint.clone());
            finish(
                Draft {
                    rule: Rule::SlowEndpoint,
                    what: subject.clone(),
                    severity: if e.p95 > RESPONSE_TIME_ALERT_MS {
                        Severity::Critical
                    } else {
                        Severity::Warning
                    },
                    title: format!("Slow endpoint {} {}", e.method, e.endpoint),
                    subject: subject.clone(),
                    detail: format!(
                        "{subject} answered {} requests {} with a p95 of {} ms (p99 {} ms), above the {} ms target.",
                        e.count,
                        p.text(),
                        fig(e.p95),
                        fig(e.p99),
                        fig(sli::P95_MS)
                    ),
                    evidence: vec![
                        ev("p95", e.p95, "ms"),
                        ev("p99", e.p99, "ms"),
                        ev("p95 target", sli::P95_MS, "ms"),
                        ev("requests", e.count as f64, "count"),
                    ],
                    gain: format!(
                        "Meeting the p95 target takes {} ms or more off each of its slowest 5 % of requests (about {} in a period like this one).",
                        fig(over),
                        (e.count as f64 * 0.05).ceil()
                    ),
                    link,
                },
                p,
            )
        })
        .collect()
}

/// The seeds' cache alert: a hit rate below this, percent.
pub const CACHE_HIT_RATE_PCT: f64 = 50.0;
/// Lookups a cache source needs in the period for its hit rate to count.
pub const MIN_CACHE_LOOKUPS: u64 = 100;
/// The seeds' slow query: a mean over this, ms.
pub const SLOW_QUERY_MS: f64 = 1000.0;

/// A cache source whose hit rate over the period is under
/// [`CACHE_HIT_RATE_PCT`], over at least [`MIN_CACHE_LOOKUPS`] lookups.
pub fn low_cache_hit_rates(sources: &[CacheSourceFigures], p: Period) -> Vec<Recommendation> {
    sources
        .iter()
        .filter(|s| s.total_hits + s.total_misses >= MIN_CACHE_LOOKUPS)
        .filter_map(|s| Some((s, s.hit_rate.filter(|r| *r < CACHE_HIT_RATE_PCT)?)))
        .map(|(s, rate)| {
            let lookups = s.total_hits + s.total_misses;
            let evicting = s.evictions > 0;
            finish(
                Draft {
                    rule: Rule::LowCacheHitRate,
                    what: s.source_id.to_string(),
                    severity: Severity::Warning,
                    title: format!("Low cache hit rate on {}", s.name),
                    subject: s.name.clone(),
                    detail: format!(
                        "{} found {} of {} lookups {} ({} % hit rate, under {} %), with {} keys evicted{}.",
                        s.name,
                        s.total_hits,
                        lookups,
                        p.text(),
                        fig(rate),
                        fig(CACHE_HIT_RATE_PCT),
                        s.evictions,
                        if evicting {
                            ": keys are pushed out for lack of memory (raise maxmemory or review the eviction policy)"
                        } else {
                            ": the keys asked for are mostly not cached (review what is cached and for how long)"
                        }
                    ),
                    evidence: vec![
                        ev("hit rate", rate, "%"),
                        ev("hits", s.total_hits as f64, "count"),
                        ev("misses", s.total_misses as f64, "count"),
                        ev("evictions", s.evictions as f64, "count"),
                    ],
                    gain: format!(
                        "Each miss made a hit spares the work behind the cache: {} lookups went past it {}.",
                        s.total_misses,
                        p.text()
                    ),
                    link: p.link("/cache"),
                },
                p,
            )
        })
        .collect()
}

/// A database statement whose mean over the period is over
/// [`SLOW_QUERY_MS`].
pub fn slow_queries(queries: &[SlowQuery], p: Period) -> Vec<Recommendation> {
    queries
        .iter()
        .filter(|q| q.execution_count > 0 && q.avg_execution_time > SLOW_QUERY_MS)
        .map(|q| {
            let text: String = q.query_text.chars().take(120).collect();
            finish(
                Draft {
                    rule: Rule::SlowQuery,
                    what: format!("{}:{}", q.source_id, q.query_hash),
                    severity: Severity::Warning,
                    title: format!("Slow query on {}", q.source_name),
                    subject: text.clone(),
                    detail: format!(
                        "{text} ran {} times {} on {}, {} ms on average (longest {} ms), {} % of that database's statement time. Its plan and the index it calls for are on the Slow-queries page.",
                        q.execution_count,
                        p.text(),
                        q.source_name,
                        fig(q.avg_execution_time),
                        fig(q.max_execution_time),
                        fig(q.time_share)
                    ),
                    evidence: vec![
                        ev("mean", q.avg_execution_time, "ms"),
                        ev("calls", q.execution_count as f64, "count"),
                        ev("share of time", q.time_share, "%"),
                    ],
                    gain: format!(
                        "Bringing it under {} ms saves {} s or more of database time in a period like this one.",
                        fig(SLOW_QUERY_MS),
                        fig((q.avg_execution_time - SLOW_QUERY_MS) * q.execution_count as f64 / 1000.0)
                    ),
                    link: p.link("/slow-queries"),
                },
                p,
            )
        })
        .collect()
}

/// A database's large tables read by sequential scans more than by index
/// scans (see [`scans_call_for_an_index`]).
pub fn sequential_scans(db: &DatabaseInsights, p: Period) -> Vec<Recommendation> {
    db.sequential_scans
        .iter()
        .filter(|t| scans_call_for_an_index(t))
        .map(|t| {
            let table = format!("{}.{}", t.schema, t.table);
            finish(
                Draft {
                    rule: Rule::SequentialScans,
                    what: format!("{}:{table}", db.source_id),
                    severity: Severity::Warning,
                    title: format!("Sequential scans of {table} on {}", db.source_name),
                    subject: table.clone(),
                    detail: format!(
                        "{table} ({} live rows) was read whole {} times {} on {}, {} rows per scan, against {} index scans: the statements that filter it have no index to use. The Slow-queries page shows their plans and the index they call for.",
                        t.live_rows,
                        t.seq_scans,
                        p.text(),
                        db.source_name,
                        fig(t.rows_per_scan),
                        t.index_scans
                    ),
                    evidence: vec![
                        ev("sequential scans", t.seq_scans as f64, "count"),
                        ev("rows per scan", t.rows_per_scan, "count"),
                        ev("index scans", t.index_scans as f64, "count"),
                        ev("live rows", t.live_rows as f64, "count"),
                    ],
                    gain: format!(
                        "An index on the columns they filter on reads the few rows they keep: {} rows were read by sequential scans {}.",
                        t.seq_rows_read,
                        p.text()
                    ),
                    link: p.link("/slow-queries"),
                },
                p,
            )
        })
        .collect()
}

/// A database's indexes no scan used over the period, watched long enough
/// (the list holds only those; never a constraint's index).
pub fn unused_indexes(db: &DatabaseInsights, p: Period) -> Vec<Recommendation> {
    let (Some(since), Some(last)) = (db.watched_from_ms, db.watched_to_ms) else {
        return Vec::new();
    };
    db.unused_indexes
        .iter()
        .map(|i| {
            use crate::postgres::plan::ident;
            let index = format!("{}.{}", ident(&i.schema), ident(&i.index));
            finish(
                Draft {
                    rule: Rule::UnusedIndex,
                    what: format!("{}:{index}", db.source_id),
                    severity: Severity::Info,
                    title: format!("Unused index {index} on {}", db.source_name),
                    subject: index.clone(),
                    detail: format!(
                        "No scan used {index} (on {}.{}, {} bytes) between {} and {} UTC, {} watched without a break. It enforces no unique or primary-key constraint: DROP INDEX CONCURRENTLY {index}; removes it without blocking writes.",
                        ident(&i.schema),
                        ident(&i.table),
                        i.size_bytes,
                        utc(since),
                        utc(last),
                        duration(last - since)
                    ),
                    evidence: vec![
                        ev("size", i.size_bytes as f64, "bytes"),
                        ev("scans", 0.0, "count"),
                        ev("watched", ((last - since) / 1000) as f64, "s"),
                    ],
                    gain: format!(
                        "Dropping it frees {} bytes and spares every write to {}.{} its upkeep.",
                        i.size_bytes, i.schema, i.table
                    ),
                    link: p.link("/slow-queries"),
                },
                p,
            )
        })
        .collect()
}

/// A database whose buffer cache hit ratio over the period is under
/// [`MIN_HIT_RATIO_PCT`] (see [`low_hit_ratio`]).
pub fn low_buffer_hit_ratio(db: &DatabaseInsights, p: Period) -> Option<Recommendation> {
    let ratio = low_hit_ratio(&db.buffer_cache)?;
    let b = &db.buffer_cache;
    Some(finish(
        Draft {
            rule: Rule::LowBufferHitRatio,
            what: db.source_id.to_string(),
            severity: Severity::Warning,
            title: format!("Low buffer cache hit ratio on {}", db.source_name),
            subject: db.source_name.clone(),
            detail: format!(
                "{} found {} of {} blocks in shared buffers {} ({} %, under {} %) and read {} from the operating system: raise shared_buffers (a quarter of the server's RAM is the usual start; it takes a restart), or give the server more RAM when its working set outgrows it.",
                db.source_name,
                b.blocks_hit,
                b.blocks_hit + b.blocks_read,
                p.text(),
                fig(ratio),
                fig(MIN_HIT_RATIO_PCT),
                b.blocks_read
            ),
            evidence: vec![
                ev("hit ratio", ratio, "%"),
                ev("blocks hit", b.blocks_hit as f64, "count"),
                ev("blocks read", b.blocks_read as f64, "count"),
            ],
            gain: format!(
                "Each block found in shared buffers spares a read from the operating system: {} were read {}.",
                b.blocks_read,
                p.text()
            ),
            link: p.link("/slow-queries"),
        },
        p,
    ))
}

/// Failures of `subject` at [`ERROR_RATE_PCT`] or more over the period, or
/// in one minute (a burst), with at least [`MIN_FAILURES`] of them.
pub fn error_burst(subject: &Subject, minutes: &[Minute], p: Period) -> Option<Recommendation> {
    let count: u64 = minutes.iter().map(|m| m.count).sum();
    let errors: u64 = minutes.iter().map(|m| m.errors).sum();
    if count == 0 {
        return None;
    }
    let pct = |e: u64, c: u64| e as f64 * 100.0 / c.max(1) as f64;
    let rate = pct(errors, count);
    let sustained = errors >= MIN_FAILURES && rate >= ERROR_RATE_PCT;
    // The minute with the most failures; the earliest of equals.
    let worst = minutes
        .iter()
        .copied()
        .reduce(|a, b| if b.errors > a.errors { b } else { a })?;
    let worst_rate = pct(worst.errors, worst.count);
    let burst = worst.errors >= MIN_FAILURES && worst_rate >= ERROR_RATE_PCT;
    if !sustained && !burst {
        return None;
    }
    let (what, name, of, page) = match subject {
        Subject::Target { id, name } => (format!("target/{id}"), name.clone(), "probes", "/"),
        Subject::Service(name) => (
            format!("service/{name}"),
            name.clone(),
            "requests",
            "/endpoints",
        ),
    };
    let mut link = p.link(page);
    match subject {
        Subject::Target { id, .. } => link.target = Some(*id),
        Subject::Service(name) => link.service = Some(name.clone()),
    }
    if !sustained {
        // A burst: the chart around its minute.
        (link.from, link.to) = p.clamp(worst.ts_ms - 5 * ROLLUP_MS, worst.ts_ms + 6 * ROLLUP_MS);
    }
    let kind = match subject {
        Subject::Target { .. } => "target",
        Subject::Service(_) => "service",
    };
    let allowed = count as f64 * sli::ERROR_RATE_PCT / 100.0;
    Some(finish(
        Draft {
            rule: Rule::ErrorBurst,
            what,
            severity: if sustained {
                Severity::Critical
            } else {
                Severity::Warning
            },
            title: if sustained {
                format!("Errors on {kind} {name}")
            } else {
                format!("A burst of errors on {kind} {name}")
            },
            subject: name.clone(),
            detail: format!(
                "{errors} of the {count} {of} of {kind} {name} failed {} ({} %); the worst minute, {}, had {} failures of {} ({} %).",
                p.text(),
                fig(rate),
                utc(worst.ts_ms),
                worst.errors,
                worst.count,
                fig(worst_rate)
            ),
            evidence: vec![
                ev("failures", errors as f64, "count"),
                ev(of, count as f64, "count"),
                ev("error rate", rate, "%"),
                ev("worst minute failures", worst.errors as f64, "count"),
                ev("worst minute error rate", worst_rate, "%"),
            ],
            gain: format!(
                "Bringing the error rate to the {} % target spares about {} failed {of} over a period like this one.",
                fig(sli::ERROR_RATE_PCT),
                fig((errors as f64 - allowed).max(0.0).floor())
            ),
            link,
        },
        p,
    ))
}

/// The times a target was down in `steps`: runs of at least `down_after`
/// failed probes (what marks it down), each ended by a success. A minute
/// of counts with no success continues a run; one with both counts its
/// failures, then ends the run (the order inside it is lost).
pub fn down_episodes(steps: &[ProbeStep], down_after: u32) -> Vec<Episode> {
    let mut out = Vec::new();
    // (first failure, last failure, failures) of the run under way.
    let mut run: Option<(i64, i64, u64)> = None;
    let mut close = |run: &mut Option<(i64, i64, u64)>, end: i64| {
        if let Some((start, _, failures)) = run.take()
            && failures >= u64::from(down_after)
        {
            out.push(Episode {
                start_ms: start,
                end_ms: end,
                failures,
                ongoing: false,
            });
        }
    };
    for step in steps {
        match *step {
            ProbeStep::One { ts_ms, ok: true } => close(&mut run, ts_ms),
            ProbeStep::One { ts_ms, ok: false } => {
                let r = run.get_or_insert((ts_ms, ts_ms, 0));
                r.1 = ts_ms;
                r.2 += 1;
            }
            ProbeStep::Minute(m) if m.errors == 0 => {
                if m.count > 0 {
                    close(&mut run, m.ts_ms);
                }
            }
            ProbeStep::Minute(m) => {
                let last = m.ts_ms + ROLLUP_MS - 1;
                let r = run.get_or_insert((m.ts_ms, last, 0));
                r.1 = last;
                r.2 += m.errors;
                if m.errors < m.count {
                    close(&mut run, last);
                }
            }
        }
    }
    if let Some((start, last, failures)) = run
        && failures >= u64::from(down_after)
    {
        out.push(Episode {
            start_ms: start,
            end_ms: last,
            failures,
            ongoing: true,
        });
    }
    out
}

/// A target down [`MIN_DOWN_EPISODES`] times or more in the period.
pub fn target_down(
    id: i64,
    name: &str,
    steps: &[ProbeStep],
    down_after: u32,
    p: Period,
) -> Option<Recommendation> {
    let episodes = down_episodes(steps, down_after);
    if episodes.len() < MIN_DOWN_EPISODES {
        return None;
    }
    let (first, last) = (episodes.first()?, episodes.last()?);
    let failed: u64 = episodes.iter().map(|e| e.failures).sum();
    let longest = episodes
        .iter()
        .map(|e| e.end_ms - e.start_ms)
        .max()
        .unwrap_or(0);
    let (probes, errors) = steps.iter().fold((0u64, 0u64), |(c, e), s| match *s {
        ProbeStep::One { ok, .. } => (c + 1, e + u64::from(!ok)),
        ProbeStep::Minute(m) => (c + m.count, e + m.errors),
    });
    let availability = (probes - errors) as f64 * 100.0 / probes.max(1) as f64;
    let n = episodes.len();
    let mut link = p.link("/");
    link.target = Some(id);
    (link.from, link.to) = p.clamp(first.start_ms - ROLLUP_MS, last.end_ms + ROLLUP_MS);
    let still = if last.ongoing {
        " It was still down at the end."
    } else {
        ""
    };
    Some(finish(
        Draft {
            rule: Rule::TargetDown,
            what: format!("target/{id}"),
            severity: if last.ongoing || n >= 5 {
                Severity::Critical
            } else {
                Severity::Warning
            },
            title: format!("{name} went down {n} times"),
            subject: name.to_owned(),
            detail: format!(
                "Target {name} was down {n} times {} ({down_after} or more failed probes in a row each time, {failed} in all), the longest for {}; availability {} %.{still}",
                p.text(),
                duration(longest),
                fig(availability)
            ),
            evidence: vec![
                ev("down episodes", n as f64, "count"),
                ev("failed probes", failed as f64, "count"),
                ev("longest down", (longest / 1000) as f64, "s"),
                ev("availability", availability, "%"),
            ],
            gain: format!(
                "Finding what the {n} outages have in common (deploys, restarts, a dependency, exhausted resources) removes the repeats; each one avoided saves its users up to {} of errors.",
                duration(longest)
            ),
            link,
        },
        p,
    ))
}

/// A figure of the host's minutes fitted against time in days.
#[derive(Debug, Clone, Copy)]
struct Trend {
    fit: Fit,
    /// The latest minute's value.
    current: f64,
    /// The fitted value at the first and at the latest minute.
    start_fitted: f64,
    end_fitted: f64,
    last_ms: i64,
}

fn trend(minutes: &[HostMinute], y: fn(&HostMinute) -> f64) -> Option<Trend> {
    let (first, last) = (minutes.first()?, minutes.last()?);
    if minutes.len() < MIN_TREND_MINUTES || last.ts_ms - first.ts_ms < MIN_TREND_SPAN_MS {
        return None;
    }
    let days = |ts: i64| (ts - first.ts_ms) as f64 / DAY_MS as f64;
    let points: Vec<(f64, f64, f64)> = minutes
        .iter()
        .map(|m| (days(m.ts_ms), y(m), m.samples as f64))
        .collect();
    let fit = fit(&points)?;
    Some(Trend {
        fit,
        current: y(last),
        start_fitted: fit.intercept,
        end_fitted: fit.intercept + fit.slope * days(last.ts_ms),
        last_ms: last.ts_ms,
    })
}

/// When a line growing `slope` a day from `current` at `at_ms` reaches
/// `limit`: days from then (0 when already there).
fn days_to(current: f64, slope: f64, limit: f64) -> f64 {
    if current >= limit {
        0.0
    } else {
        (limit - current) / slope
    }
}

/// The disk's usage growing at a rate that reaches [`DISK_FULL_PCT`]
/// within [`DISK_HORIZON_DAYS`] (a line fitted to the period's minutes).
pub fn disk_filling(host: &str, minutes: &[HostMinute], p: Period) -> Option<Recommendation> {
    let t = trend(minutes, |m| m.disk)?;
    if t.fit.slope <= 0.0 || t.fit.r2 < DISK_MIN_R2 {
        return None;
    }
    let days = days_to(t.current, t.fit.slope, DISK_FULL_PCT);
    if days > DISK_HORIZON_DAYS {
        return None;
    }
    let when = t.last_ms + (days * DAY_MS as f64) as i64;
    let date = utc(when)[..10].to_owned();
    let name = host_name(host);
    let reach = if days == 0.0 {
        format!("it is past {} % already", fig(DISK_FULL_PCT))
    } else {
        format!(
            "at this rate it reaches {} % around {date} (in {} days)",
            fig(DISK_FULL_PCT),
            fig(days)
        )
    };
    Some(finish(
        Draft {
            rule: Rule::DiskFilling,
            what: "host".into(),
            severity: if days <= 3.0 {
                Severity::Critical
            } else {
                Severity::Warning
            },
            title: if days == 0.0 {
                format!("Disk past {} % and still filling", fig(DISK_FULL_PCT))
            } else {
                format!("Disk full around {date}")
            },
            subject: name.clone(),
            detail: format!(
                "The filesystem of the data directory on {name} went from {} % to {} % {}, {} % a day: {reach}.",
                fig(t.start_fitted),
                fig(t.current),
                p.text(),
                fig(t.fit.slope)
            ),
            evidence: vec![
                ev("disk used", t.current, "%"),
                ev("growth", t.fit.slope, "%/day"),
                ev(&format!("days to {} %", fig(DISK_FULL_PCT)), days, "days"),
                ev("fit r²", t.fit.r2, "ratio"),
            ],
            gain: format!(
                "Freeing space or growing the volume before {date} keeps writes from failing when it fills, Vigie's own measurements included."
            ),
            link: p.link("/"),
        },
        p,
    ))
}

/// Memory in use growing steadily: a line fitting the period's minutes
/// well ([`MEMORY_MIN_R2`]) rising [`MEMORY_MIN_RISE_PCT`] points or more.
pub fn memory_growing(host: &str, minutes: &[HostMinute], p: Period) -> Option<Recommendation> {
    let t = trend(minutes, |m| m.memory)?;
    let rise = t.end_fitted - t.start_fitted;
    if t.fit.slope <= 0.0 || t.fit.r2 < MEMORY_MIN_R2 || rise < MEMORY_MIN_RISE_PCT {
        return None;
    }
    let days = days_to(t.current, t.fit.slope, MEMORY_ALERT_PCT);
    let name = host_name(host);
    let r2 = format!("{:.2}", t.fit.r2);
    let reach = if days == 0.0 {
        format!("it is past {} % already", fig(MEMORY_ALERT_PCT))
    } else {
        format!(
            "at this rate it passes {} % in {} days",
            fig(MEMORY_ALERT_PCT),
            fig(days)
        )
    };
    Some(finish(
        Draft {
            rule: Rule::MemoryGrowing,
            what: "host".into(),
            severity: if days <= 1.0 {
                Severity::Critical
            } else {
                Severity::Warning
            },
            title: "Memory use keeps growing".into(),
            subject: name.clone(),
            detail: format!(
                "Memory in use on {name} rose steadily from {} % to {} % {} ({} % a day, r² {r2}): {reach}.",
                fig(t.start_fitted),
                fig(t.end_fitted),
                p.text(),
                fig(t.fit.slope),
            ),
            evidence: vec![
                ev("memory used", t.current, "%"),
                ev("growth", t.fit.slope, "%/day"),
                ev("rise over the period", rise, "%"),
                ev("fit r²", t.fit.r2, "ratio"),
                ev(&format!("days to {} %", fig(MEMORY_ALERT_PCT)), days, "days"),
            ],
            gain: "Finding what holds on to memory (a leak, an unbounded cache) before it runs out avoids swapping and the out-of-memory killer stopping services.".into(),
            link: p.link("/"),
        },
        p,
    ))
}

/// Most severe first, then by rule and key: the same data, the same order.
pub fn sort(recs: &mut [Recommendation]) {
    recs.sort_by(|a, b| {
        a.severity
            .cmp(&b.severity)
            .then(a.rule.cmp(&b.rule))
            .then_with(|| a.key.cmp(&b.key))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_800_000_000_000;
    const MIN: i64 = 60_000;
    const P: Period = Period {
        from: T0,
        to: T0 + DAY_MS,
    };

    fn cache(id: i64, hits: u64, misses: u64, evictions: u64) -> CacheSourceFigures {
        CacheSourceFigures {
            source_id: id,
            name: format!("redis {id}"),
            hit_rate: (hits + misses > 0).then(|| hits as f64 * 100.0 / (hits + misses) as f64),
            total_hits: hits,
            total_misses: misses,
            evictions,
            expired: 0,
            avg_response_time: Some(0.3),
            max_response_time: Some(1.0),
            used_memory: None,
            maxmemory: None,
            ops_per_sec: None,
            connected_clients: None,
            samples: 10,
            failed_samples: 0,
            restarts: 0,
            last_error: None,
            series: Vec::new(),
        }
    }

    #[test]
    fn a_cache_missing_more_than_it_hits_is_advised_with_its_counts() {
        let sources = [
            cache(1, 30, 70, 12),
            // Enough hits.
            cache(2, 60, 40, 0),
            // Too few lookups to say.
            cache(3, 1, 50, 0),
        ];
        let r = low_cache_hit_rates(&sources, P);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].key, "low_cache_hit_rate:1");
        assert!(
            r[0].detail.contains("30 of 100 lookups") && r[0].detail.contains("12 keys evicted"),
            "{}",
            r[0].detail
        );
        assert_eq!(r[0].evidence[0].value, 30.0);
        assert_eq!(r[0].link.page, "/cache");
    }

    #[test]
    fn a_statement_over_a_second_is_advised_with_its_figures() {
        let q = |hash: &str, mean: f64| SlowQuery {
            source_id: 4,
            source_name: "shop".into(),
            query_hash: hash.into(),
            query_type: vigie_api::QueryType::Select,
            query_text: "SELECT * FROM orders WHERE customer_id = $1".into(),
            execution_count: 10,
            avg_execution_time: mean,
            max_execution_time: mean * 2.0,
            total_time: mean * 10.0,
            time_share: 80.0,
            rows_per_call: 60.0,
            cache_hit_ratio: None,
            optimizations: Vec::new(),
        };
        let r = slow_queries(&[q("7", 1500.0), q("8", 900.0)], P);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].key, "slow_query:4:7");
        assert!(
            r[0].detail.contains("ran 10 times") && r[0].detail.contains("1500 ms"),
            "{}",
            r[0].detail
        );
        // (1500 - 1000) ms × 10 calls.
        assert!(r[0].gain.contains("5 s"), "{}", r[0].gain);
    }

    fn database(tables: Vec<vigie_api::TableScans>, hit: u64, read: u64) -> DatabaseInsights {
        DatabaseInsights {
            source_id: 4,
            source_name: "shop".into(),
            reads: 10,
            watched_from_ms: Some(T0),
            watched_to_ms: Some(T0 + DAY_MS),
            buffer_cache: vigie_api::BufferCache {
                blocks_hit: hit,
                blocks_read: read,
                hit_ratio: (hit + read > 0).then(|| hit as f64 * 100.0 / (hit + read) as f64),
            },
            sequential_scans: tables,
            unused_indexes: vec![vigie_api::UnusedIndex {
                schema: "public".into(),
                table: "events".into(),
                index: "events_note_idx".into(),
                size_bytes: 458_752,
            }],
            advice: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn scans(
        table: &str,
        live_rows: u64,
        seq_scans: u64,
        index_scans: u64,
    ) -> vigie_api::TableScans {
        vigie_api::TableScans {
            schema: "public".into(),
            table: table.into(),
            seq_scans,
            seq_rows_read: seq_scans * live_rows,
            rows_per_scan: live_rows as f64,
            index_scans,
            live_rows,
        }
    }

    #[test]
    fn a_large_table_scanned_sequentially_is_advised_with_its_scans() {
        let db = database(
            vec![
                scans("events", 20_000, 12, 1),
                // Too small; index scans as many.
                scans("kinds", 50, 400, 0),
                scans("orders", 300_000, 15, 15),
            ],
            0,
            0,
        );
        let r = sequential_scans(&db, P);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].key, "sequential_scans:4:public.events");
        assert!(
            r[0].detail.contains("20000 live rows")
                && r[0].detail.contains("12 times")
                && r[0].detail.contains("against 1 index scans"),
            "{}",
            r[0].detail
        );
        assert_eq!(r[0].evidence[0].value, 12.0);
        assert!(r[0].gain.contains("240000 rows"), "{}", r[0].gain);
    }

    #[test]
    fn an_unused_index_is_advised_with_its_size_and_the_time_watched() {
        let r = unused_indexes(&database(Vec::new(), 0, 0), P);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].key, "unused_index:4:public.events_note_idx");
        assert_eq!(r[0].severity, Severity::Info);
        assert!(
            r[0].detail.contains("458752 bytes")
                && r[0].detail.contains("24 h 0 min watched")
                && r[0]
                    .detail
                    .contains("DROP INDEX CONCURRENTLY public.events_note_idx;"),
            "{}",
            r[0].detail
        );
        assert_eq!(r[0].evidence[2].value, 86_400.0);
        let mut unwatched = database(Vec::new(), 0, 0);
        unwatched.watched_from_ms = None;
        assert!(unused_indexes(&unwatched, P).is_empty());
    }

    #[test]
    fn a_buffer_cache_hit_ratio_under_99_percent_is_advised() {
        let r = low_buffer_hit_ratio(&database(Vec::new(), 9_700, 300), P).expect("advised");
        assert_eq!(r.key, "low_buffer_hit_ratio:4");
        assert!(
            r.detail.contains("9700 of 10000 blocks") && r.detail.contains("(97 %"),
            "{}",
            r.detail
        );
        assert!(r.detail.contains("shared_buffers"));
        assert_eq!(r.evidence[0].value, 97.0);
        assert!(low_buffer_hit_ratio(&database(Vec::new(), 9_950, 50), P).is_none());
        assert!(
            low_buffer_hit_ratio(&database(Vec::new(), 10, 90), P).is_none(),
            "too few blocks"
        );
    }

    fn minutes(n: i64, f: impl Fn(i64) -> (f64, f64, f64)) -> Vec<HostMinute> {
        (0..n)
            .map(|i| {
                let (cpu, memory, disk) = f(i);
                HostMinute {
                    ts_ms: T0 + i * MIN,
                    samples: 60,
                    cpu,
                    memory,
                    disk,
                }
            })
            .collect()
    }

    fn value(r: &Recommendation, label: &str) -> f64 {
        r.evidence
            .iter()
            .find(|e| e.label == label)
            .unwrap_or_else(|| panic!("no {label} in {:?}", r.evidence))
            .value
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn a_line_fits_exactly_and_noise_does_not() {
        let line: Vec<_> = (0..10)
            .map(|i| (f64::from(i), 2.0 * f64::from(i) + 1.0, 1.0))
            .collect();
        let f = fit(&line).expect("fit");
        assert!(
            close(f.slope, 2.0) && close(f.intercept, 1.0) && close(f.r2, 1.0),
            "{f:?}"
        );
        // (0,1) (1,3) (2,2) (3,4): mx 1.5, my 2.5, sxx 5, sxy 4, syy 5.
        let pts = [
            (0.0, 1.0, 1.0),
            (1.0, 3.0, 1.0),
            (2.0, 2.0, 1.0),
            (3.0, 4.0, 1.0),
        ];
        let f = fit(&pts).expect("fit");
        assert!(close(f.slope, 0.8), "{f:?}");
        assert!(close(f.intercept, 2.5 - 0.8 * 1.5));
        assert!(close(f.r2, 16.0 / 25.0));
        // A weight of 2 counts as the point twice.
        let weighted = fit(&[(0.0, 0.0, 2.0), (1.0, 1.0, 1.0)]).expect("fit");
        let doubled = fit(&[(0.0, 0.0, 1.0), (0.0, 0.0, 1.0), (1.0, 1.0, 1.0)]).expect("fit");
        assert!(close(weighted.slope, doubled.slope));
        assert_eq!(
            fit(&[(1.0, 2.0, 1.0), (1.0, 3.0, 1.0)]),
            None,
            "one x: no line"
        );
        assert_eq!(fit(&[]), None);
    }

    #[test]
    fn cpu_busy_most_of_the_time_without_scaling_is_recommended() {
        // 100 minutes: 70 at 90 %, 30 at 40 % (the last 20 with 30 samples).
        let mut m = minutes(100, |i| (if i < 70 { 90.0 } else { 40.0 }, 50.0, 10.0));
        for x in &mut m[80..] {
            x.samples = 30;
        }
        let r = cpu_without_scaling("web-1", &m, false, P).expect("recommended");
        // 70×60 busy samples of 70×60 + 10×60 + 20×30.
        let share = 4200.0 * 100.0 / 5400.0;
        assert!(close(value(&r, "CPU above 80 %"), share));
        let mean = (4200.0 * 90.0 + 1200.0 * 40.0) / 5400.0;
        assert!(close(value(&r, "mean CPU"), mean));
        assert_eq!(value(&r, "minutes measured"), 100.0);
        assert_eq!(r.key, "cpu_without_scaling:host");
        assert_eq!(r.severity, Severity::Warning);
        assert_eq!(
            (r.link.page.as_str(), r.link.from, r.link.to),
            ("/", P.from, P.to)
        );
        assert!(
            r.detail.contains("77.8 %") && r.detail.contains("web-1"),
            "{}",
            r.detail
        );
        assert_eq!(
            cpu_without_scaling("web-1", &m, true, P),
            None,
            "scaling exists"
        );
        // Busy 40 % of the time only.
        let m = minutes(100, |i| (if i < 40 { 90.0 } else { 40.0 }, 50.0, 10.0));
        assert_eq!(cpu_without_scaling("web-1", &m, false, P), None);
        // Too little measured to say.
        let m = minutes(9, |_| (99.0, 50.0, 10.0));
        assert_eq!(cpu_without_scaling("web-1", &m, false, P), None);
        let m = minutes(10, |_| (99.0, 50.0, 10.0));
        let r = cpu_without_scaling("", &m, false, P).expect("recommended");
        assert_eq!(
            (r.severity, r.subject.as_str()),
            (Severity::Critical, "this host")
        );
    }

    fn endpoint(endpoint: &str, count: u64, p95: f64) -> EndpointStats {
        EndpointStats {
            service: "shop".into(),
            method: "GET".into(),
            endpoint: endpoint.into(),
            count,
            error_rate: 0.0,
            avg_response_time: p95 / 2.0,
            p50: p95 / 3.0,
            p95,
            p99: p95 * 1.5,
        }
    }

    #[test]
    fn endpoints_slower_than_the_target_with_enough_requests_are_recommended() {
        let list = [
            endpoint("/slow", 20, 750.0),
            endpoint("/very-slow", 400, 2500.0),
            endpoint("/rare", 19, 5000.0),
            endpoint("/at-target", 1000, 500.0),
        ];
        let recs = slow_endpoints(&list, P);
        assert_eq!(recs.len(), 2, "{recs:?}");
        let r = &recs[0];
        assert_eq!(r.key, "slow_endpoint:shop GET /slow");
        assert_eq!(r.severity, Severity::Warning);
        assert_eq!((value(r, "p95"), value(r, "p99")), (750.0, 1125.0));
        assert_eq!(value(r, "requests"), 20.0);
        assert_eq!(r.link.page, "/endpoints");
        assert_eq!(r.link.service.as_deref(), Some("shop"));
        assert_eq!(r.link.endpoint.as_deref(), Some("/slow"));
        assert!(
            r.detail.contains("750 ms") && r.detail.contains("500 ms"),
            "{}",
            r.detail
        );
        assert!(r.gain.contains("250 ms"), "{}", r.gain);
        assert_eq!(recs[1].severity, Severity::Critical, "p95 past 2000 ms");
    }

    fn minute(i: i64, count: u64, errors: u64) -> Minute {
        Minute {
            ts_ms: T0 + i * MIN,
            count,
            errors,
        }
    }

    #[test]
    fn errors_over_the_period_or_in_one_minute_are_recommended() {
        let shop = Subject::Service("shop".into());
        // 10 minutes of 10 requests, one failure each: 10 % over the period.
        let spread: Vec<Minute> = (0..10).map(|i| minute(i, 10, 1)).collect();
        let r = error_burst(&shop, &spread, P).expect("recommended");
        assert_eq!(r.key, "error_burst:service/shop");
        assert_eq!(r.severity, Severity::Critical);
        assert_eq!(
            (value(&r, "failures"), value(&r, "requests")),
            (10.0, 100.0)
        );
        assert!(close(value(&r, "error rate"), 10.0));
        assert_eq!(value(&r, "worst minute failures"), 1.0);
        assert_eq!(
            (r.link.page.as_str(), r.link.from, r.link.to),
            ("/endpoints", P.from, P.to)
        );
        assert_eq!(r.link.service.as_deref(), Some("shop"));
        // The same failures among 300 requests: 3.3 %, no minute with 5.
        let mut diluted = spread.clone();
        diluted.extend((10..30).map(|i| minute(i, 10, 0)));
        assert_eq!(error_burst(&shop, &diluted, P), None);
        // 6 failures in minute 100 of a day of 1000 requests a minute: a burst.
        let mut busy: Vec<Minute> = (0..1440).map(|i| minute(i, 1000, 0)).collect();
        busy[100] = minute(100, 60, 6);
        let target = Subject::Target {
            id: 3,
            name: "api".into(),
        };
        let r = error_burst(&target, &busy, P).expect("a burst");
        assert_eq!(r.key, "error_burst:target/3");
        assert_eq!(r.severity, Severity::Warning);
        assert_eq!(value(&r, "probes"), 1439.0 * 1000.0 + 60.0);
        assert_eq!(value(&r, "worst minute failures"), 6.0);
        assert!(close(value(&r, "worst minute error rate"), 10.0));
        assert_eq!(
            (r.link.page.as_str(), r.link.target, r.link.from, r.link.to),
            ("/", Some(3), T0 + 95 * MIN, T0 + 106 * MIN),
            "the chart around the burst"
        );
        // Four failures are too few, whatever the rate.
        assert_eq!(error_burst(&target, &[minute(0, 4, 4)], P), None);
        assert_eq!(error_burst(&target, &[], P), None);
    }

    fn one(s: i64, ok: bool) -> ProbeStep {
        ProbeStep::One {
            ts_ms: T0 + s * 1000,
            ok,
        }
    }

    /// Probes one a second from `T0`: `x` failed, `.` succeeded.
    fn probes(pattern: &str) -> Vec<ProbeStep> {
        pattern
            .chars()
            .enumerate()
            .map(|(i, c)| one(i as i64, c == '.'))
            .collect()
    }

    #[test]
    fn down_episodes_are_runs_of_failures_ended_by_a_success() {
        let eps = down_episodes(&probes("..xx..x..xxx.x"), 2);
        assert_eq!(
            eps,
            vec![
                Episode {
                    start_ms: T0 + 2000,
                    end_ms: T0 + 4000,
                    failures: 2,
                    ongoing: false
                },
                Episode {
                    start_ms: T0 + 9000,
                    end_ms: T0 + 12_000,
                    failures: 3,
                    ongoing: false
                },
            ],
            "a single failure is not down"
        );
        assert_eq!(down_episodes(&probes("..xx..x..xxx.x"), 1).len(), 4);
        let eps = down_episodes(&probes(".xx.xxx"), 2);
        assert_eq!(eps.len(), 2);
        assert_eq!(
            eps[1],
            Episode {
                start_ms: T0 + 4000,
                end_ms: T0 + 6000,
                failures: 3,
                ongoing: true
            }
        );
        // Minutes of counts: all failed continues, a success ends.
        let steps = [
            ProbeStep::Minute(minute(0, 60, 0)),
            ProbeStep::Minute(minute(1, 60, 60)),
            ProbeStep::Minute(minute(2, 60, 10)),
            ProbeStep::Minute(minute(3, 60, 0)),
            ProbeStep::Minute(minute(4, 60, 30)),
            one(5 * 60, true),
        ];
        let eps = down_episodes(&steps, 3);
        assert_eq!(
            eps,
            vec![
                Episode {
                    start_ms: T0 + MIN,
                    end_ms: T0 + 3 * MIN - 1,
                    failures: 70,
                    ongoing: false
                },
                Episode {
                    start_ms: T0 + 4 * MIN,
                    end_ms: T0 + 5 * MIN - 1,
                    failures: 30,
                    ongoing: false
                },
            ]
        );
    }

    #[test]
    fn a_target_down_twice_is_recommended_and_once_is_not() {
        let steps = probes("....xxx...xx......");
        let r = target_down(4, "api", &steps, 2, P).expect("recommended");
        assert_eq!(r.key, "target_down:target/4");
        assert_eq!(r.severity, Severity::Warning);
        assert_eq!(value(&r, "down episodes"), 2.0);
        assert_eq!(value(&r, "failed probes"), 5.0);
        assert_eq!(value(&r, "longest down"), 3.0, "4 s to 7 s");
        assert!(close(value(&r, "availability"), 13.0 * 100.0 / 18.0));
        assert_eq!(
            (r.link.page.as_str(), r.link.target, r.link.from, r.link.to),
            ("/", Some(4), T0, T0 + 12_000 + MIN)
        );
        assert!(r.detail.contains("down 2 times"), "{}", r.detail);
        assert_eq!(
            target_down(4, "api", &probes("....xxx......x."), 2, P),
            None
        );
        let r = target_down(4, "api", &probes(".xx.xx"), 2, P).expect("down at the end");
        assert_eq!(r.severity, Severity::Critical);
        assert!(r.detail.contains("still down"), "{}", r.detail);
    }

    #[test]
    fn a_disk_filling_within_two_weeks_is_recommended_with_its_date() {
        // Two days, 50 % growing 5 points a day: 60 % at the end, 90 % 6 days later.
        let day_minutes = 2 * 1440;
        let m = minutes(day_minutes + 1, |i| {
            (10.0, 40.0, 50.0 + 5.0 * (i as f64) / 1440.0)
        });
        let r = disk_filling("web-1", &m, P).expect("recommended");
        assert!(close(value(&r, "growth"), 5.0));
        assert!(close(value(&r, "disk used"), 60.0));
        assert!(close(value(&r, "days to 90 %"), 6.0));
        assert!(close(value(&r, "fit r²"), 1.0));
        let full = T0 + 2 * DAY_MS + 6 * DAY_MS;
        assert!(r.title.contains(&utc(full)[..10]), "{}", r.title);
        assert!(r.detail.contains("in 6 days"), "{}", r.detail);
        assert_eq!(r.severity, Severity::Warning);
        // 1 point a day: 30 days to go.
        let slow = minutes(day_minutes + 1, |i| {
            (10.0, 40.0, 58.0 + (i as f64) / 1440.0)
        });
        assert_eq!(disk_filling("web-1", &slow, P), None);
        // Shrinking, or under an hour of samples: nothing to say.
        let shrinking = minutes(day_minutes, |i| (10.0, 40.0, 80.0 - (i as f64) / 1440.0));
        assert_eq!(disk_filling("web-1", &shrinking, P), None);
        let short = minutes(59, |i| (10.0, 40.0, 50.0 + i as f64));
        assert_eq!(disk_filling("web-1", &short, P), None);
        // Already past 90 % and growing: critical, no days left.
        let past = minutes(120, |i| (10.0, 40.0, 91.0 + (i as f64) / 1440.0));
        let r = disk_filling("web-1", &past, P).expect("recommended");
        assert_eq!(
            (r.severity, value(&r, "days to 90 %")),
            (Severity::Critical, 0.0)
        );
    }

    #[test]
    fn memory_growing_steadily_is_recommended_and_noise_is_not() {
        // 12 h from 40 %, +20 points a day: 50 % at the end; 35 % to go → 1.75 days.
        let m = minutes(721, |i| (10.0, 40.0 + 20.0 * (i as f64) / 1440.0, 50.0));
        let r = memory_growing("web-1", &m, P).expect("recommended");
        assert!(close(value(&r, "growth"), 20.0));
        assert!(close(value(&r, "rise over the period"), 10.0));
        assert!(close(value(&r, "days to 85 %"), 1.75));
        assert_eq!(
            (r.severity, r.key.as_str()),
            (Severity::Warning, "memory_growing:host")
        );
        // The same rise hidden in noise of ±15 points: a poor fit.
        let noisy = minutes(721, |i| {
            let wobble = if i % 2 == 0 { 15.0 } else { -15.0 };
            (10.0, 40.0 + 20.0 * (i as f64) / 1440.0 + wobble, 50.0)
        });
        assert_eq!(memory_growing("web-1", &noisy, P), None);
        // A good fit rising 2 points only.
        let flat = minutes(721, |i| (10.0, 40.0 + 4.0 * (i as f64) / 1440.0, 50.0));
        assert_eq!(memory_growing("web-1", &flat, P), None);
    }

    #[test]
    fn the_most_severe_come_first() {
        let list = [
            endpoint("/b", 100, 700.0),
            endpoint("/a", 100, 3000.0),
            endpoint("/c", 100, 600.0),
        ];
        let mut recs = slow_endpoints(&list, P);
        recs.extend(target_down(1, "x", &probes(".xx.xx"), 2, P));
        sort(&mut recs);
        let keys: Vec<&str> = recs.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "slow_endpoint:shop GET /a",
                "target_down:target/1",
                "slow_endpoint:shop GET /b",
                "slow_endpoint:shop GET /c"
            ]
        );
    }
}
