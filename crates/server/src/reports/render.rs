//! A report's content as files: one self-contained HTML page (inline
//! styles, charts drawn as SVG by `vigie-charts`, the same drawing code as
//! the dashboard's canvas; no font or script fetched, so it opens offline
//! and prints to PDF without a chart or a row cut in half), CSV (one block
//! per table, text cells a spreadsheet would run as formulas escaped) and
//! JSON.

use std::fmt::Write as _;

use plotters::prelude::*;
use vigie_api::{ReportContent, ReportKpis, ReportSeries, sli};
use vigie_charts::{Series, Theme, TimeChart};

const CHART_SIZE: (u32, u32) = (900, 260);
const COLOURS: [RGBColor; 6] = [
    RGBColor(0x25, 0x63, 0xeb),
    RGBColor(0xdc, 0x26, 0x26),
    RGBColor(0x16, 0xa3, 0x4a),
    RGBColor(0xd9, 0x77, 0x06),
    RGBColor(0x7c, 0x3a, 0xed),
    RGBColor(0x0e, 0x74, 0x90),
];

/// UTC time as `2026-12-02 18:05`.
pub fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60
    )
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn num(v: Option<f64>, unit: &str) -> String {
    v.map_or_else(
        || "—".to_owned(),
        |v| format!("{} {unit}", vigie_charts::format_value(v)),
    )
}

/// One chart of `series` (same unit) as an SVG element.
pub fn chart_svg(title: &str, series: &[&ReportSeries], (from, to): (i64, i64)) -> String {
    let max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(0.0_f64, f64::max);
    let unit = series.first().map_or("", |s| s.unit.as_str());
    let top = if unit == "%" {
        100.0
    } else {
        (max * 1.1).max(1.0)
    };
    let label = |t: i64| utc(t)[5..].to_owned();
    let chart = TimeChart {
        x_range: from..to.max(from + 1),
        y_range: 0.0..top,
        y_unit: if unit == "%" { " %" } else { " ms" },
        scale: 1.0,
        theme: Theme::LIGHT,
        gap_ms: ((to - from) / 50).max(60_000),
        x_label: &label,
        decimal_comma: false,
    };
    let lines: Vec<Series<'_>> = series
        .iter()
        .enumerate()
        .map(|(i, s)| Series {
            name: &s.name,
            color: COLOURS[i % COLOURS.len()],
            points: &s.points,
        })
        .collect();
    let mut svg = String::new();
    let drawn = {
        let root = SVGBackend::with_string(&mut svg, CHART_SIZE).into_drawing_area();
        chart.draw(&root, &lines)
    };
    if let Err(e) = drawn {
        return format!("<p class=\"note\">{}</p>", esc(&e.to_string()));
    }
    let legend: String = series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let RGBColor(r, g, b) = COLOURS[i % COLOURS.len()];
            format!(
                "<span><i style=\"background:#{r:02x}{g:02x}{b:02x}\"></i>{}</span>",
                esc(&s.name)
            )
        })
        .collect();
    format!(
        "<figure><figcaption>{}</figcaption>{svg}<div class=\"legend\">{legend}</div></figure>",
        esc(title)
    )
}

fn kpi_rows(kpis: &[ReportKpis]) -> String {
    let mut rows = String::new();
    for k in kpis {
        let ok = match k.meets_sli {
            Some(true) => "<td class=\"ok\">met</td>",
            Some(false) => "<td class=\"bad\">missed</td>",
            None => "<td>no data</td>",
        };
        let _ = write!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>{ok}</tr>",
            esc(&k.kind),
            esc(&k.name),
            k.count,
            num(k.availability, "%"),
            num(k.error_rate, "%"),
            num(k.p95, "ms"),
            num(k.p99, "ms"),
            num(k.error_budget_used_pct, "%"),
            num(k.error_budget_used_pct.map(|u| (100.0 - u).max(0.0)), "%"),
        );
    }
    rows
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2937;margin:24px;max-width:960px}\
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}\
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:4px 6px;border-bottom:1px solid #e5e7eb;overflow-wrap:anywhere}\
th{background:#f3f4f6}td.ok{color:#15803d}td.bad{color:#b91c1c;font-weight:600}.note{color:#6b7280}\
figure{margin:12px 0}figcaption{font-weight:600;font-size:14px;margin-bottom:4px}svg{max-width:100%;height:auto}\
.legend span{margin-right:14px;font-size:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}\
figure,tr,.kpi{break-inside:avoid;page-break-inside:avoid}thead{display:table-header-group}\
@media print{body{margin:0}h2{break-after:avoid}}";

/// The report as one HTML page.
pub fn html(c: &ReportContent) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Vigie report {}</title><style>{STYLE}</style></head><body>\
         <h1>Performance report</h1><p class=\"note\">{} – {} UTC · generated {} UTC · SLI targets: availability ≥ {} %, p95 ≤ {} ms, p99 ≤ {} ms</p>",
        c.id,
        utc(c.from),
        utc(c.to),
        utc(c.generated_at),
        sli::AVAILABILITY_PCT,
        sli::P95_MS,
        sli::P99_MS
    );
    for n in &c.notes {
        let _ = write!(out, "<p class=\"note\">{}</p>", esc(n));
    }
    use vigie_api::ReportSection as S;
    if c.sections.contains(&S::Summary) {
        let _ = write!(
            out,
            "<h2>Summary</h2><table><thead><tr><th>kind</th><th>name</th><th>count</th><th>availability</th><th>error rate</th><th>p95</th><th>p99</th><th>error budget used</th><th>left</th><th>SLI</th></tr></thead><tbody>{}</tbody></table>",
            kpi_rows(&c.kpis)
        );
    }
    let period = (c.from, c.to);
    if c.sections.contains(&S::ResponseTimes) {
        out.push_str("<h2>Response times</h2>");
        let ms: Vec<&ReportSeries> = c.series.iter().filter(|s| s.unit == "ms").collect();
        if ms.is_empty() {
            out.push_str("<p class=\"note\">No response time was measured in this period.</p>");
        }
        for chunk in ms.chunks(COLOURS.len()) {
            out.push_str(&chart_svg("p95 response time", chunk, period));
        }
    }
    if c.sections.contains(&S::Resources) {
        out.push_str("<h2>Resources</h2>");
        let pct: Vec<&ReportSeries> = c.series.iter().filter(|s| s.unit == "%").collect();
        if pct.is_empty() {
            out.push_str("<p class=\"note\">No host sample in this period.</p>");
        } else {
            out.push_str(&chart_svg("This host's CPU and memory", &pct, period));
        }
    }
    if !c.cache.is_empty() {
        cache(&mut out, &c.cache);
    }
    if let Some(slow) = &c.slow_queries {
        slow_queries(&mut out, slow);
    }
    if c.sections.contains(&S::Endpoints) {
        out.push_str("<h2>Worst endpoints (by p95)</h2>");
        if c.worst_endpoints.is_empty() {
            out.push_str("<p class=\"note\">No ingested request in this period.</p>");
        } else {
            out.push_str("<table><thead><tr><th>service</th><th>method</th><th>endpoint</th><th>requests</th><th>error rate</th><th>p95</th><th>p99</th></tr></thead><tbody>");
            for e in &c.worst_endpoints {
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&e.service),
                    esc(&e.method),
                    esc(&e.endpoint),
                    e.count,
                    num(Some(e.error_rate), "%"),
                    num(Some(e.p95), "ms"),
                    num(Some(e.p99), "ms")
                );
            }
            out.push_str("</tbody></table>");
        }
    }
    if c.sections.contains(&S::Alerts) {
        out.push_str("<h2>Alerts</h2>");
        if c.alerts.is_empty() {
            out.push_str("<p class=\"note\">No alert fired in this period.</p>");
        } else {
            out.push_str("<table><thead><tr><th>alert</th><th>severity</th><th>started</th><th>resolved</th><th>duration</th><th>acknowledged by</th><th>resolution</th></tr></thead><tbody>");
            for a in &c.alerts {
                let end = a.resolved_at.unwrap_or(c.to);
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&a.title),
                    a.severity.as_str(),
                    utc(a.started_at),
                    a.resolved_at.map_or_else(|| "open".to_owned(), utc),
                    duration(end - a.started_at),
                    esc(a.acknowledged_by.as_deref().unwrap_or("—")),
                    esc(&resolution(a))
                );
            }
            out.push_str("</tbody></table>");
        }
    }
    if c.sections.contains(&S::Scaling) {
        out.push_str("<h2>Scaling actions</h2>");
        if c.scaling_actions.is_empty() {
            out.push_str("<p class=\"note\">No scaling action in this period.</p>");
        } else {
            out.push_str("<table><thead><tr><th>when</th><th>configuration</th><th>before → after</th><th>by</th><th>reason</th><th>outcome</th></tr></thead><tbody>");
            for a in &c.scaling_actions {
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td>{} → {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    utc(a.started_at),
                    esc(&a.configuration_name),
                    a.before.map_or("?".into(), |b| b.to_string()),
                    a.after.map_or("?".into(), |b| b.to_string()),
                    esc(&a.actor),
                    esc(&a.reason),
                    a.outcome.as_str()
                );
            }
            out.push_str("</tbody></table>");
        }
    }
    if c.sections.contains(&S::Recommendations) {
        out.push_str("<h2>Recommendations</h2>");
        recommendations(&mut out, &c.recommendations);
    }
    out.push_str("</body></html>\n");
    out
}

fn cache(out: &mut String, sources: &[vigie_api::CacheSourceFigures]) {
    out.push_str("<h2>Cache</h2><table><thead><tr><th>source</th><th>hit rate</th><th>hits</th><th>misses</th><th>evictions</th><th>mean latency</th><th>max latency</th><th>samples (failed)</th></tr></thead><tbody>");
    for f in sources {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} ({})</td></tr>",
            esc(&f.name),
            num(f.hit_rate, "%"),
            f.total_hits,
            f.total_misses,
            f.evictions,
            num(f.avg_response_time, "ms"),
            num(f.max_response_time, "ms"),
            f.samples,
            f.failed_samples
        );
    }
    out.push_str("</tbody></table>");
}

fn slow_queries(out: &mut String, slow: &vigie_api::SlowQueryList) {
    out.push_str("<h2>Slow queries</h2>");
    if slow.queries.is_empty() {
        let _ = write!(
            out,
            "<p class=\"note\">No statement's mean reached {} ms in this period.</p>",
            vigie_charts::format_value(slow.threshold_ms)
        );
        return;
    }
    out.push_str("<table><thead><tr><th>database</th><th>statement</th><th>calls</th><th>mean</th><th>total</th><th>share of time</th><th>advice</th></tr></thead><tbody>");
    for q in &slow.queries {
        let advice: Vec<String> = q
            .optimizations
            .iter()
            .map(|o| {
                let sql = o
                    .sql
                    .as_deref()
                    .map_or_else(String::new, |sql| format!("<br><code>{}</code>", esc(sql)));
                format!("<b>{}</b><br>{}{sql}", esc(&o.title), esc(&o.evidence))
            })
            .collect();
        let _ = write!(
            out,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&q.source_name),
            esc(&q.query_text),
            q.execution_count,
            num(Some(q.avg_execution_time), "ms"),
            num(Some(q.total_time), "ms"),
            num(Some(q.time_share), "%"),
            if advice.is_empty() {
                "—".to_owned()
            } else {
                advice.join("<br>")
            }
        );
    }
    out.push_str("</tbody></table>");
}

/// A figure of a recommendation's evidence with its unit.
fn evidence_value(e: &vigie_api::Evidence) -> String {
    match e.unit.as_str() {
        "count" => format!("{}", e.value),
        "ratio" => format!("{:.2}", e.value),
        unit => num(Some(e.value), unit),
    }
}

fn recommendations(out: &mut String, recs: &[vigie_api::Recommendation]) {
    if recs.is_empty() {
        out.push_str(
            "<p class=\"note\">No recommendation: no rule's condition held in this period.</p>",
        );
        return;
    }
    out.push_str("<table><thead><tr><th>severity</th><th>recommendation</th><th>evidence</th><th>expected gain</th></tr></thead><tbody>");
    for r in recs {
        let class = match r.severity {
            vigie_api::RecommendationSeverity::Critical => " class=\"bad\"",
            _ => "",
        };
        let evidence: Vec<String> = r
            .evidence
            .iter()
            .map(|e| format!("{}: {}", esc(&e.label), esc(&evidence_value(e))))
            .collect();
        let _ = write!(
            out,
            "<tr><td{class}>{}</td><td><b>{}</b><br>{}</td><td>{}</td><td>{}</td></tr>",
            r.severity.as_str(),
            esc(&r.title),
            esc(&r.detail),
            evidence.join("<br>"),
            esc(&r.gain)
        );
    }
    out.push_str("</tbody></table>");
}

fn query_type(q: vigie_api::QueryType) -> &'static str {
    use vigie_api::QueryType as Q;
    match q {
        Q::Select => "select",
        Q::Insert => "insert",
        Q::Update => "update",
        Q::Delete => "delete",
        Q::Other => "other",
    }
}

fn resolution(a: &vigie_api::Alert) -> String {
    match (&a.resolved_by, &a.note) {
        (Some(by), Some(note)) => format!("{by}: {note}"),
        (Some(by), None) => by.clone(),
        _ => String::new(),
    }
}

/// A duration as `42 s`, `3 min 5 s` or `2 h 10 min`.
pub fn duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

/// A CSV cell: numbers as they are, text quoted when needed and, when a
/// spreadsheet would read it as a formula (`=`, `+`, `-`, `@`, tab, CR
/// first), prefixed with `'`.
#[derive(Debug, Clone)]
pub enum Cell {
    Num(Option<f64>),
    Int(i64),
    Text(String),
}

fn cell(c: &Cell) -> String {
    match c {
        Cell::Num(Some(v)) => format!("{v}"),
        Cell::Num(None) => String::new(),
        Cell::Int(v) => v.to_string(),
        Cell::Text(t) => {
            let t = if t.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                format!("'{t}")
            } else {
                t.clone()
            };
            if t.contains([',', '"', '\n', '\r']) || t.starts_with(' ') {
                format!("\"{}\"", t.replace('"', "\"\""))
            } else {
                t
            }
        }
    }
}

fn block(
    out: &mut String,
    title: &str,
    header: &[&str],
    rows: impl IntoIterator<Item = Vec<Cell>>,
) {
    let _ = writeln!(out, "{}", cell(&Cell::Text(format!("# {title}"))));
    out.push_str(&header.join(","));
    out.push_str("\r\n");
    for row in rows {
        let line: Vec<String> = row.iter().map(cell).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
}

/// The report as CSV: one block per table, each with its header row.
pub fn csv(c: &ReportContent) -> String {
    let t = |s: &str| Cell::Text(s.to_owned());
    let mut out = String::from("\u{feff}");
    block(
        &mut out,
        "kpis",
        &[
            "kind",
            "name",
            "count",
            "availability_pct",
            "error_rate_pct",
            "avg_ms",
            "p95_ms",
            "p99_ms",
            "error_budget",
            "error_budget_used_pct",
            "meets_sli",
        ],
        c.kpis.iter().map(|k| {
            vec![
                t(&k.kind),
                t(&k.name),
                Cell::Int(k.count as i64),
                Cell::Num(k.availability),
                Cell::Num(k.error_rate),
                Cell::Num(k.avg_response_time),
                Cell::Num(k.p95),
                Cell::Num(k.p99),
                Cell::Num(k.error_budget),
                Cell::Num(k.error_budget_used_pct),
                t(k.meets_sli.map_or("", |m| if m { "yes" } else { "no" })),
            ]
        }),
    );
    block(
        &mut out,
        "series",
        &["series", "unit", "ts_ms", "utc", "value"],
        c.series.iter().flat_map(|s| {
            s.points.iter().map(move |&(ts, v)| {
                vec![
                    t(&s.name),
                    t(&s.unit),
                    Cell::Int(ts),
                    t(&utc(ts)),
                    Cell::Num(Some(v)),
                ]
            })
        }),
    );
    if !c.cache.is_empty() {
        block(
            &mut out,
            "cache",
            &[
                "source",
                "hit_rate_pct",
                "hits",
                "misses",
                "evictions",
                "expired",
                "avg_latency_ms",
                "max_latency_ms",
                "samples",
                "failed_samples",
                "restarts",
            ],
            c.cache.iter().map(|f| {
                vec![
                    t(&f.name),
                    Cell::Num(f.hit_rate),
                    Cell::Int(f.total_hits as i64),
                    Cell::Int(f.total_misses as i64),
                    Cell::Int(f.evictions as i64),
                    Cell::Int(f.expired as i64),
                    Cell::Num(f.avg_response_time),
                    Cell::Num(f.max_response_time),
                    Cell::Int(f.samples as i64),
                    Cell::Int(f.failed_samples as i64),
                    Cell::Int(f.restarts as i64),
                ]
            }),
        );
    }
    if let Some(slow) = &c.slow_queries {
        block(
            &mut out,
            "slow_queries",
            &[
                "source",
                "query_hash",
                "query_type",
                "query",
                "calls",
                "avg_ms",
                "max_ms",
                "total_ms",
                "time_share_pct",
                "rows_per_call",
                "cache_hit_ratio_pct",
            ],
            slow.queries.iter().map(|q| {
                vec![
                    t(&q.source_name),
                    t(&q.query_hash),
                    t(query_type(q.query_type)),
                    t(&q.query_text),
                    Cell::Int(q.execution_count as i64),
                    Cell::Num(Some(q.avg_execution_time)),
                    Cell::Num(Some(q.max_execution_time)),
                    Cell::Num(Some(q.total_time)),
                    Cell::Num(Some(q.time_share)),
                    Cell::Num(Some(q.rows_per_call)),
                    Cell::Num(q.cache_hit_ratio),
                ]
            }),
        );
        block(
            &mut out,
            "slow_query_advice",
            &["source", "query_hash", "title", "evidence", "sql"],
            slow.queries.iter().flat_map(|q| {
                q.optimizations.iter().map(move |o| {
                    vec![
                        t(&q.source_name),
                        t(&q.query_hash),
                        t(&o.title),
                        t(&o.evidence),
                        t(o.sql.as_deref().unwrap_or("")),
                    ]
                })
            }),
        );
    }
    block(
        &mut out,
        "worst_endpoints",
        &[
            "service",
            "method",
            "endpoint",
            "count",
            "error_rate_pct",
            "p95_ms",
            "p99_ms",
        ],
        c.worst_endpoints.iter().map(|e| {
            vec![
                t(&e.service),
                t(&e.method),
                t(&e.endpoint),
                Cell::Int(e.count as i64),
                Cell::Num(Some(e.error_rate)),
                Cell::Num(Some(e.p95)),
                Cell::Num(Some(e.p99)),
            ]
        }),
    );
    block(
        &mut out,
        "alerts",
        &[
            "title",
            "severity",
            "started_utc",
            "resolved_utc",
            "duration_s",
            "acknowledged_by",
            "resolution",
        ],
        c.alerts.iter().map(|a| {
            vec![
                t(&a.title),
                t(a.severity.as_str()),
                t(&utc(a.started_at)),
                t(&a.resolved_at.map(utc).unwrap_or_default()),
                Cell::Int((a.resolved_at.unwrap_or(c.to) - a.started_at) / 1000),
                t(a.acknowledged_by.as_deref().unwrap_or("")),
                t(&resolution(a)),
            ]
        }),
    );
    block(
        &mut out,
        "scaling_actions",
        &[
            "started_utc",
            "configuration",
            "before",
            "after",
            "actor",
            "reason",
            "outcome",
        ],
        c.scaling_actions.iter().map(|a| {
            vec![
                t(&utc(a.started_at)),
                t(&a.configuration_name),
                Cell::Num(a.before.map(f64::from)),
                Cell::Num(a.after.map(f64::from)),
                t(&a.actor),
                t(&a.reason),
                t(a.outcome.as_str()),
            ]
        }),
    );
    block(
        &mut out,
        "recommendations",
        &[
            "severity",
            "rule",
            "key",
            "subject",
            "title",
            "detail",
            "gain",
            "from_utc",
            "to_utc",
            "page",
            "link_from_ms",
            "link_to_ms",
            "target",
            "service",
            "endpoint",
        ],
        c.recommendations.iter().map(|r| {
            vec![
                t(r.severity.as_str()),
                t(r.rule.as_str()),
                t(&r.key),
                t(&r.subject),
                t(&r.title),
                t(&r.detail),
                t(&r.gain),
                t(&utc(r.from)),
                t(&utc(r.to)),
                t(&r.link.page),
                Cell::Int(r.link.from),
                Cell::Int(r.link.to),
                Cell::Num(r.link.target.map(|id| id as f64)),
                t(r.link.service.as_deref().unwrap_or("")),
                t(r.link.endpoint.as_deref().unwrap_or("")),
            ]
        }),
    );
    block(
        &mut out,
        "recommendation_evidence",
        &["key", "label", "value", "unit"],
        c.recommendations.iter().flat_map(|r| {
            r.evidence
                .iter()
                .map(move |e| vec![t(&r.key), t(&e.label), Cell::Num(Some(e.value)), t(&e.unit)])
        }),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates_are_civil_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00");
        // 2026-12-02 18:05 UTC: 20,789 days after 1970-01-01 (Python datetime).
        assert_eq!(
            utc((20_789 * 86_400 + 18 * 3600 + 5 * 60) * 1000),
            "2026-12-02 18:05"
        );
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00");
    }

    #[test]
    fn formula_cells_are_escaped_and_numbers_are_not() {
        for (text, want) in [
            ("=1+1", "'=1+1"),
            ("+33 6", "'+33 6"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "\"'\rx\""),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("plain", "plain"),
        ] {
            assert_eq!(cell(&Cell::Text(text.into())), want, "{text:?}");
        }
        assert_eq!(cell(&Cell::Num(Some(-2.5))), "-2.5");
        assert_eq!(cell(&Cell::Int(-3)), "-3");
    }

    #[test]
    fn recommendations_are_a_section_and_two_csv_blocks_escaped() {
        use vigie_api::{
            ChartLink, Evidence, Recommendation, RecommendationRule, RecommendationSeverity,
            ReportSection,
        };
        let rec = Recommendation {
            key: "slow_endpoint:=evil() GET /<x>".into(),
            rule: RecommendationRule::SlowEndpoint,
            severity: RecommendationSeverity::Critical,
            title: "Slow endpoint GET /<x>".into(),
            subject: "=evil() GET /<x>".into(),
            detail: "=evil() GET /<x> answered 40 requests, p95 2500 ms.".into(),
            evidence: vec![Evidence {
                label: "p95".into(),
                value: 2500.0,
                unit: "ms".into(),
            }],
            gain: "-2000 ms".into(),
            from: 0,
            to: 60_000,
            link: ChartLink {
                page: "/endpoints".into(),
                from: 0,
                to: 60_000,
                target: None,
                service: Some("=evil()".into()),
                endpoint: Some("/<x>".into()),
            },
        };
        let content = ReportContent {
            id: 1,
            from: 0,
            to: 60_000,
            generated_at: 60_000,
            sections: vec![ReportSection::Recommendations],
            kpis: Vec::new(),
            series: Vec::new(),
            worst_endpoints: Vec::new(),
            alerts: Vec::new(),
            scaling_actions: Vec::new(),
            recommendations: vec![rec],
            cache: Vec::new(),
            slow_queries: None,
            notes: Vec::new(),
        };
        let page = html(&content);
        assert!(page.contains("<h2>Recommendations</h2>"));
        assert!(
            page.contains("<td class=\"bad\">critical</td><td><b>Slow endpoint GET /&lt;x&gt;</b>")
        );
        assert!(page.contains("p95: 2500 ms"));
        assert!(!page.contains("/<x>"), "text escaped");
        let text = csv(&content);
        assert!(text.contains(
            "critical,slow_endpoint,slow_endpoint:=evil() GET /<x>,'=evil() GET /<x>,Slow endpoint GET /<x>,"
        ));
        assert!(
            text.contains(",'-2000 ms,"),
            "a gain read as a formula is escaped"
        );
        assert!(text.contains(",/endpoints,0,60000,,'=evil(),/<x>\r\n"));
        assert!(text.contains("slow_endpoint:=evil() GET /<x>,p95,2500,ms\r\n"));
        assert!(!text.contains(",=evil()"), "never as a formula");
        let none = ReportContent {
            recommendations: Vec::new(),
            ..content
        };
        assert!(html(&none).contains("No recommendation"));
    }

    #[test]
    fn cache_and_slow_query_sections_show_only_with_their_sources_escaped() {
        use vigie_api::{
            CacheSourceFigures, Optimization, QueryType, ReportSection, SlowQuery, SlowQueryList,
        };
        let empty = ReportContent {
            id: 1,
            from: 0,
            to: 60_000,
            generated_at: 60_000,
            sections: vec![ReportSection::Cache, ReportSection::SlowQueries],
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
        assert!(!html(&empty).contains("<h2>Cache") && !html(&empty).contains("<h2>Slow"));
        assert!(!csv(&empty).contains("# cache") && !csv(&empty).contains("# slow"));
        let figures = CacheSourceFigures {
            source_id: 1,
            name: "=<sessions>".into(),
            hit_rate: Some(75.0),
            total_hits: 30,
            total_misses: 10,
            evictions: 2,
            expired: 0,
            avg_response_time: Some(0.5),
            max_response_time: Some(1.5),
            used_memory: None,
            maxmemory: None,
            ops_per_sec: None,
            connected_clients: None,
            samples: 4,
            failed_samples: 1,
            restarts: 0,
            last_error: None,
            series: Vec::new(),
        };
        let query = SlowQuery {
            source_id: 2,
            source_name: "shop".into(),
            query_hash: "7".into(),
            query_type: QueryType::Select,
            query_text: "SELECT * FROM t WHERE a < $1".into(),
            execution_count: 3,
            avg_execution_time: 1500.0,
            max_execution_time: 2000.0,
            total_time: 4500.0,
            time_share: 90.0,
            rows_per_call: 1.0,
            cache_hit_ratio: Some(100.0),
            optimizations: vec![Optimization {
                title: "Index public.t on a".into(),
                evidence: "reads all of public.t".into(),
                sql: Some("CREATE INDEX CONCURRENTLY ON public.t (a);".into()),
            }],
        };
        let slow = |queries| SlowQueryList {
            from_ms: 0,
            to_ms: 60_000,
            threshold_ms: 1000.0,
            queries,
        };
        let full = ReportContent {
            cache: vec![figures],
            slow_queries: Some(slow(vec![query])),
            ..empty.clone()
        };
        let page = html(&full);
        assert!(page.contains(
            "<tr><td>=&lt;sessions&gt;</td><td>75 %</td><td>30</td><td>10</td><td>2</td><td>0.5 ms</td><td>1.5 ms</td><td>4 (1)</td></tr>"
        ));
        assert!(page.contains("<code>SELECT * FROM t WHERE a &lt; $1</code>"));
        assert!(page.contains("<code>CREATE INDEX CONCURRENTLY ON public.t (a);</code>"));
        let text = csv(&full);
        assert!(
            text.contains("'=<sessions>,75,30,10,2,0,0.5,1.5,4,1,0\r\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "shop,7,select,SELECT * FROM t WHERE a < $1,3,1500,2000,4500,90,1,100\r\n"
            )
        );
        assert!(text.contains("shop,7,Index public.t on a,reads all of public.t,CREATE INDEX CONCURRENTLY ON public.t (a);\r\n"));
        let none = ReportContent {
            slow_queries: Some(slow(Vec::new())),
            ..empty
        };
        assert!(html(&none).contains("No statement's mean reached 1000 ms"));
    }
}
