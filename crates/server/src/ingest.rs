//! `POST /api/performance/ingest/`: request records from applications (what a
//! web framework's middleware sees: endpoint, method, status, duration). A
//! batch is checked whole, then stored in one transaction, and answered only
//! once committed: an acknowledged batch survives a crash, a refused or
//! unacknowledged one leaves nothing half-stored.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use vigie_api::{IngestAck, IngestBatch, RequestRecord};

use crate::AppState;
use crate::error::{ApiError, parse_json};
use crate::store::StoredRequest;

/// How far ahead of the server's clock a record may be stamped (clock skew).
const MAX_FUTURE_MS: i64 = 5 * 60 * 1000;
const MAX_TEXT: usize = 512;

/// Checks one record; `now_ms` stamps it when it has no timestamp.
pub fn validate(
    i: usize,
    r: RequestRecord,
    now_ms: i64,
    oldest_ms: i64,
) -> Result<StoredRequest, ApiError> {
    let field = |name: &str| format!("records[{i}].{name}");
    let text = |name: &str, value: &str| -> Result<String, ApiError> {
        let v = value.trim();
        if v.is_empty() || v.len() > MAX_TEXT {
            return Err(ApiError::bad_request(
                field(name),
                format!("{name} must be 1 to {MAX_TEXT} characters"),
            ));
        }
        Ok(v.to_owned())
    };
    let endpoint = text("endpoint", &r.endpoint)?;
    let method = text("method", &r.method)?.to_ascii_uppercase();
    if !method.bytes().all(|b| b.is_ascii_alphabetic()) || method.len() > 16 {
        return Err(ApiError::bad_request(
            field("method"),
            "method must be an HTTP method name",
        ));
    }
    if !(100..=599).contains(&r.status) {
        return Err(ApiError::bad_request(
            field("status"),
            format!(
                "status {} is not in an HTTP status class (100-599)",
                r.status
            ),
        ));
    }
    if !r.duration_ms.is_finite() || r.duration_ms < 0.0 {
        return Err(ApiError::bad_request(
            field("duration_ms"),
            "duration_ms must be a number of milliseconds, not negative",
        ));
    }
    let ts_ms = r.timestamp.unwrap_or(now_ms);
    if ts_ms > now_ms + MAX_FUTURE_MS {
        return Err(ApiError::bad_request(
            field("timestamp"),
            "timestamp is more than 5 minutes in the future (Unix milliseconds expected)",
        ));
    }
    if ts_ms < oldest_ms {
        return Err(ApiError::bad_request(
            field("timestamp"),
            "timestamp is older than the retention",
        ));
    }
    let service = match r.service.as_deref() {
        Some(s) => text("service", s)?,
        None => "default".to_owned(),
    };
    Ok(StoredRequest {
        ts_ms,
        service,
        endpoint,
        method,
        status: r.status,
        duration_ms: r.duration_ms,
    })
}

/// `POST /api/performance/ingest/`
pub async fn ingest(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<IngestAck>, ApiError> {
    let body = body.map_err(|e| ApiError::TooLarge(e.body_text()))?;
    let batch: IngestBatch = parse_json(&body)?;
    let max = state.config().ingest_max_records as usize;
    if batch.records.len() > max {
        return Err(ApiError::TooLarge(format!(
            "{} records in one batch; at most {max}",
            batch.records.len()
        )));
    }
    if batch.records.is_empty() {
        return Err(ApiError::bad_request("records", "records is empty"));
    }
    let now = crate::now_ms();
    let oldest = now - state.config().retention().as_millis() as i64;
    let records = batch
        .records
        .into_iter()
        .enumerate()
        .map(|(i, r)| validate(i, r, now, oldest))
        .collect::<Result<Vec<_>, _>>()?;
    let stored = records.len() as u64;
    state
        .writer()
        .write_durably(records)
        .await
        .map_err(ApiError::Internal)?;
    Ok(Json(IngestAck { stored }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> RequestRecord {
        RequestRecord {
            endpoint: "/api/orders".into(),
            method: "get".into(),
            status: 200,
            duration_ms: 12.5,
            timestamp: None,
            service: None,
        }
    }

    fn field(r: Result<StoredRequest, ApiError>) -> String {
        match r {
            Err(ApiError::BadRequest { field, .. }) => field.into_owned(),
            other => panic!("expected a bad request, got {other:?}"),
        }
    }

    #[test]
    fn defaults_and_normalises() {
        let s = validate(0, record(), 1000, 0).expect("valid");
        assert_eq!(
            (s.ts_ms, s.service.as_str(), s.method.as_str()),
            (1000, "default", "GET")
        );
    }

    #[test]
    fn names_the_record_and_field_at_fault() {
        let now = 1_000_000_000;
        let bad = |f: fn(&mut RequestRecord)| {
            let mut r = record();
            f(&mut r);
            field(validate(7, r, now, now - 1000))
        };
        assert_eq!(bad(|r| r.duration_ms = -1.0), "records[7].duration_ms");
        assert_eq!(bad(|r| r.status = 42), "records[7].status");
        assert_eq!(bad(|r| r.status = 600), "records[7].status");
        assert_eq!(
            bad(|r| r.timestamp = Some(1_000_000_000 + 600_000)),
            "records[7].timestamp"
        );
        assert_eq!(bad(|r| r.timestamp = Some(1)), "records[7].timestamp");
        assert_eq!(bad(|r| r.endpoint = " ".into()), "records[7].endpoint");
        assert_eq!(bad(|r| r.method = "GET /x".into()), "records[7].method");
        assert_eq!(
            bad(|r| r.service = Some(String::new())),
            "records[7].service"
        );
    }
}
