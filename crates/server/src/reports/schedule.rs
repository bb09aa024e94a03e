//! Scheduled reports: a daily or weekly report generated at `hour:minute`
//! UTC over the period before it, without anyone asking.
//!
//! Each schedule counts its slots from `since` (its creation, its last
//! change or its last run). At start, before the server listens, and then
//! whenever a slot comes, [`run_due`] starts one report per schedule whose
//! latest slot is after `since`: after a downtime that missed several
//! slots, only the latest is generated, once. The slot is claimed in the
//! same transaction that records the report, so a restart never runs it
//! again.
//!
//! Routes: `GET`/`POST report-schedules/`, `GET`/`PUT`/`DELETE
//! report-schedules/{id}/`.

use std::time::Duration;

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{Method, StatusCode};
use tokio::sync::Notify;
use vigie_api::{
    ReportRequest, ReportSchedule, ReportScheduleList, ReportScheduleSpec, Role, ScheduleFrequency,
    TargetKind, paths,
};

use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, parse_json};
use crate::openapi::Op;

use super::DAY_MS;

const WEEK_MS: i64 = 7 * DAY_MS;
/// How long the scheduler sleeps at most between two looks at the clock
/// (a clock set forward is noticed within this).
const LOOK_EVERY: Duration = Duration::from_secs(30);

/// The latest slot of `spec` at or before `t` (Unix ms).
pub fn slot_at_or_before(spec: &ReportScheduleSpec, t: i64) -> i64 {
    let in_day = i64::from(spec.hour) * 3_600_000 + i64::from(spec.minute) * 60_000;
    let day = t.div_euclid(DAY_MS);
    match spec.frequency {
        ScheduleFrequency::Daily => {
            let slot = day * DAY_MS + in_day;
            if slot > t { slot - DAY_MS } else { slot }
        }
        ScheduleFrequency::Weekly => {
            // 1970-01-01 was a Thursday (ISO weekday 4).
            let weekday = (day + 3).rem_euclid(7) + 1;
            let wanted = i64::from(spec.weekday.unwrap_or(1));
            let back = (weekday - wanted).rem_euclid(7);
            let slot = (day - back) * DAY_MS + in_day;
            if slot > t { slot - WEEK_MS } else { slot }
        }
    }
}

/// How long the period of one run is.
pub fn period_ms(spec: &ReportScheduleSpec) -> i64 {
    match spec.frequency {
        ScheduleFrequency::Daily => DAY_MS,
        ScheduleFrequency::Weekly => WEEK_MS,
    }
}

/// The first slot after `t`.
pub fn next_slot_after(spec: &ReportScheduleSpec, t: i64) -> i64 {
    slot_at_or_before(spec, t) + period_ms(spec)
}

/// The slot to run now, if one came after `since`: the latest only.
pub fn due(spec: &ReportScheduleSpec, since: i64, now: i64) -> Option<i64> {
    let slot = slot_at_or_before(spec, now);
    (spec.enabled && slot > since).then_some(slot)
}

/// The report a run at `slot` makes.
pub fn request_of(spec: &ReportScheduleSpec, slot: i64) -> ReportRequest {
    ReportRequest {
        from: Some(slot - period_ms(spec)),
        to: Some(slot),
        targets: spec.targets.clone(),
        services: spec.services.clone(),
        sections: spec.sections.clone(),
    }
}

/// Who a scheduled report is requested by.
pub fn requested_by(spec: &ReportScheduleSpec) -> String {
    format!("schedule: {}", spec.name)
}

/// A stored schedule: its spec and where its slots count from.
#[derive(Debug, Clone)]
pub struct Stored {
    pub schedule: ReportSchedule,
    pub since: i64,
}

/// What a schedule answers with, its next run filled in.
pub fn shown(s: &Stored, now: i64) -> ReportSchedule {
    let spec = &s.schedule.spec;
    let mut out = s.schedule.clone();
    out.next_run_at = spec
        .enabled
        .then(|| next_slot_after(spec, now.max(s.since)));
    out
}

/// Starts the report of every schedule with a slot due; how many.
pub async fn run_due(state: &AppState) -> Result<usize, ApiError> {
    let now = crate::now_ms();
    let schedules = state.store().call(|s| s.report_schedules()).await?;
    let mut started = 0;
    for s in schedules {
        let spec = s.schedule.spec.clone();
        let Some(slot) = due(&spec, s.since, now) else {
            continue;
        };
        let mut req = request_of(&spec, slot);
        // A target removed since: the report covers the ones left.
        if let Some(ids) = &mut req.targets {
            let targets = state.store().call(|s| s.targets()).await?;
            ids.retain(|id| {
                targets
                    .iter()
                    .any(|(t, x)| t == id && x.kind == TargetKind::Http)
            });
        }
        let span = (slot - period_ms(&spec), slot);
        let (id, who, stored) = (s.schedule.id, requested_by(&spec), req.clone());
        let claimed = state
            .store()
            .call(move |st| st.claim_schedule_slot(id, slot, &stored, span, &who, now))
            .await?;
        // Another pass claimed it first.
        let Some(report) = claimed else { continue };
        super::start(state, report, req, span).await?;
        tracing::info!(schedule = %spec.name, report, "scheduled report started");
        started += 1;
    }
    Ok(started)
}

/// Wakes the scheduler when a schedule changed.
#[derive(Debug, Default)]
pub struct Wake(Notify);

/// The scheduler: sleeps until the next slot of any schedule (or a change,
/// or [`LOOK_EVERY`]), then runs what is due. [`crate::start`] runs the
/// first pass itself, before the server listens.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let stop = state.shutdown().clone();
        loop {
            let now = crate::now_ms();
            let next = state
                .store()
                .call(|s| s.report_schedules())
                .await
                .unwrap_or_default()
                .iter()
                .filter_map(|s| shown(s, now).next_run_at)
                .min();
            let wait = next.map_or(LOOK_EVERY, |t| {
                Duration::from_millis((t - now).max(0) as u64 + 5).min(LOOK_EVERY)
            });
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = state.reports().wake.0.notified() => {}
                () = stop.cancelled() => return,
            }
            if let Err(e) = run_due(&state).await {
                tracing::error!(error = %e, "scheduled reports");
            }
        }
    })
}

async fn checked(
    state: &AppState,
    spec: ReportScheduleSpec,
) -> Result<ReportScheduleSpec, ApiError> {
    let name = crate::alerts::text("name", &spec.name, 100)?;
    if spec.hour > 23 {
        return Err(ApiError::bad_request("hour", "hour must be 0 to 23 (UTC)"));
    }
    if spec.minute > 59 {
        return Err(ApiError::bad_request("minute", "minute must be 0 to 59"));
    }
    match (spec.frequency, spec.weekday) {
        (ScheduleFrequency::Weekly, None) => {
            return Err(ApiError::bad_request(
                "weekday",
                "a weekly schedule needs a weekday, 1 (Monday) to 7 (Sunday)",
            ));
        }
        (ScheduleFrequency::Weekly, Some(d)) if !(1..=7).contains(&d) => {
            return Err(ApiError::bad_request(
                "weekday",
                "weekday must be 1 (Monday) to 7 (Sunday)",
            ));
        }
        (ScheduleFrequency::Daily, Some(_)) => {
            return Err(ApiError::bad_request(
                "weekday",
                "a daily schedule has no weekday: leave it out",
            ));
        }
        _ => {}
    }
    let req = super::check(
        state,
        ReportRequest {
            targets: spec.targets.clone(),
            services: spec.services.clone(),
            sections: spec.sections.clone(),
            ..ReportRequest::default()
        },
    )
    .await?;
    Ok(ReportScheduleSpec {
        name,
        services: req.services,
        ..spec
    })
}

fn name_taken(name: &str) -> ApiError {
    ApiError::Conflict {
        field: "name".into(),
        message: format!("a schedule named {name:?} exists"),
    }
}

async fn stored(state: &AppState, id: i64) -> Result<Stored, ApiError> {
    state
        .store()
        .call(move |s| s.report_schedule(id))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("report schedule {id}")))
}

pub fn list_op() -> Op {
    Op::new(
        "listReportSchedules",
        "Scheduled reports, with their last and next runs",
    )
    .json::<ReportScheduleList>(200, "every schedule")
}

/// `GET report-schedules/`
pub async fn list(State(state): State<AppState>) -> Result<Json<ReportScheduleList>, ApiError> {
    let now = crate::now_ms();
    let schedules = state.store().call(|s| s.report_schedules()).await?;
    Ok(Json(ReportScheduleList {
        schedules: schedules.iter().map(|s| shown(s, now)).collect(),
    }))
}

pub fn create_op() -> Op {
    Op::new(
        "createReportSchedule",
        "Schedule a daily or weekly report at hour:minute UTC; its first run is the next slot",
    )
    .body::<ReportScheduleSpec>()
    .json::<ReportSchedule>(201, "created")
    .error(
        400,
        "bad input (hour, minute, weekday, name, targets): the body names the field",
    )
    .error(409, "the name is taken")
}

/// `POST report-schedules/`
pub async fn create(
    State(state): State<AppState>,
    Extension(_by): Extension<Principal>,
    body: Bytes,
) -> Result<(StatusCode, Json<ReportSchedule>), ApiError> {
    let spec = checked(&state, parse_json(&body)?).await?;
    let now = crate::now_ms();
    let name = spec.name.clone();
    let id = state
        .store()
        .call(move |s| s.insert_report_schedule(&spec, now))
        .await?
        .ok_or_else(|| name_taken(&name))?;
    state.reports().wake.0.notify_one();
    let s = stored(&state, id).await?;
    Ok((StatusCode::CREATED, Json(shown(&s, now))))
}

pub fn read_op() -> Op {
    Op::new("getReportSchedule", "One scheduled report")
        .json::<ReportSchedule>(200, "the schedule")
        .error(404, "no such schedule")
}

/// `GET report-schedules/{id}`
pub async fn read(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<i64>,
) -> Result<Json<ReportSchedule>, ApiError> {
    let s = stored(&state, id).await?;
    Ok(Json(shown(&s, crate::now_ms())))
}

pub fn replace_op() -> Op {
    Op::new(
        "replaceReportSchedule",
        "Change a scheduled report; its slots count from now (a slot already passed today is not run)",
    )
    .body::<ReportScheduleSpec>()
    .json::<ReportSchedule>(200, "changed")
    .error(400, "bad input: the body names the field")
    .error(404, "no such schedule")
    .error(409, "the name is taken")
}

/// `PUT report-schedules/{id}`
pub async fn replace(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<i64>,
    body: Bytes,
) -> Result<Json<ReportSchedule>, ApiError> {
    let spec = checked(&state, parse_json(&body)?).await?;
    let now = crate::now_ms();
    let name = spec.name.clone();
    match state
        .store()
        .call(move |s| s.update_report_schedule(id, &spec, now))
        .await?
    {
        None => return Err(ApiError::NotFound(format!("report schedule {id}"))),
        Some(false) => return Err(name_taken(&name)),
        Some(true) => {}
    }
    state.reports().wake.0.notify_one();
    let s = stored(&state, id).await?;
    Ok(Json(shown(&s, now)))
}

pub fn delete_op() -> Op {
    Op::new(
        "deleteReportSchedule",
        "Delete a scheduled report (the reports it made stay)",
    )
    .empty(204, "deleted")
    .error(404, "no such schedule")
}

/// `DELETE report-schedules/{id}`
pub async fn delete(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<i64>,
) -> Result<StatusCode, ApiError> {
    if !state
        .store()
        .call(move |s| s.delete_report_schedule(id))
        .await?
    {
        return Err(ApiError::NotFound(format!("report schedule {id}")));
    }
    state.reports().wake.0.notify_one();
    Ok(StatusCode::NO_CONTENT)
}

/// The routes of schedules.
pub(crate) fn routes(r: crate::Routes) -> crate::Routes {
    let one = crate::item(paths::REPORT_SCHEDULES);
    r.get(paths::REPORT_SCHEDULES, list, list_op())
        .change(
            Method::POST,
            paths::REPORT_SCHEDULES,
            Role::Operator,
            create,
            create_op(),
        )
        .get(&one, read, read_op())
        .change(Method::PUT, &one, Role::Operator, replace, replace_op())
        .change(Method::DELETE, &one, Role::Operator, delete, delete_op())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-02T00:00:00Z, a Wednesday.
    const WED: i64 = 1_796_169_600_000;
    const H: i64 = 3_600_000;
    const M: i64 = 60_000;

    fn daily(hour: u8, minute: u8) -> ReportScheduleSpec {
        ReportScheduleSpec {
            name: "daily".into(),
            frequency: ScheduleFrequency::Daily,
            hour,
            minute,
            weekday: None,
            targets: None,
            services: None,
            sections: None,
            enabled: true,
        }
    }

    fn weekly(weekday: u8, hour: u8) -> ReportScheduleSpec {
        ReportScheduleSpec {
            frequency: ScheduleFrequency::Weekly,
            weekday: Some(weekday),
            ..daily(hour, 0)
        }
    }

    #[test]
    fn the_reference_day_is_a_wednesday() {
        // Independently: 2026-12-02 is 20,789 days after 1970-01-01.
        assert_eq!(WED, 20_789 * DAY_MS);
        assert_eq!((20_789 + 3) % 7 + 1, 3);
    }

    #[test]
    fn a_daily_slot_is_today_once_passed_else_yesterday() {
        let s = daily(6, 30);
        assert_eq!(
            slot_at_or_before(&s, WED + 6 * H + 30 * M),
            WED + 6 * H + 30 * M
        );
        assert_eq!(slot_at_or_before(&s, WED + 7 * H), WED + 6 * H + 30 * M);
        assert_eq!(
            slot_at_or_before(&s, WED + 6 * H),
            WED - DAY_MS + 6 * H + 30 * M
        );
        assert_eq!(
            next_slot_after(&s, WED + 6 * H + 30 * M),
            WED + DAY_MS + 6 * H + 30 * M
        );
        assert_eq!(next_slot_after(&s, WED), WED + 6 * H + 30 * M);
    }

    #[test]
    fn a_weekly_slot_falls_on_its_weekday() {
        // Monday 08:00: the Monday before this Wednesday, then the next one.
        let s = weekly(1, 8);
        let monday = WED - 2 * DAY_MS + 8 * H;
        assert_eq!(slot_at_or_before(&s, WED + 12 * H), monday);
        assert_eq!(next_slot_after(&s, WED + 12 * H), monday + WEEK_MS);
        // Wednesday 08:00 on Wednesday: before it, last week's; after, today's.
        let s = weekly(3, 8);
        assert_eq!(slot_at_or_before(&s, WED + 7 * H), WED + 8 * H - WEEK_MS);
        assert_eq!(slot_at_or_before(&s, WED + 8 * H), WED + 8 * H);
        // Sunday.
        let s = weekly(7, 0);
        assert_eq!(slot_at_or_before(&s, WED), WED - 3 * DAY_MS);
    }

    #[test]
    fn a_slot_runs_once_at_its_time() {
        let s = daily(6, 0);
        let created = WED + 5 * H;
        assert_eq!(due(&s, created, WED + 6 * H - 1), None);
        assert_eq!(due(&s, created, WED + 6 * H), Some(WED + 6 * H));
        // Claimed: `since` is the slot, nothing more until tomorrow.
        assert_eq!(due(&s, WED + 6 * H, WED + 6 * H + 1), None);
        assert_eq!(due(&s, WED + 6 * H, WED + DAY_MS + 6 * H - 1), None);
        assert_eq!(
            due(&s, WED + 6 * H, WED + DAY_MS + 6 * H),
            Some(WED + DAY_MS + 6 * H)
        );
    }

    #[test]
    fn a_schedule_made_after_todays_slot_waits_for_tomorrow() {
        let s = daily(6, 0);
        assert_eq!(due(&s, WED + 9 * H, WED + 9 * H), None);
        assert_eq!(due(&s, WED + 9 * H, WED + 23 * H), None);
    }

    #[test]
    fn three_days_down_make_one_run_the_latest() {
        let s = daily(6, 0);
        let since = WED + 6 * H;
        let back = WED + 3 * DAY_MS + 10 * H;
        assert_eq!(due(&s, since, back), Some(WED + 3 * DAY_MS + 6 * H));
        assert_eq!(due(&s, WED + 3 * DAY_MS + 6 * H, back), None);
    }

    #[test]
    fn a_disabled_schedule_never_runs() {
        let s = ReportScheduleSpec {
            enabled: false,
            ..daily(6, 0)
        };
        assert_eq!(due(&s, WED, WED + 10 * DAY_MS), None);
    }

    #[test]
    fn a_run_covers_the_period_before_its_slot() {
        let r = request_of(&daily(6, 0), WED + 6 * H);
        assert_eq!(
            (r.from, r.to),
            (Some(WED + 6 * H - DAY_MS), Some(WED + 6 * H))
        );
        let r = request_of(&weekly(3, 6), WED + 6 * H);
        assert_eq!(
            (r.from, r.to),
            (Some(WED + 6 * H - WEEK_MS), Some(WED + 6 * H))
        );
    }
}
