//! Reports: `POST generate-report/` records a job and answers at once; a
//! bounded pool of workers ([`Reports`], `VIGIE_MAX_REPORT_JOBS`) computes the
//! content ([`generate`]) and writes the HTML, CSV and JSON files
//! ([`render`]) beside the database, each written whole and renamed into
//! place before the job is marked succeeded. Progress is stored and pushed
//! on the stream (`report` events); a job can be cancelled; a job the
//! server stopped during is marked interrupted at the next start and its
//! partial files removed.
//!
//! Routes: `POST generate-report/`, `GET reports/`, `GET reports/{id}/`,
//! `GET reports/{id}/download/?format=html|csv|json`, `POST
//! reports/{id}/cancel/`, `DELETE reports/{id}/`.

pub mod generate;
pub mod render;
pub mod schedule;
pub mod store;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::{Semaphore, watch};
use tokio_util::sync::CancellationToken;
use vigie_api::{
    DownloadQuery, REPORT_DELETED_EVENT, REPORT_EVENT, ReportDeleted, ReportFile, ReportFormat,
    ReportInfo, ReportList, ReportRequest, ReportStatus, ReportsQuery, Role, TargetKind, paths,
};

use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiQuery, parse_json};
use crate::openapi::Op;

pub(crate) const DAY_MS: i64 = 86_400_000;
const MAX_PERIOD_MS: i64 = 31 * DAY_MS;
/// How far in the future `to` may be (clock skew).
const FUTURE_MS: i64 = 60_000;
const MAX_LIMIT: u32 = 500;

/// The report workers and the jobs under way.
#[derive(Debug)]
pub struct Reports {
    workers: Arc<Semaphore>,
    jobs: Mutex<HashMap<i64, CancellationToken>>,
    dir: PathBuf,
    /// Tells the scheduler a schedule changed.
    pub wake: schedule::Wake,
}

impl Reports {
    pub fn new(data_dir: &Path, workers: u32) -> Reports {
        Reports {
            workers: Arc::new(Semaphore::new(workers as usize)),
            jobs: Mutex::new(HashMap::new()),
            dir: data_dir.join("reports"),
            wake: schedule::Wake::default(),
        }
    }

    /// Where report `id`'s file of `format` is.
    pub fn file(&self, id: i64, format: ReportFormat) -> PathBuf {
        self.dir.join(format!("{id}.{}", format.as_str()))
    }

    fn remove_files(&self, id: i64) {
        for f in ReportFormat::ALL {
            let path = self.file(id, f);
            let _ = std::fs::remove_file(&path);
            let _ = std::fs::remove_file(path.with_extension(format!("{}.tmp", f.as_str())));
        }
    }

    /// The jobs that can still be cancelled (queued or running).
    pub fn running(&self) -> Vec<i64> {
        self.jobs
            .lock()
            .map(|j| j.keys().copied().collect())
            .unwrap_or_default()
    }

    fn cancel(&self, id: i64) -> bool {
        let token = self.jobs.lock().ok().and_then(|mut j| j.remove(&id));
        token.map(|t| t.cancel()).is_some()
    }
}

/// Marks the reports a stopped server left unfinished as interrupted and
/// removes their partial files, and those past the retention.
pub async fn recover(state: &AppState) -> Result<(), ApiError> {
    let now = crate::now_ms();
    let unfinished = state
        .store()
        .call(move |s| s.interrupt_unfinished_reports(now))
        .await?;
    let keep_ms = i64::from(state.config().report_retention_days) * DAY_MS;
    let old = state
        .store()
        .call(move |s| s.reports_before(now - keep_ms))
        .await?;
    for id in &unfinished {
        state.reports().remove_files(*id);
    }
    for id in old {
        state.reports().remove_files(id);
        state.store().call(move |s| s.delete_report(id)).await?;
    }
    if !unfinished.is_empty() {
        tracing::warn!(
            reports = unfinished.len(),
            "reports interrupted by the last stop"
        );
    }
    Ok(())
}

/// A period asked for (a report's, the recommendations'), checked: the day
/// before `to` by default, `to` now by default and not in the future,
/// `from` before `to`, at most 31 days.
pub(crate) fn period(
    req_from: Option<i64>,
    req_to: Option<i64>,
    now: i64,
) -> Result<(i64, i64), ApiError> {
    let to = req_to.unwrap_or(now);
    let from = req_from.unwrap_or(to.saturating_sub(DAY_MS));
    if to > now + FUTURE_MS {
        return Err(ApiError::bad_request("to", "to is in the future"));
    }
    if from >= to {
        return Err(ApiError::bad_request("from", "from must be before to"));
    }
    if to.saturating_sub(from) > MAX_PERIOD_MS {
        return Err(ApiError::bad_request(
            "to",
            "a period covers at most 31 days",
        ));
    }
    Ok((from, to))
}

pub(crate) async fn check(
    state: &AppState,
    mut req: ReportRequest,
) -> Result<ReportRequest, ApiError> {
    if let Some(ids) = &req.targets {
        let targets = state.store().call(|s| s.targets()).await?;
        for id in ids {
            match targets.iter().find(|(t, _)| t == id) {
                Some((_, t)) if t.kind == TargetKind::Http => {}
                Some(_) => {
                    return Err(ApiError::bad_request(
                        "targets",
                        format!("target {id} is a Prometheus target: reports cover HTTP targets"),
                    ));
                }
                None => {
                    return Err(ApiError::bad_request(
                        "targets",
                        format!("no target with id {id}"),
                    ));
                }
            }
        }
    }
    if let Some(services) = &mut req.services {
        for s in services.iter_mut() {
            *s = crate::alerts::text("services", s, 512)?;
        }
    }
    if req.sections.as_ref().is_some_and(Vec::is_empty) {
        return Err(ApiError::bad_request(
            "sections",
            "sections is empty: leave it out for every section",
        ));
    }
    Ok(req)
}

pub fn generate_op() -> Op {
    Op::new(
        "generateReport",
        "Start generating a report over a period (the last day by default, at most 31 days) of some or all targets and services; answered at once with the job, whose progress GET reports/{id}/ and the stream's report events show",
    )
    .body::<ReportRequest>()
    .json::<ReportInfo>(202, "queued")
    .error(400, "bad input (period, targets, sections): the body names the field")
}

/// `POST generate-report/`
pub async fn generate(
    State(state): State<AppState>,
    Extension(by): Extension<Principal>,
    body: Bytes,
) -> Result<(StatusCode, Json<ReportInfo>), ApiError> {
    let req: ReportRequest = parse_json(&body)?;
    let now = crate::now_ms();
    let span = period(req.from, req.to, now)?;
    let req = check(&state, req).await?;
    let who = by.name.clone().unwrap_or_else(|| "local".to_owned());
    let stored = req.clone();
    let id = state
        .store()
        .call(move |s| s.insert_report(&stored, span, &who, now))
        .await?;
    let info = start(&state, id, req, span).await?;
    Ok((StatusCode::ACCEPTED, Json(info)))
}

/// Queues the job of report `id`; its record as queued.
pub async fn start(
    state: &AppState,
    id: i64,
    req: ReportRequest,
    span: (i64, i64),
) -> Result<ReportInfo, ApiError> {
    let token = CancellationToken::new();
    if let Ok(mut jobs) = state.reports().jobs.lock() {
        jobs.insert(id, token.clone());
    }
    let info = state
        .store()
        .call(move |s| s.report(id))
        .await?
        .ok_or_else(|| ApiError::Internal("the report's record is gone".into()))?;
    state.events().publish(REPORT_EVENT, crate::now_ms(), &info);
    let job_state = state.clone();
    tokio::spawn(async move { run(job_state, id, req, span, token).await });
    Ok(info)
}

/// Progress sent by the generation, written and pushed by [`mirror`].
struct Steps {
    tx: watch::Sender<(u8, String)>,
    cancel: CancellationToken,
}

impl generate::Progress for Steps {
    fn step(&mut self, percent: u8, what: &str) -> bool {
        let _ = self.tx.send((percent, what.to_owned()));
        !self.cancel.is_cancelled()
    }
}

/// Stores and publishes each progress step until the job ends.
async fn mirror(state: AppState, id: i64, mut rx: watch::Receiver<(u8, String)>) {
    while rx.changed().await.is_ok() {
        let (p, step) = rx.borrow_and_update().clone();
        if let Ok(Some(info)) = state
            .store()
            .call(move |s| s.report_progress(id, p, &step))
            .await
        {
            state.events().publish(REPORT_EVENT, crate::now_ms(), &info);
        }
    }
}

async fn run(
    state: AppState,
    id: i64,
    req: ReportRequest,
    span: (i64, i64),
    cancel: CancellationToken,
) {
    let workers = state.reports().workers.clone();
    let permit = tokio::select! {
        p = workers.acquire_owned() => p.ok(),
        () = cancel.cancelled() => None,
    };
    let (tx, rx) = watch::channel((1u8, "starting".to_owned()));
    let mirrored = tokio::spawn(mirror(state.clone(), id, rx));
    let outcome = match permit {
        None => {
            // No step will come: the mirror ends with the sender.
            drop(tx);
            Err((
                ReportStatus::Cancelled,
                "cancelled before it started".to_owned(),
            ))
        }
        Some(_permit) => {
            let mut steps = Steps {
                tx,
                cancel: cancel.clone(),
            };
            let _ = steps.tx.send((1, "starting".to_owned()));
            produce(&state, id, &req, span, &mut steps).await
        }
    };
    // The last progress is stored before the end, never after it.
    let _ = mirrored.await;
    // A cancel that came while the files were written wins over them.
    let outcome = match outcome {
        Ok(_) if cancel.is_cancelled() => Err((ReportStatus::Cancelled, "cancelled".to_owned())),
        o => o,
    };
    let (status, error, files) = match outcome {
        Ok(files) => (ReportStatus::Succeeded, None, files),
        Err((status, e)) => {
            state.reports().remove_files(id);
            (status, Some(e), Vec::new())
        }
    };
    if let Ok(mut jobs) = state.reports().jobs.lock() {
        jobs.remove(&id);
    }
    let finished = state
        .store()
        .call(move |s| s.finish_report(id, status, error.as_deref(), &files, crate::now_ms()))
        .await;
    match finished {
        Ok(Some(info)) => state.events().publish(REPORT_EVENT, crate::now_ms(), &info),
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, report = id, "cannot record the report's end"),
    }
}

/// Computes and writes the files; their sizes.
async fn produce(
    state: &AppState,
    id: i64,
    req: &ReportRequest,
    span: (i64, i64),
    steps: &mut Steps,
) -> Result<Vec<ReportFile>, (ReportStatus, String)> {
    let content = generate::content(state, id, req, span, steps)
        .await
        .map_err(|e| match e {
            generate::GenerateError::Cancelled => (ReportStatus::Cancelled, "cancelled".to_owned()),
            e => (ReportStatus::Failed, e.to_string()),
        })?;
    let reports = state.reports();
    let paths: Vec<(ReportFormat, PathBuf)> = ReportFormat::ALL
        .iter()
        .map(|&f| (f, reports.file(id, f)))
        .collect();
    let dir = reports.dir.clone();
    // Rendering (SVG charts) and writing are CPU and disk work: off the runtime.
    let written = tokio::task::spawn_blocking(move || -> Result<Vec<ReportFile>, String> {
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut files = Vec::new();
        for (format, path) in paths {
            let body = match format {
                ReportFormat::Html => render::html(&content),
                ReportFormat::Csv => render::csv(&content),
                ReportFormat::Json => serde_json::to_string(&content).map_err(|e| e.to_string())?,
            };
            let tmp = path.with_extension(format!("{}.tmp", format.as_str()));
            std::fs::write(&tmp, &body).map_err(|e| format!("{}: {e}", tmp.display()))?;
            std::fs::rename(&tmp, &path).map_err(|e| format!("{}: {e}", path.display()))?;
            files.push(ReportFile {
                format,
                bytes: body.len() as u64,
            });
        }
        Ok(files)
    })
    .await
    .map_err(|e| {
        (
            ReportStatus::Failed,
            format!("writing the report failed: {e}"),
        )
    })?
    .map_err(|e| (ReportStatus::Failed, e))?;
    if steps.cancel.is_cancelled() {
        return Err((ReportStatus::Cancelled, "cancelled".to_owned()));
    }
    let _ = steps.tx.send((99, "done".to_owned()));
    Ok(written)
}

async fn report_of(state: &AppState, id: i64) -> Result<ReportInfo, ApiError> {
    state
        .store()
        .call(move |s| s.report(id))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("report {id}")))
}

pub fn list_op() -> Op {
    Op::new(
        "listReports",
        "Reports, newest first, with their status and files",
    )
    .query::<ReportsQuery>()
    .json::<ReportList>(200, "a page of reports")
    .error(400, "bad input: the body names the parameter")
}

/// `GET reports/`
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ReportsQuery>,
) -> Result<Json<ReportList>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::bad_request(
            "limit",
            format!("limit must be 1 to {MAX_LIMIT}"),
        ));
    }
    let offset = q.offset.unwrap_or(0);
    let (reports, total) = state
        .store()
        .call(move |s| s.reports(limit, offset))
        .await?;
    let end = u64::from(offset) + reports.len() as u64;
    Ok(Json(ReportList {
        next_offset: (end < total).then_some(end),
        reports,
        total,
    }))
}

pub fn read_op() -> Op {
    Op::new("getReport", "One report: status, progress, files")
        .json::<ReportInfo>(200, "the report")
        .error(404, "no such report")
}

/// `GET reports/{id}`
pub async fn read(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<i64>,
) -> Result<Json<ReportInfo>, ApiError> {
    report_of(&state, id).await.map(Json)
}

pub fn download_op() -> Op {
    Op::new(
        "downloadReport",
        "A generated report as one self-contained HTML file (opens offline, prints to PDF), CSV or JSON",
    )
    .query::<DownloadQuery>()
    .text(200, "text/html", "the report (text/csv or application/json by format)")
    .error(400, "unknown format")
    .error(404, "no such report")
    .error(409, "the report is not generated (yet)")
}

/// `GET reports/{id}/download?format=`
pub async fn download(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<i64>,
    ApiQuery(q): ApiQuery<DownloadQuery>,
) -> Result<Response, ApiError> {
    let info = report_of(&state, id).await?;
    if info.status != ReportStatus::Succeeded {
        return Err(ApiError::Conflict {
            field: "id".into(),
            message: format!("report {id} is {}, not generated", info.status.as_str()),
        });
    }
    let path = state.reports().file(id, q.format);
    let body = tokio::fs::read(&path)
        .await
        .map_err(|e| ApiError::Internal(format!("{}: {e}", path.display())))?;
    let name = format!(
        "attachment; filename=\"vigie-report-{id}-{}.{}\"",
        render::utc(info.from)[..10].to_owned(),
        q.format.as_str()
    );
    Ok((
        [
            (header::CONTENT_TYPE, q.format.media_type().to_owned()),
            (header::CONTENT_DISPOSITION, name),
        ],
        body,
    )
        .into_response())
}

pub fn cancel_op() -> Op {
    Op::new("cancelReport", "Stop a report being generated")
        .json::<ReportInfo>(200, "cancelled")
        .error(404, "no such report")
        .error(409, "already done")
}

/// `POST reports/{id}/cancel`
pub async fn cancel(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<i64>,
) -> Result<Json<ReportInfo>, ApiError> {
    let info = report_of(&state, id).await?;
    if info.status.is_done() || !state.reports().cancel(id) {
        return Err(ApiError::Conflict {
            field: "id".into(),
            message: format!("report {id} is {}", info.status.as_str()),
        });
    }
    // The job stops at its next step: answer with its end when it comes soon.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut ended = None;
    while ended.is_none() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        ended = report_of(&state, id)
            .await
            .ok()
            .filter(|r| r.status.is_done());
    }
    Ok(Json(ended.unwrap_or(info)))
}

pub fn delete_op() -> Op {
    Op::new(
        "deleteReport",
        "Delete a report and its files (a running one is cancelled)",
    )
    .empty(204, "deleted")
    .error(404, "no such report")
}

/// `DELETE reports/{id}`
pub async fn delete(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<i64>,
) -> Result<StatusCode, ApiError> {
    state.reports().cancel(id);
    if !state.store().call(move |s| s.delete_report(id)).await? {
        return Err(ApiError::NotFound(format!("report {id}")));
    }
    state.reports().remove_files(id);
    state
        .events()
        .publish(REPORT_DELETED_EVENT, crate::now_ms(), &ReportDeleted { id });
    Ok(StatusCode::NO_CONTENT)
}

/// The routes of this module.
pub(crate) fn routes(r: crate::Routes) -> crate::Routes {
    let one = crate::item(paths::REPORTS);
    r.change(
        Method::POST,
        paths::GENERATE_REPORT,
        Role::Operator,
        generate,
        generate_op(),
    )
    .get(paths::REPORTS, list, list_op())
    .get(&one, read, read_op())
    .get(&format!("{one}/download"), download, download_op())
    .change(
        Method::POST,
        &format!("{one}/cancel"),
        Role::Operator,
        cancel,
        cancel_op(),
    )
    .change(Method::DELETE, &one, Role::Operator, delete, delete_op())
    .with(schedule::routes)
}
