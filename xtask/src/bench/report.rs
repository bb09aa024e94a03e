//! The benchmark's figures: a summary table (figure, measured, budget,
//! within/over) and the details behind each, printed and written as Markdown.
//! BENCHMARKS.md keeps its hand-written analysis: only the part between the
//! markers is replaced.

use std::path::Path;

use serde_json::Value;

use super::load::{self, Ingest, LongRange, UnderWrites, WrkRun};
use super::month::{self, MonthReport};
use super::stats::{Stats, num};
use crate::cmd::Result;
use crate::dist::FileSize;
use crate::web::Bundle;

const BEGIN: &str = "<!-- bench:begin (written by `cargo xtask bench`) -->";
const END: &str = "<!-- bench:end -->";

/// First-load transfer budget, brotli bytes.
const BUNDLE_BROTLI: u64 = 200_000;
const FIRST_CHART_MS: f64 = 300.0;
const TICK_MEDIAN_MS: f64 = 2.0;
const TICK_P99_MS: f64 = 8.0;
/// Updates the tick figures are taken over, at least: enough for a p99.
const TICK_MIN_UPDATES: usize = 300;
const API_RATIO: f64 = 0.8;
const API_P99_MS: f64 = 5.0;
/// p99 of `GET metrics/` under concurrent writes, against the quiet run's.
const WRITES_P99_FACTOR: f64 = 2.0;
const INGEST_PER_S: f64 = 100_000.0;
const SERVER_RSS: u64 = 64_000_000;
/// Median time of a 7-day `metrics/` or `endpoints/` answer, computed.
const LONG_QUERY_MS: f64 = 500.0;
/// A month's report over 20 targets, generated.
const MONTH_REPORT_MS: f64 = 10_000.0;
/// Memory "beyond noise": the JS heap may vary by 10 %, DOM nodes by 5 %.
const HEAP_NOISE: f64 = 1.10;
const NODES_NOISE: f64 = 1.05;

#[derive(Debug)]
struct Row {
    figure: String,
    measured: String,
    budget: String,
    within: Option<bool>,
}

/// What one API benchmark measured, beside its wrk runs.
#[derive(Debug, Clone, Copy)]
pub struct ApiRun<'a> {
    /// The query whose bytes nginx serves.
    pub query: &'a str,
    pub bytes: usize,
    pub points: usize,
    /// How many different queries wrk took turns over.
    pub queries: usize,
    /// Queries asked for the first time, ms.
    pub uncached: Stats,
}

#[derive(Debug)]
pub struct Report {
    smoke: bool,
    /// Which vigie-server the load part measured.
    server: String,
    rows: Vec<Row>,
    details: Vec<String>,
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// `60,480,000`.
fn num_int(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn kb(bytes: u64) -> String {
    format!("{:.1} KB", bytes as f64 / 1e3)
}

fn stats_at(v: &Value, path: &[&str]) -> Result<Stats> {
    let mut at = v;
    for k in path {
        at = &at[*k];
    }
    Stats::from_json(at).ok_or_else(|| format!("no figure `{}` in {v}", path.join(".")))
}

impl Report {
    pub fn new(smoke: bool) -> Report {
        Report {
            smoke,
            server: String::new(),
            rows: Vec::new(),
            details: Vec::new(),
        }
    }

    fn row(&mut self, figure: &str, measured: String, budget: &str, within: Option<bool>) {
        self.rows.push(Row {
            figure: figure.into(),
            measured,
            budget: budget.into(),
            within,
        });
    }

    /// Records the server binary of the load part (ingest, RSS, wrk): the
    /// one built here, or `VIGIE_BENCH_SERVER_BIN`'s.
    pub fn server(&mut self, bin: &Path, from_env: bool) {
        let shown = bin
            .strip_prefix(crate::cmd::root())
            .unwrap_or(bin)
            .display()
            .to_string();
        self.server = if from_env {
            format!(
                "Ingest, RSS and wrk figures measured on `{shown}` (from `VIGIE_BENCH_SERVER_BIN`); long ranges and browser figures on the server built here."
            )
        } else {
            format!("Server measured: `{shown}`, built here.")
        };
    }

    pub fn bundle(&mut self, b: &Bundle) {
        let first = b.first_load_brotli();
        let pick = |names: &[String]| -> Vec<&FileSize> {
            b.sizes.iter().filter(|s| names.contains(&s.name)).collect()
        };
        let first_files = pick(&b.first_load);
        let raw: u64 = first_files.iter().map(|s| s.raw).sum();
        let gzip: u64 = first_files.iter().map(|s| s.gzip).sum();
        self.row(
            "first-load transfer (main wasm + JS + loader + CSS)",
            format!("{} brotli ({} gzip, {} raw)", kb(first), kb(gzip), kb(raw)),
            "≤ 200 KB brotli",
            Some(first <= BUNDLE_BROTLI),
        );
        let (largest, largest_size) = b.largest_chunk().unwrap_or(("none", 0));
        self.row(
            "largest page chunk (brotli)",
            format!("{} ({largest})", kb(largest_size)),
            "measured",
            None,
        );
        self.row(
            &format!("all {} page and shared chunks (brotli)", b.chunks.len()),
            kb(b.chunks_brotli()),
            "measured",
            None,
        );
        let mut d = String::from(
            "### First-load transfer\n\nRelease bundle (`cargo xtask dist`: cargo, the wasm splitter, wasm-bindgen, wasm-opt -Oz); gzip level 9 and brotli quality 11, as a CDN serves them. The first load is the files `index.html` names and the loader the main module imports; every other page is a chunk fetched on first visit (or when the browser is idle).\n\n| file | first load | raw | gzip | brotli |\n|---|---|---:|---:|---:|\n",
        );
        for s in &b.sizes {
            if b.chunks.contains(&s.name) && s.brotli < 5_000 {
                continue;
            }
            d.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                s.name,
                if b.first_load.contains(&s.name) {
                    "yes"
                } else {
                    ""
                },
                kb(s.raw),
                kb(s.gzip),
                kb(s.brotli)
            ));
        }
        let small: Vec<&FileSize> = b
            .sizes
            .iter()
            .filter(|s| b.chunks.contains(&s.name) && s.brotli < 5_000)
            .collect();
        if !small.is_empty() {
            d.push_str(&format!(
                "| {} shared chunks under 5 KB | | {} | {} | {} |\n",
                small.len(),
                kb(small.iter().map(|s| s.raw).sum()),
                kb(small.iter().map(|s| s.gzip).sum()),
                kb(small.iter().map(|s| s.brotli).sum())
            ));
        }
        d.push_str(&format!(
            "| **first load** | | {} | {} | {} |\n",
            kb(raw),
            kb(gzip),
            kb(first)
        ));
        self.details.push(d);
    }

    pub fn ingest(&mut self, i: &Ingest, hours: usize, rss: u64, peak: u64) {
        self.row(
            "ingest, batches of 1,000 (records/s stored)",
            i.rate.show("/s"),
            "≥ 100,000/s",
            Some(i.rate.median >= INGEST_PER_S),
        );
        self.row(
            &format!(
                "server RSS after ingesting {hours} h of 1 s data × {} targets and reading each back (24 h)",
                load::TARGETS
            ),
            format!("{} (peak {})", mb(rss), mb(peak)),
            "≤ 64 MB",
            Some(rss <= SERVER_RSS),
        );
        self.details.push(format!(
            "### Ingest\n\n{} records ({hours} h of 1 s data for {} services) posted to `ingest/` in batches of {} from 4 connections; each batch is answered once committed to SQLite. {:.1} s in all, {}/s overall. Rate per quarter of the run: {}. Time to acknowledge one batch: {}, p99 {} ms. Server RSS afterwards {} (peak {}).\n",
            i.records,
            load::TARGETS,
            load::BATCH,
            i.seconds,
            num(i.records as f64 / i.seconds),
            i.rate.show("/s"),
            i.batch_ms.show(" ms"),
            num(i.batch_ms.p99),
            mb(rss),
            mb(peak),
        ));
    }

    pub fn long_range(&mut self, l: &LongRange) {
        let span = if l.span_s.is_multiple_of(86_400) {
            format!("{} d", l.span_s / 86_400)
        } else {
            format!("{:.0} h", l.span_s as f64 / 3600.0)
        };
        let data = format!(
            "{} requests ({span} at {}/s)",
            num_int(l.records),
            load::LONG_RATE
        );
        self.row(
            &format!("metrics/ over 7 d of {data}"),
            l.metrics_ms.show(" ms"),
            "≤ 500 ms",
            Some(l.metrics_ms.median <= LONG_QUERY_MS),
        );
        self.row(
            &format!("endpoints/ over 7 d of {data}"),
            l.endpoints_ms.show(" ms"),
            "≤ 500 ms",
            Some(l.endpoints_ms.median <= LONG_QUERY_MS),
        );
        self.row(
            &format!("server RSS after {data} and 7 d queries"),
            format!("{} (peak {})", mb(l.rss), mb(l.peak)),
            "≤ 64 MB",
            Some(l.rss <= SERVER_RSS),
        );
        self.details.push(format!(
            "### Long ranges\n\n{} request records ({span} at {}/s: {} services taking turns, one endpoint each) posted to `ingest/` in batches of {} from 4 connections, oldest first, to a server of its own with a fresh database: {:.1} s, {}/s. Then `GET metrics/?range=7d&source=requests` and `GET endpoints/?range=7d`, {} times each, each time with another `points` or `limit` so that the response cache never answers: metrics/ {}, endpoints/ {} (the last metrics/ answer counted {} requests). Server RSS afterwards {} (peak {}, which includes the ingest).\n",
            num_int(l.records),
            load::LONG_RATE,
            load::TARGETS,
            num_int(load::BATCH as u64),
            l.ingest_s,
            num(l.records as f64 / l.ingest_s),
            load::LONG_QUERIES,
            l.metrics_ms.show(" ms"),
            l.endpoints_ms.show(" ms"),
            num_int(l.answered),
            mb(l.rss),
            mb(l.peak),
        ));
    }

    pub fn month_report(&mut self, m: &MonthReport) {
        let what = format!("{}-day report over {} targets", m.days, month::TARGETS);
        self.row(
            &format!("{what}: request to succeeded"),
            m.generate_ms.show(" ms"),
            "< 10 s",
            Some(m.generate_ms.median < MONTH_REPORT_MS),
        );
        // A skipped tick leaves two intervals between two samples.
        let skipped = m.max_gap_ms >= 2 * month::SAMPLE_MS;
        self.row(
            &format!("live samples during the {what}"),
            format!(
                "{} samples, longest gap {} ms, latest arrival {} ms",
                m.samples, m.max_gap_ms, m.max_delay_ms
            ),
            "no tick skipped",
            Some(m.samples > 0 && !skipped),
        );
        let files: Vec<String> = m
            .files
            .iter()
            .map(|(format, bytes)| format!("{format} {}", kb(*bytes)))
            .collect();
        self.details.push(format!(
            "### A month's report\n\n`seed_history` (an example of the server crate, through the store's own inserts and maintenance) wrote {} days of history for {} targets in {:.1} s: {}; database {}. A server on that data, its retention raised to keep the month, monitored the {} targets live (each probing the server's `/readyz` every 5 s) and sampled this host every second. `POST generate-report/` over the whole period, polled every 20 ms until `succeeded`, {} times in a row: {}. Files of the last one: {}. Meanwhile a stream client received {} live samples; the longest gap between two consecutive samples' timestamps was {} ms (interval {} ms: a skipped tick would show as {} ms or more), and the longest time from a sample's timestamp to its arrival {} ms.\n",
            m.days,
            month::TARGETS,
            m.seed_s,
            m.seeded,
            mb(m.db_bytes),
            month::TARGETS,
            m.generate_ms.n,
            m.generate_ms.show(" ms"),
            files.join(", "),
            m.samples,
            m.max_gap_ms,
            month::SAMPLE_MS,
            2 * month::SAMPLE_MS,
            m.max_delay_ms,
        ));
    }

    pub fn api(&mut self, run: &ApiRun<'_>, vigie: &[WrkRun], nginx: &[WrkRun]) {
        let ApiRun {
            query,
            bytes,
            points,
            queries,
            uncached,
        } = *run;
        let rps =
            |runs: &[WrkRun]| Stats::of(&runs.iter().map(|r| r.requests_per_s).collect::<Vec<_>>());
        let p99 = |runs: &[WrkRun]| Stats::of(&runs.iter().map(|r| r.p99_ms).collect::<Vec<_>>());
        let (Some(v), Some(n), Some(vp), Some(np)) =
            (rps(vigie), rps(nginx), p99(vigie), p99(nginx))
        else {
            return;
        };
        // Ratio of each round's pair, then the median of the ratios.
        let ratios: Vec<f64> = vigie
            .iter()
            .zip(nginx)
            .map(|(a, b)| a.requests_per_s / b.requests_per_s)
            .collect();
        let ratio = Stats::of(&ratios).unwrap_or(v);
        self.row(
            &format!("GET metrics/ throughput over {queries} dashboard queries, Vigie / nginx"),
            format!(
                "{} ({} vs {} req/s)",
                ratio.show("×"),
                num(v.median),
                num(n.median)
            ),
            "≥ 0.8 × nginx",
            Some(ratio.median >= API_RATIO),
        );
        self.row(
            &format!("GET metrics/ p99 latency over {queries} dashboard queries"),
            vp.show(" ms"),
            "≤ 5 ms",
            Some(vp.median <= API_P99_MS),
        );
        self.row(
            "GET metrics/ uncached (first time asked), one at a time",
            format!("{}, {}", uncached.show(" ms"), uncached.show_p99(" ms")),
            "measured",
            None,
        );
        self.details.push(format!(
            "### API latency and throughput\n\n`wrk -t{} -c{} --latency` taking turns over {queries} `GET metrics/` queries (20 services × ranges 5m, 1h, 6h, 24h × 120, 300 and 600 points, each asked once before; no request is ingested meanwhile, and the server's own host samples and probes do not change the requests' answers. A relative range moves with the clock: the response cache keeps an answer for a tenth of its bucket (at least a second, at most a minute: the 5-minute queries are computed again every second or two, the 24-hour ones of 120 points every minute), and the refresher computes the next one ahead of the requests, which are served the previous one meanwhile; so the figure is what a query costs once its answer is kept, the uncached figure below what one computation costs), alternating with nginx (Debian's, 2 workers) serving the bytes of `GET {query}` ({points} points, {bytes} bytes of JSON, over 1 h of ingested data) as a static file, {} rounds. Uncached: {} queries never asked before (another service, range or point count each), one after the other on one connection: {}, {}.\n\n| server | requests/s | p99 |\n|---|---|---|\n| Vigie | {} | {} |\n| nginx | {} | {} |\n",
            load::WRK_THREADS,
            load::WRK_CONNECTIONS,
            vigie.len(),
            uncached.n,
            uncached.show(" ms"),
            uncached.show_p99(" ms"),
            v.show(""),
            vp.show(" ms"),
            n.show(""),
            np.show(" ms"),
        ));
    }

    /// `quiet`: the runs of [`Report::api`], whose p99 sets the budget.
    pub fn under_writes(&mut self, query: &str, w: &UnderWrites, quiet: &[WrkRun]) {
        let of = |f: fn(&WrkRun) -> f64, runs: &[WrkRun]| {
            Stats::of(&runs.iter().map(f).collect::<Vec<_>>())
        };
        let (Some(rps), Some(p50), Some(p99), Some(quiet_p99)) = (
            of(|r| r.requests_per_s, &w.runs),
            of(|r| r.p50_ms, &w.runs),
            of(|r| r.p99_ms, &w.runs),
            of(|r| r.p99_ms, quiet),
        ) else {
            return;
        };
        let limit = WRITES_P99_FACTOR * quiet_p99.median;
        let pressure = w.pressure;
        let batches = format!(
            "{} commits/s of {}",
            num(pressure.per_s),
            num_int(pressure.batch as u64)
        );
        self.row(
            &format!("GET metrics/?range=5m p99 under writes ({batches})"),
            format!(
                "{} (p50 {} ms, {} req/s)",
                p99.show(" ms"),
                num(p50.median),
                num(rps.median)
            ),
            &format!("≤ 2 × quiet p99 ({} ms)", num(limit)),
            Some(p99.median <= limit),
        );
        self.row(
            &format!(
                "ingest meanwhile, 1 connection, batches of {}",
                num_int(pressure.batch as u64)
            ),
            w.ingest_rate.show("/s"),
            "",
            None,
        );
        // Each acknowledged batch is one commit.
        let commits = w.ingest_rate.median / pressure.batch as f64;
        self.details.push(format!(
            "### API under concurrent writes: {batches}\n\n`wrk -t{} -c{} --latency` on `GET {query}` (`source` defaults to probes: the probe results of the last 5 minutes, the response-times page's default), {} of {} s, while one keep-alive connection posts batches of {} request records (stamped with the current second) to `ingest/` at a fixed {} batches a second (`load::PRESSURES`: the same write pressure whatever the build, below what any takes; 50,000 records a second either as many short commits or as fewer long ones, which a read queued behind the writer would wait for). The response cache stamps each answer with the generation of the data it reads: this query reads probe results, which the ingest does not change, so its answer is computed again when the server's own probes are stored (every few seconds) and as each second starts, ahead of the requests, which are answered from the cache meanwhile. So this scenario measures readers beside a busy writer (its CPU, its WAL, and its lock, which no read takes), not cache misses: here the ingest made {} commits/s against {} requests/s, and a query of the ingested requests would be computed again after each commit (the quiet run's uncached figure is what one such computation costs). Budget: p99 at most {WRITES_P99_FACTOR} × the quiet run's ({} ms, which is `metrics/` over 1 h of requests, not this query).\n\n| | median | min–max |\n|---|---|---|\n| requests/s | {} | {}–{} |\n| p50 | {} ms | {}–{} ms |\n| p99 | {} ms | {}–{} ms |\n| ingest meanwhile, records/s | {} | {}–{} |\n\n{} records acknowledged during the runs; time to acknowledge one batch {}, p99 {} ms. Server RSS afterwards {} (peak {}).\n",
            load::WRK_THREADS,
            load::WRK_CONNECTIONS,
            match w.runs.len() {
                1 => "1 run".to_owned(),
                n => format!("{n} runs"),
            },
            w.seconds,
            num_int(pressure.batch as u64),
            num(pressure.per_s),
            num(commits),
            num(rps.median),
            num(quiet_p99.median),
            num(rps.median),
            num(rps.min),
            num(rps.max),
            num(p50.median),
            num(p50.min),
            num(p50.max),
            num(p99.median),
            num(p99.min),
            num(p99.max),
            num(w.ingest_rate.median),
            num(w.ingest_rate.min),
            num(w.ingest_rate.max),
            num_int(w.records),
            w.batch_ms.show(" ms"),
            num(w.batch_ms.p99),
            mb(w.rss),
            mb(w.peak),
        ));
    }

    pub fn first_load(&mut self, v: &Value) -> Result {
        let first = stats_at(v, &["first_chart_ms"])?;
        let wasm = stats_at(v, &["wasm_loaded_ms"]).ok();
        self.row(
            "time to first live chart (cold loads)",
            first.show(" ms"),
            "≤ 300 ms",
            Some(first.median <= FIRST_CHART_MS),
        );
        self.details.push(format!(
            "### Time to first live chart\n\nHeadless Chromium, a new browser context (empty cache) per load, from navigation start to the `vigie:first-chart` mark (the first chart drawn with data from the server on loopback): {}.{}\n",
            first.show(" ms"),
            wasm.map(|w| format!(" The wasm file had arrived at {}.", w.show(" ms")))
                .unwrap_or_default()
        ));
        Ok(())
    }

    pub fn live(&mut self, v: &Value) -> Result {
        let tick = stats_at(v, &["tick_ms"])?;
        // A p99 over fewer updates is the maximum, not a p99: the budget
        // is not met by too short a trace.
        self.row(
            "live tick, main-thread time per update",
            format!("{}, {}", tick.show(" ms"), tick.show_p99(" ms")),
            "≤ 2 ms median, ≤ 8 ms p99 (n ≥ 300)",
            Some(
                tick.median <= TICK_MEDIAN_MS
                    && tick.p99 <= TICK_P99_MS
                    && tick.n >= TICK_MIN_UPDATES,
            ),
        );
        let m = &v["memory"];
        let field = |when: &str, k: &str| m[when][k].as_f64();
        let (Some(h0), Some(h1), Some(n0), Some(n1), Some(s0), Some(s1), Some(w0), Some(w1)) = (
            field("early", "js_heap_bytes"),
            field("late", "js_heap_bytes"),
            field("early", "dom_nodes"),
            field("late", "dom_nodes"),
            field("early", "seconds"),
            field("late", "seconds"),
            // The Rust heap lives in the wasm memory: without it the
            // verdict would miss a leak on the Rust side.
            field("early", "wasm_memory_bytes"),
            field("late", "wasm_memory_bytes"),
        ) else {
            return Err(format!(
                "live.mjs gave no memory figures (JS heap, DOM nodes and wasm memory): {m}"
            ));
        };
        self.row(
            &format!(
                "memory after {} s of live updates vs {} s",
                num(s1),
                num(s0)
            ),
            format!(
                "JS heap {} → {}, wasm memory {} → {}, DOM nodes {} → {}",
                mb(h0 as u64),
                mb(h1 as u64),
                mb(w0 as u64),
                mb(w1 as u64),
                n0,
                n1
            ),
            "no growth beyond noise (heaps 10 %, nodes 5 %)",
            Some(h1 <= h0 * HEAP_NOISE && w1 <= w0 * HEAP_NOISE && n1 <= n0 * NODES_NOISE),
        );
        let mut d = format!(
            "### Live updates\n\nThe overview page with its charts, updated by the server's event stream (a host sample every second, a probe result every second). Main-thread time per update, from a Chromium trace (every top-level task from the event's dispatch to the next update, frames included): {}, {}{}.\n\nMemory after a forced garbage collection (WebAssembly memory never shrinks: it is the high-water mark of the app's heap):\n\n| after | JS heap | wasm memory | DOM nodes | listeners |\n|---|---|---|---|---|\n",
            tick.show(" ms"),
            tick.show_p99(" ms"),
            Stats::from_json(&v["tick_cpu_ms"])
                .map(|c| format!("; CPU time of the same tasks {}", c.show(" ms")))
                .unwrap_or_default(),
        );
        let mut series = m["series"].as_array().cloned().unwrap_or_default();
        if series.last().map(|l| &l["seconds"]) != Some(&m["late"]["seconds"]) {
            series.push(m["late"].clone());
        }
        for snap in &series {
            let f = |k: &str| snap[k].as_f64().unwrap_or(f64::NAN);
            d.push_str(&format!(
                "| {} s | {} | {} | {} | {} |\n",
                num(f("seconds")),
                mb(f("js_heap_bytes") as u64),
                mb(f("wasm_memory_bytes") as u64),
                f("dom_nodes"),
                f("listeners"),
            ));
        }
        self.details.push(d);
        Ok(())
    }

    pub fn charts(&mut self, v: &Value) -> Result {
        let sizes = v["sizes"]
            .as_array()
            .filter(|a| !a.is_empty())
            .ok_or_else(|| format!("chart.mjs gave no sizes: {v}"))?;
        let mut d = String::from(
            "### Chart draw, Vigie vs uPlot\n\nThe same data drawn by Vigie's chart (the dashboard's code, `vigie_charts::canvas`, as wasm) and by uPlot in the same page and browser, 800×300 CSS px. Cold: a fresh page, first draw (module loading excluded); warm: a full redraw of an already drawn chart. Both end with a pixel read, so deferred canvas work counts alike.\n\n| data | Vigie cold | uPlot cold | ratio | Vigie warm | uPlot warm | ratio |\n|---|---|---|---|---|---|---|\n",
        );
        for s in sizes {
            let name = s["name"].as_str().unwrap_or("?");
            let get = |lib: &str, when: &str| stats_at(s, &[lib, when]);
            let (vc, uc, vw, uw) = (
                get("vigie", "cold")?,
                get("uplot", "cold")?,
                get("vigie", "warm")?,
                get("uplot", "warm")?,
            );
            let (rc, rw) = (vc.median / uc.median, vw.median / uw.median);
            for (when, r) in [("cold", rc), ("warm", rw)] {
                self.row(
                    &format!("chart draw {when}, {name}: Vigie / uPlot"),
                    format!("{}×", num(r)),
                    "≤ 1.0",
                    Some(r <= 1.0),
                );
            }
            d.push_str(&format!(
                "| {name} | {} | {} | {}× | {} | {} | {}× |\n",
                vc.show(" ms"),
                uc.show(" ms"),
                num(rc),
                vw.show(" ms"),
                uw.show(" ms"),
                num(rw)
            ));
        }
        if let Some(note) = v["note"].as_str() {
            d.push_str(&format!("\n{note}\n"));
        }
        self.details.push(d);
        Ok(())
    }

    fn mark(within: Option<bool>) -> &'static str {
        match within {
            Some(true) => "✓ within",
            Some(false) => "✗ over",
            None => "",
        }
    }

    /// The summary for the terminal.
    pub fn table(&self) -> String {
        let mut t = format!("{}\n", self.server);
        for r in &self.rows {
            t.push_str(&format!(
                "{:<58} {:<48} {:<28} {}\n",
                r.figure,
                r.measured,
                r.budget,
                Self::mark(r.within)
            ));
        }
        t
    }

    pub fn markdown(&self, machine: &str, seconds: f64) -> String {
        let date = crate::cmd::output(
            std::process::Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]),
        )
        .unwrap_or_default();
        let mut m = format!(
            "Run of {date} on {machine}; {} in {seconds:.0} s. {} Medians, with min–max and the number of runs in brackets.\n\n| figure | measured | budget | |\n|---|---|---|---|\n",
            if self.smoke {
                "smoke run (one short run of each, figures not meaningful)"
            } else {
                "full run"
            },
            self.server,
        );
        for r in &self.rows {
            m.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                r.figure,
                r.measured,
                r.budget,
                Self::mark(r.within)
            ));
        }
        for d in &self.details {
            m.push('\n');
            m.push_str(d);
        }
        m
    }
}

/// Writes `figures` between the markers of `path`, keeping the rest; a new
/// file gets a title and the markers.
pub fn write(path: &Path, figures: &str) -> Result {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let text = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if e > b => format!("{}{BEGIN}\n{figures}{}", &old[..b], &old[e..]),
        _ => format!("# Benchmarks\n\n{BEGIN}\n{figures}{END}\n"),
    };
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_replaces_only_between_the_markers() {
        let dir = std::env::temp_dir().join(format!("vigie-bench-{}", std::process::id()));
        let path = dir.join("B.md");
        write(&path, "first\n").expect("written");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains(BEGIN) && text.contains("first\n") && text.contains(END));
        let edited = text.replace(END, &format!("{END}\n## Analysis kept\n"));
        std::fs::write(&path, format!("Intro kept\n{edited}")).expect("edited");
        write(&path, "second\n").expect("rewritten");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.starts_with("Intro kept\n"));
        assert!(text.contains("second\n") && !text.contains("first\n"));
        assert!(text.trim_end().ends_with("## Analysis kept"));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn budgets_are_marked_within_or_over() {
        let mut r = Report::new(true);
        let size = |name: &str, brotli| FileSize {
            name: name.into(),
            raw: 1,
            gzip: 1,
            brotli,
        };
        let bundle = |main| Bundle {
            dir: "dist".into(),
            sizes: vec![
                size("a.wasm", main),
                size("a.js", 9_000),
                size("split_b.wasm", 70_000),
            ],
            first_load: vec!["a.wasm".into(), "a.js".into()],
            chunks: vec!["split_b.wasm".into()],
        };
        r.bundle(&bundle(150_000));
        // The chunk's bytes are not the first load's.
        assert!(
            r.rows[0].measured.starts_with("159.0 KB brotli"),
            "{}",
            r.rows[0].measured
        );
        assert!(r.rows[1].measured.contains("70.0 KB (split_b.wasm)"));
        r.bundle(&bundle(195_000));
        assert_eq!(r.rows[0].within, Some(true));
        assert_eq!(r.rows[3].within, Some(false));
        r.rows.clear();
        let live = serde_json::json!({
            "tick_ms": {"median": 1.0, "p99": 9.0, "min": 0.5, "max": 9.0, "n": 320},
            "memory": {"early": {"seconds": 30, "js_heap_bytes": 1e6, "dom_nodes": 100, "wasm_memory_bytes": 2e6},
                       "late": {"seconds": 300, "js_heap_bytes": 1.05e6, "dom_nodes": 100, "wasm_memory_bytes": 2.1e6}}
        });
        r.live(&live).expect("live");
        // p99 over 8 ms misses the tick budget; the heap within 10 % is noise.
        assert_eq!(r.rows[0].within, Some(false));
        assert_eq!(r.rows[1].within, Some(true));
        assert!(r.markdown("m", 1.0).contains("✗ over"));
        // Within on every figure, but too few updates for a p99; and the
        // wasm memory growing past the noise fails the memory verdict.
        r.rows.clear();
        let mut v = live.clone();
        v["tick_ms"] =
            serde_json::json!({"median": 1.0, "p99": 5.0, "min": 0.5, "max": 5.0, "n": 60});
        v["memory"]["late"]["wasm_memory_bytes"] = serde_json::json!(3e6);
        r.live(&v).expect("live");
        assert_eq!(r.rows[0].within, Some(false));
        assert!(
            r.rows[0].measured.contains("max 5.00 ms (n=60"),
            "{}",
            r.rows[0].measured
        );
        assert_eq!(r.rows[1].within, Some(false));
        let mut v = live.clone();
        v["memory"]["late"]["wasm_memory_bytes"] = serde_json::Value::Null;
        assert!(r.live(&v).is_err());
    }

    #[test]
    fn p99_under_writes_is_held_to_twice_the_quiet_p99() {
        let run = |p99_ms| WrkRun {
            requests_per_s: 1000.0,
            p50_ms: 1.0,
            p99_ms,
        };
        let stats = Stats::of(&[1.0]).expect("stats");
        let writes = |p99| UnderWrites {
            runs: vec![run(p99)],
            seconds: 1,
            ingest_rate: stats,
            batch_ms: stats,
            records: 1000,
            rss: 1,
            peak: 1,
            pressure: load::PRESSURES[0],
        };
        let quiet = [run(9.0), run(10.0), run(11.0)];
        let mut r = Report::new(true);
        r.under_writes("/m", &writes(20.0), &quiet);
        r.under_writes("/m", &writes(21.0), &quiet);
        let within: Vec<_> = r.rows.iter().map(|row| row.within).collect();
        assert_eq!(within, vec![Some(true), None, Some(false), None]);
        assert_eq!(r.rows[0].budget, "≤ 2 × quiet p99 (20.0 ms)");
        assert_eq!(
            r.rows[0].figure,
            "GET metrics/?range=5m p99 under writes (50.0 commits/s of 1,000)"
        );
    }

    #[test]
    fn long_ranges_are_held_to_500_ms_and_64_mb() {
        let stats = |median| Stats {
            median,
            min: median,
            max: median,
            p99: median,
            n: 21,
        };
        let mut r = Report::new(false);
        r.long_range(&LongRange {
            records: 60_480_000,
            span_s: 604_800,
            ingest_s: 300.0,
            answered: 60_400_000,
            metrics_ms: stats(120.0),
            endpoints_ms: stats(600.0),
            rss: 70_000_000,
            peak: 90_000_000,
        });
        let within: Vec<_> = r.rows.iter().map(|row| row.within).collect();
        assert_eq!(within, vec![Some(true), Some(false), Some(false)]);
        assert!(
            r.rows[0]
                .figure
                .contains("60,480,000 requests (7 d at 100/s)")
        );
        assert_eq!(num_int(360_000), "360,000");
        assert_eq!(num_int(999), "999");
    }

    #[test]
    fn a_month_report_is_held_to_10_s_and_no_skipped_tick() {
        let month = |median, max_gap_ms| MonthReport {
            days: 31,
            seed_s: 50.0,
            seeded: String::new(),
            db_bytes: 0,
            generate_ms: Stats {
                median,
                min: median,
                max: median,
                p99: median,
                n: 5,
            },
            files: vec![("html".into(), 1000)],
            samples: 30,
            max_gap_ms,
            max_delay_ms: 5,
        };
        let mut r = Report::new(false);
        r.month_report(&month(7400.0, 1017));
        r.month_report(&month(10_000.0, 2000));
        let within: Vec<_> = r.rows.iter().map(|row| row.within).collect();
        assert_eq!(
            within,
            vec![Some(true), Some(true), Some(false), Some(false)]
        );
        assert!(
            r.rows[0]
                .figure
                .starts_with("31-day report over 20 targets")
        );
    }
}
