//! Tokens. With `VIGIE_OPERATOR_TOKEN` set, every request that changes
//! something (any method but GET, HEAD and OPTIONS) needs
//! `Authorization: Bearer <operator token>`; `ingest/` also accepts
//! `VIGIE_INGEST_TOKEN`, so that applications get a token that can only add
//! measurements. Reads stay open. Without tokens the server refuses to listen
//! beyond loopback. Tokens are compared in constant time and never logged.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use vigie_api::paths;

use crate::AppState;
use crate::error::ApiError;

/// Shortest token accepted at start: guessing must be hopeless.
pub const MIN_TOKEN_LEN: usize = 16;

/// Equal in time independent of where the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn bearer(request: &Request) -> Option<&str> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    value.strip_prefix("Bearer ").map(str::trim)
}

pub async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(operator) = state.config().operator_token.as_deref().map(str::trim) else {
        return next.run(request).await;
    };
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let path = request.uri().path().trim_end_matches('/');
    let ingest = state
        .config()
        .ingest_token
        .as_deref()
        .map(str::trim)
        .filter(|_| path == paths::INGEST);
    let allowed = bearer(&request).is_some_and(|given| {
        same(given.as_bytes(), operator.as_bytes())
            || ingest.is_some_and(|t| same(given.as_bytes(), t.as_bytes()))
    });
    if allowed {
        return next.run(request).await;
    }
    let mut response = ApiError::Unauthorized.into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

#[cfg(test)]
mod tests {
    use super::same;

    #[test]
    fn compares_whole_tokens() {
        assert!(same(b"0123456789abcdef", b"0123456789abcdef"));
        assert!(!same(b"0123456789abcdef", b"0123456789abcdeF"));
        assert!(!same(b"0123456789abcdef", b"0123456789abcde"));
        assert!(!same(b"", b"x"));
    }
}
