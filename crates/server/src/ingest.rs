//! `POST /api/performance/ingest/`: request records from applications (what a
//! web framework's middleware sees: endpoint, method, status, duration). A
//! batch is checked whole, then stored in one transaction, and answered only
//! once committed: an acknowledged batch survives a crash, a refused or
//! unacknowledged one leaves nothing half-stored.

pub mod store;

use std::cell::Cell;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::Method;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use vigie_api::{IngestAck, IngestBatch, RequestRecord};

use crate::error::{ApiError, parse_json_seed};
use crate::openapi::Op;
use crate::store::StoredRequest;

handler_ctx! {
    /// What this module's handlers reach.
    pub struct Ctx {
        config: std::sync::Arc<crate::Config>,
        writer: crate::writer::Writer,
    }
}

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

/// Bytes a record may take in a batch, with its longest texts and some
/// white space: the body limit is sized to the record limit.
const MAX_RECORD_BYTES: usize = 2 * 1024;

/// The largest ingest body accepted for batches of at most `max_records`.
pub fn body_limit(max_records: u64) -> usize {
    (max_records as usize).saturating_mul(MAX_RECORD_BYTES) + 64 * 1024
}

/// A batch whose records are counted while they are parsed: the one past
/// `max` stops the parse (and its allocations) at once. Read as
/// `{"records": [...]}` (`outer`), whose array it then reads as itself.
struct Bounded<'a> {
    max: usize,
    too_many: &'a Cell<bool>,
    outer: bool,
}

impl<'de> DeserializeSeed<'de> for Bounded<'_> {
    type Value = Vec<RequestRecord>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        if self.outer {
            d.deserialize_map(self)
        } else {
            d.deserialize_seq(self)
        }
    }
}

impl<'de> Visitor<'de> for Bounded<'_> {
    type Value = Vec<RequestRecord>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.outer {
            f.write_str("an object with records")
        } else {
            write!(f, "an array of at most {} records", self.max)
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut records = None;
        let mut seed = Some(Bounded {
            outer: false,
            ..self
        });
        while let Some(key) = map.next_key::<String>()? {
            match (key.as_str(), seed.take()) {
                ("records", Some(s)) => records = Some(map.next_value_seed(s)?),
                ("records", None) => return Err(de::Error::duplicate_field("records")),
                (_, s) => {
                    seed = s;
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        records.ok_or_else(|| de::Error::missing_field("records"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut records = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(self.max));
        while let Some(r) = seq.next_element::<RequestRecord>()? {
            if records.len() == self.max {
                self.too_many.set(true);
                return Err(de::Error::custom(format!(
                    "more than {} records in one batch",
                    self.max
                )));
            }
            records.push(r);
        }
        Ok(records)
    }
}

/// Reads a batch of at most `max` records; more is a 413 as soon as the
/// one too many is read.
pub fn parse_batch(body: &[u8], max: usize) -> Result<Vec<RequestRecord>, ApiError> {
    let too_many = Cell::new(false);
    let seed = Bounded {
        max,
        too_many: &too_many,
        outer: true,
    };
    let parsed = parse_json_seed(body, seed);
    if too_many.get() {
        return Err(ApiError::TooLarge(format!(
            "more than {max} records in one batch"
        )));
    }
    parsed
}

/// The documentation of [`ingest`].
pub fn ingest_op() -> Op {
    Op::new(
        "ingest",
        "Store a batch of request records from an application; answered once the batch is committed (all or nothing)",
    )
    .body::<IngestBatch>()
    .json::<IngestAck>(200, "stored")
    .error(400, "bad input: the body names the field")
    .error(
        413,
        "more records than the configured maximum (10,000 by default)",
    )
}

/// `POST /api/performance/ingest/`
pub async fn ingest(
    State(state): State<Ctx>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<IngestAck>, ApiError> {
    let body = body.map_err(|e| ApiError::TooLarge(e.body_text()))?;
    let max = state.config.ingest_max_records as usize;
    let batch = IngestBatch {
        records: parse_batch(&body, max)?,
    };
    if batch.records.is_empty() {
        return Err(ApiError::bad_request("records", "records is empty"));
    }
    let now = crate::now_ms();
    let oldest = now - state.config.retention().as_millis() as i64;
    let records = batch
        .records
        .into_iter()
        .enumerate()
        .map(|(i, r)| validate(i, r, now, oldest))
        .collect::<Result<Vec<_>, _>>()?;
    let stored = records.len() as u64;
    state
        .writer
        .write_durably(records)
        .await
        .map_err(ApiError::Internal)?;
    Ok(Json(IngestAck { stored }))
}

/// The routes of this module: the ingest token's only one, its body limit
/// sized to the record limit.
pub(crate) fn routes(r: crate::Routes) -> crate::Routes {
    let limit = axum::extract::DefaultBodyLimit::max(body_limit(r.config().ingest_max_records));
    r.change(
        Method::POST,
        vigie_api::paths::INGEST,
        vigie_api::Role::Ingest,
        axum::handler::Handler::layer(ingest, limit),
        ingest_op(),
    )
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
    fn a_batch_is_counted_while_parsed() {
        let one = r#"{"endpoint":"/x","method":"GET","status":200,"duration_ms":1}"#;
        let body = |n: usize| format!(r#"{{"records":[{}]}}"#, vec![one; n].join(","));
        assert_eq!(parse_batch(body(3).as_bytes(), 3).expect("3 of 3").len(), 3);
        assert!(matches!(
            parse_batch(body(4).as_bytes(), 3),
            Err(ApiError::TooLarge(_))
        ));
        // Refused at the fourth record: what follows is never read, even
        // when it is not JSON at all.
        let cut = format!(r#"{{"records":[{one},{one},{one},{one},garbage"#);
        assert!(matches!(
            parse_batch(cut.as_bytes(), 3),
            Err(ApiError::TooLarge(_))
        ));
        let field = |r: Result<Vec<RequestRecord>, ApiError>| match r {
            Err(ApiError::BadRequest { field, .. }) => field.into_owned(),
            other => panic!("expected a bad request, got {other:?}"),
        };
        assert_eq!(field(parse_batch(b"{}", 3)), "records");
        assert_eq!(
            field(parse_batch(br#"{"records":[{"endpoint":"/x"}]}"#, 3)),
            "records[0]"
        );
        assert_eq!(field(parse_batch(b"{", 3)), "body");
        assert_eq!(body_limit(10_000), 10_000 * 2048 + 65_536);
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
