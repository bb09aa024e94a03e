//! What makes a target spec acceptable. Each refusal names the field. The
//! URL must also pass the fetch policy: as written ([`validate`]), and by the
//! addresses its name resolves to now ([`validate_resolving`]), so a metadata
//! URL is refused before anything is stored.

use vigie_api::{ProbeMethod, TargetKind, TargetSpec};

use crate::error::ApiError;
use crate::fetch_policy::{Blocked, FetchPolicy};

pub const MIN_INTERVAL_MS: u64 = 1000;
pub const MAX_INTERVAL_MS: u64 = 24 * 3600 * 1000;
pub const MIN_TIMEOUT_MS: u64 = 50;

fn refused(blocked: Blocked) -> ApiError {
    ApiError::bad_request("url", format!("url is refused: {blocked}"))
}

/// [`validate`], then the URL's name resolved once: refused when it
/// resolves to an address the policy refuses. A name that does not resolve
/// is accepted (probing reports it as a DNS failure).
pub async fn validate_resolving(
    spec: TargetSpec,
    policy: &FetchPolicy,
) -> Result<TargetSpec, ApiError> {
    let spec = validate(spec, policy)?;
    let url = parse_url(&spec.url)?;
    policy.check_url_resolving(&url).await.map_err(refused)?;
    Ok(spec)
}

/// [`validate_resolving`] on a blocking thread (the targets file at start).
pub fn validate_resolving_blocking(
    spec: TargetSpec,
    policy: &FetchPolicy,
) -> Result<TargetSpec, ApiError> {
    let spec = validate(spec, policy)?;
    let url = parse_url(&spec.url)?;
    policy.check_url_resolving_blocking(&url).map_err(refused)?;
    Ok(spec)
}

fn parse_url(url: &str) -> Result<reqwest::Url, ApiError> {
    reqwest::Url::parse(url)
        .map_err(|e| ApiError::bad_request("url", format!("url is not a valid URL: {e}")))
}

/// Checks and normalises (trims the name and URL) a spec; the URL as written
/// against `policy` (IP literals and metadata names), without resolving.
pub fn validate(mut spec: TargetSpec, policy: &FetchPolicy) -> Result<TargetSpec, ApiError> {
    spec.name = spec.name.trim().to_owned();
    spec.url = spec.url.trim().to_owned();
    check_name(&spec.name)?;
    let url = parse_url(&spec.url)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ApiError::bad_request(
            "url",
            "url must start with http:// or https://",
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ApiError::bad_request("url", "url must name a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        // Credentials in a URL end up in logs and screens.
        return Err(ApiError::bad_request(
            "url",
            "url must not carry credentials",
        ));
    }
    policy.check_url(&url).map_err(refused)?;
    if spec.kind == TargetKind::Prometheus && spec.method != ProbeMethod::Get {
        return Err(ApiError::bad_request(
            "method",
            "a Prometheus target is read with GET",
        ));
    }
    if !(100..=599).contains(&spec.expected_status) {
        return Err(ApiError::bad_request(
            "expected_status",
            "expected_status must be 100 to 599",
        ));
    }
    check_timing(spec.interval_ms, spec.timeout_ms)?;
    Ok(spec)
}

/// A name of 1 to 100 characters, trimmed: targets' and cache sources'.
pub fn check_name(name: &str) -> Result<(), ApiError> {
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::bad_request(
            "name",
            "name must be 1 to 100 characters",
        ));
    }
    Ok(())
}

/// How often a task measures and how long one measurement may take: every
/// 1 s to 24 h, within 50 ms to the interval.
pub fn check_timing(interval_ms: u64, timeout_ms: u64) -> Result<(), ApiError> {
    if !(MIN_INTERVAL_MS..=MAX_INTERVAL_MS).contains(&interval_ms) {
        return Err(ApiError::bad_request(
            "interval_ms",
            format!("interval_ms must be {MIN_INTERVAL_MS} to {MAX_INTERVAL_MS} (1 s to 24 h)"),
        ));
    }
    if timeout_ms < MIN_TIMEOUT_MS || timeout_ms > interval_ms {
        return Err(ApiError::bad_request(
            "timeout_ms",
            format!("timeout_ms must be {MIN_TIMEOUT_MS} to interval_ms ({interval_ms})"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> TargetSpec {
        TargetSpec {
            name: " api ".into(),
            url: " http://127.0.0.1:9/health ".into(),
            kind: Default::default(),
            method: Default::default(),
            expected_status: 200,
            interval_ms: 5000,
            timeout_ms: 2000,
            enabled: true,
        }
    }

    fn field_of(spec: TargetSpec) -> String {
        match validate(spec, &FetchPolicy::default()) {
            Err(ApiError::BadRequest { field, .. }) => field.into_owned(),
            other => panic!("expected a bad request, got {other:?}"),
        }
    }

    #[test]
    fn accepts_and_trims_a_good_spec() {
        let ok = validate(spec(), &FetchPolicy::default()).expect("valid");
        assert_eq!(
            (ok.name.as_str(), ok.url.as_str()),
            ("api", "http://127.0.0.1:9/health")
        );
    }

    #[test]
    fn names_the_field_at_fault() {
        assert_eq!(
            field_of(TargetSpec {
                name: "  ".into(),
                ..spec()
            }),
            "name"
        );
        assert_eq!(
            field_of(TargetSpec {
                url: "not a url".into(),
                ..spec()
            }),
            "url"
        );
        assert_eq!(
            field_of(TargetSpec {
                url: "ftp://host/x".into(),
                ..spec()
            }),
            "url"
        );
        assert_eq!(
            field_of(TargetSpec {
                url: "http://u:p@host/".into(),
                ..spec()
            }),
            "url"
        );
        for refused in [
            "http://169.254.169.254/latest/meta-data/",
            "http://[fe80::1]/",
            "http://metadata.google.internal/",
        ] {
            assert_eq!(
                field_of(TargetSpec {
                    url: refused.into(),
                    ..spec()
                }),
                "url",
                "{refused}"
            );
        }
        assert_eq!(
            field_of(TargetSpec {
                expected_status: 42,
                ..spec()
            }),
            "expected_status"
        );
        assert_eq!(
            field_of(TargetSpec {
                interval_ms: 999,
                ..spec()
            }),
            "interval_ms"
        );
        assert_eq!(
            field_of(TargetSpec {
                timeout_ms: 6000,
                ..spec()
            }),
            "timeout_ms"
        );
    }
}
