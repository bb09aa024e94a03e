//! Scheduled reports through the HTTP API: a schedule a minute ahead makes
//! its report at its time, once, while the server runs and across a
//! restart; a slot missed while the server was down is generated once when
//! it comes back; schedules survive a restart; bad input names its field.

mod common;

use std::time::Duration;

use common::{Client, Vigie};
use serde_json::{Value, json};
use vigie_api::{ReportInfo, ReportList, ReportSchedule, ReportScheduleList, ReportStatus};

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;

async fn vigie(data: &std::path::Path) -> Vigie {
    common::vigie(data, |_| {}).await
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
}

/// The next whole UTC minute at least 4 s away, as (Unix ms, hour, minute).
fn next_minute() -> (i64, u8, u8) {
    let now = now_ms();
    let mut slot = (now / MINUTE_MS + 1) * MINUTE_MS;
    if slot - now < 4_000 {
        slot += MINUTE_MS;
    }
    let in_day = slot % DAY_MS;
    (
        slot,
        (in_day / 3_600_000) as u8,
        ((in_day % 3_600_000) / MINUTE_MS) as u8,
    )
}

/// Reports requested by schedule `name`.
async fn made_by(v: &Vigie, name: &str) -> Vec<ReportInfo> {
    let list: ReportList = v.get_json("/reports/?limit=500").await;
    list.reports
        .into_iter()
        .filter(|r| r.requested_by == format!("schedule: {name}"))
        .collect()
}

async fn create(v: &Vigie, body: Value) -> ReportSchedule {
    let resp = v.post("/report-schedules/", &body).await;
    assert_eq!(
        resp.status(),
        201,
        "{}",
        resp.text().await.unwrap_or_default()
    );
    resp.json().await.expect("schedule")
}

/// Waits until the report has ended, and checks it succeeded.
async fn succeeded(v: &Vigie, id: i64) -> ReportInfo {
    let r = common::poll(Duration::from_secs(30), || async {
        let r: ReportInfo = v.get_json(&format!("/reports/{id}/")).await;
        r.status.is_done().then_some(r)
    })
    .await;
    assert_eq!(r.status, ReportStatus::Succeeded, "{r:?}");
    r
}

#[tokio::test]
async fn a_schedule_makes_its_report_at_its_time_once_and_a_missed_slot_once_after_a_restart() {
    let (slot, hour, minute) = next_minute();
    // `live` stays up through the slot; `down` is stopped before it.
    let live_dir = tempfile::tempdir().expect("tempdir");
    let down_dir = tempfile::tempdir().expect("tempdir");
    let live = vigie(live_dir.path()).await;
    let down = vigie(down_dir.path()).await;
    let daily = json!({"name": "daily ops", "frequency": "daily", "hour": hour, "minute": minute});
    let live_schedule = create(&live, daily.clone()).await;
    assert_eq!(live_schedule.next_run_at, Some(slot));
    assert_eq!(live_schedule.last_run_at, None);
    create(&down, daily).await;
    // A schedule whose one target is removed before its slot.
    let resp = down
        .post(
            "/targets/",
            &json!({"name": "removed", "url": format!("http://{}/livez", down.server.addr()),
                    "interval_ms": 1000, "timeout_ms": 900}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let target: Value = resp.json().await.expect("target");
    create(
        &down,
        json!({"name": "removed target", "frequency": "daily", "hour": hour, "minute": minute,
               "targets": [target["id"]]}),
    )
    .await;
    let gone = down
        .http
        .delete(format!("{}/targets/{}/", down.base, target["id"]))
        .send()
        .await
        .expect("DELETE");
    assert_eq!(gone.status(), 204);
    down.server.shutdown().await.expect("shutdown");
    assert!(
        made_by(&live, "daily ops").await.is_empty(),
        "nothing before its time"
    );

    // At its time, without anyone asking: over the day before the slot.
    let made = common::poll(Duration::from_secs(75), || async {
        let made = made_by(&live, "daily ops").await;
        (!made.is_empty()).then_some(made)
    })
    .await;
    assert_eq!(made.len(), 1);
    assert!(now_ms() >= slot);
    assert_eq!((made[0].from, made[0].to), (slot - DAY_MS, slot));
    let report = succeeded(&live, made[0].id).await;
    assert_eq!(report.files.len(), 3);
    let s: ReportSchedule = live
        .get_json(&format!("/report-schedules/{}/", live_schedule.id))
        .await;
    assert_eq!(s.last_run_at, Some(slot));
    assert_eq!(s.last_report_id, Some(report.id));
    assert_eq!(s.next_run_at, Some(slot + DAY_MS));

    // A restart does not run it again: the first pass is done before the
    // server answers, so the list is final once it does.
    live.server.shutdown().await.expect("shutdown");
    let live = vigie(live_dir.path()).await;
    assert_eq!(made_by(&live, "daily ops").await.len(), 1);
    let kept: ReportScheduleList = live.get_json("/report-schedules/").await;
    assert_eq!(kept.schedules.len(), 1, "the schedule survives a restart");
    assert_eq!(kept.schedules[0].last_run_at, Some(slot));

    // The one down through its slot generates it once when it is back.
    assert!(now_ms() > slot);
    let down = vigie(down_dir.path()).await;
    let made = made_by(&down, "daily ops").await;
    assert_eq!(made.len(), 1, "the missed slot, once, before serving");
    assert_eq!((made[0].from, made[0].to), (slot - DAY_MS, slot));
    succeeded(&down, made[0].id).await;
    // The removed target is left out, not a reason to cover every target.
    let made = made_by(&down, "removed target").await;
    assert_eq!(made.len(), 1);
    assert_eq!(made[0].request.targets, Some(Vec::new()));
    succeeded(&down, made[0].id).await;
    down.server.shutdown().await.expect("shutdown");
    let down = vigie(down_dir.path()).await;
    assert_eq!(made_by(&down, "daily ops").await.len(), 1, "not again");
    down.server.shutdown().await.expect("shutdown");
    live.server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn schedules_are_changed_and_deleted_and_a_changed_one_counts_from_the_change() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v = vigie(dir.path()).await;
    let s = create(
        &v,
        json!({"name": "weekly", "frequency": "weekly", "weekday": 1, "hour": 6, "sections": ["summary"]}),
    )
    .await;
    assert_eq!(s.spec.minute, 0);
    assert!(s.spec.enabled);
    // Independently of the server: the next Monday 06:00 UTC after now.
    let now = now_ms();
    let day = now / DAY_MS;
    let weekday = (day + 3) % 7 + 1; // 1970-01-01 was a Thursday
    let mut next = (day + (8 - weekday) % 7) * DAY_MS + 6 * 3_600_000;
    if next <= now {
        next += 7 * DAY_MS;
    }
    assert_eq!(s.next_run_at, Some(next));

    // Moved to a slot already passed today: it is not run for today.
    let (slot, hour, minute) = {
        let past = now - 2 * MINUTE_MS;
        let in_day = past.rem_euclid(DAY_MS);
        (
            past - past % MINUTE_MS,
            (in_day / 3_600_000) as u8,
            ((in_day % 3_600_000) / MINUTE_MS) as u8,
        )
    };
    let resp = v
        .http
        .put(format!("{}/report-schedules/{}/", v.base, s.id))
        .json(&json!({"name": "daily now", "frequency": "daily", "hour": hour, "minute": minute}))
        .send()
        .await
        .expect("PUT");
    assert_eq!(resp.status(), 200);
    let changed: ReportSchedule = resp.json().await.expect("schedule");
    assert_eq!(changed.next_run_at, Some(slot + DAY_MS));
    assert!(made_by(&v, "daily now").await.is_empty());

    // Disabled: no next run.
    let resp = v
        .http
        .put(format!("{}/report-schedules/{}/", v.base, s.id))
        .json(&json!({"name": "daily now", "frequency": "daily", "hour": 1, "enabled": false}))
        .send()
        .await
        .expect("PUT");
    let off: ReportSchedule = resp.json().await.expect("schedule");
    assert_eq!(off.next_run_at, None);

    // Survives a restart as changed.
    v.server.shutdown().await.expect("shutdown");
    let v = vigie(dir.path()).await;
    let kept: ReportSchedule = v.get_json(&format!("/report-schedules/{}/", s.id)).await;
    assert_eq!(kept.spec, off.spec);

    let gone = v
        .http
        .delete(format!("{}/report-schedules/{}/", v.base, s.id))
        .send()
        .await
        .expect("DELETE");
    assert_eq!(gone.status(), 204);
    let again = v
        .http
        .delete(format!("{}/report-schedules/{}/", v.base, s.id))
        .send()
        .await
        .expect("DELETE");
    assert_eq!(again.status(), 404);
    let list: ReportScheduleList = v.get_json("/report-schedules/").await;
    assert!(list.schedules.is_empty());
    v.server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn bad_schedules_are_refused_naming_the_field_and_nothing_is_stored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v = vigie(dir.path()).await;
    create(
        &v,
        json!({"name": "taken", "frequency": "daily", "hour": 6}),
    )
    .await;
    let cases = [
        (
            json!({"name": "h", "frequency": "daily", "hour": 24}),
            400,
            "hour",
        ),
        (
            json!({"name": "h", "frequency": "daily", "hour": 6, "minute": 60}),
            400,
            "minute",
        ),
        (
            json!({"name": "h", "frequency": "weekly", "hour": 6}),
            400,
            "weekday",
        ),
        (
            json!({"name": "h", "frequency": "weekly", "hour": 6, "weekday": 8}),
            400,
            "weekday",
        ),
        (
            json!({"name": "h", "frequency": "weekly", "hour": 6, "weekday": 0}),
            400,
            "weekday",
        ),
        (
            json!({"name": "h", "frequency": "daily", "hour": 6, "weekday": 2}),
            400,
            "weekday",
        ),
        (
            json!({"name": "", "frequency": "daily", "hour": 6}),
            400,
            "name",
        ),
        (
            json!({"name": "h", "frequency": "daily", "hour": 6, "targets": [999]}),
            400,
            "targets",
        ),
        (
            json!({"name": "h", "frequency": "daily", "hour": 6, "sections": []}),
            400,
            "sections",
        ),
        (
            json!({"name": "h", "frequency": "hourly", "hour": 6}),
            400,
            "frequency",
        ),
        (
            json!({"name": "h", "frequency": "daily", "hour": 6, "at": 1}),
            400,
            "at",
        ),
        (
            json!({"name": "taken", "frequency": "daily", "hour": 7}),
            409,
            "name",
        ),
    ];
    for (body, status, field) in cases {
        let resp = v.post("/report-schedules/", &body).await;
        assert_eq!(resp.status(), status, "{body}");
        let err: Value = resp.json().await.expect("JSON error");
        assert_eq!(err["field"], field, "{body}: {err}");
    }
    let resp = v
        .http
        .put(format!("{}/report-schedules/999/", v.base))
        .json(&json!({"name": "x", "frequency": "daily", "hour": 6}))
        .send()
        .await
        .expect("PUT");
    assert_eq!(resp.status(), 404);
    let list: ReportScheduleList = v.get_json("/report-schedules/").await;
    assert_eq!(list.schedules.len(), 1, "only the first one");
    v.server.shutdown().await.expect("shutdown");
}
