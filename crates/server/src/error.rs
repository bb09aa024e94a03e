//! The API's one error type, and the one place where it becomes an HTTP answer.
//! Client mistakes name the field at fault; server faults are logged in full
//! and answered with a generic message.

use std::borrow::Cow;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use vigie_api::{ErrorBody, Role};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest {
        field: Cow<'static, str>,
        message: String,
    },
    #[error("no such resource: {0}")]
    NotFound(String),
    #[error("this request needs a token: Authorization: Bearer <token>")]
    Unauthorized,
    #[error("this needs the {} role; the token given is {}", .needed.as_str(), .have.as_str())]
    Forbidden { needed: Role, have: Role },
    #[error(
        "this request came through a proxy, and this server has no tokens: configure them (see README, Security) before exposing it"
    )]
    ProxiedWithoutTokens,
    /// A change from another site's page.
    #[error("{0}")]
    CrossSite(String),
    #[error("changes must be sent as Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("this server does not answer to the host {0:?} (see VIGIE_ALLOWED_HOSTS)")]
    MisdirectedHost(String),
    /// The resource is in a state that does not allow the change.
    #[error("{message}")]
    Conflict {
        field: Cow<'static, str>,
        message: String,
    },
    #[error("request too large: {0}")]
    TooLarge(String),
    #[error("too many changes: retry in {retry_after_s} s")]
    TooManyRequests { retry_after_s: u64 },
    /// A bound on the server's work was reached; try again later.
    #[error("busy: {what}")]
    Busy {
        what: &'static str,
        retry_after_s: u64,
    },
    #[error("not ready: {0}")]
    Unavailable(&'static str),
    /// What applies a change outside Vigie (a scaling executor) failed.
    #[error("{0}")]
    Executor(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn bad_request(field: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<crate::measures::MeasureError> for ApiError {
    fn from(e: crate::measures::MeasureError) -> Self {
        match e {
            crate::measures::MeasureError::UnknownTarget(id) => {
                ApiError::bad_request("target", format!("no target with id {id}"))
            }
            crate::measures::MeasureError::Store(e) => ApiError::Store(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let field = |f: &str| Some(f.to_owned());
        let (status, field) = match &self {
            ApiError::BadRequest { field, .. } => {
                (StatusCode::BAD_REQUEST, Some(field.to_string()))
            }
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, None),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, field("Authorization")),
            ApiError::Forbidden { .. } => (StatusCode::FORBIDDEN, field("Authorization")),
            ApiError::ProxiedWithoutTokens => (StatusCode::FORBIDDEN, field("Authorization")),
            ApiError::CrossSite(_) => (StatusCode::FORBIDDEN, field("Origin")),
            ApiError::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, field("Content-Type"))
            }
            ApiError::MisdirectedHost(_) => (StatusCode::MISDIRECTED_REQUEST, field("Host")),
            ApiError::Conflict { field, .. } => (StatusCode::CONFLICT, Some(field.to_string())),
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, field("records")),
            ApiError::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, None),
            ApiError::Executor(_) => (StatusCode::BAD_GATEWAY, field("executor")),
            ApiError::Busy { .. } | ApiError::Unavailable(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, None)
            }
            ApiError::Internal(_) | ApiError::Store(_) => {
                tracing::error!(error = %self, "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, None)
            }
        };
        let error = if status == StatusCode::INTERNAL_SERVER_ERROR {
            "internal error".to_owned()
        } else {
            self.to_string()
        };
        let required_role = match &self {
            ApiError::Forbidden { needed, .. } => Some(*needed),
            _ => None,
        };
        let mut response = (
            status,
            Json(ErrorBody {
                error,
                field,
                required_role,
            }),
        )
            .into_response();
        let headers = response.headers_mut();
        match &self {
            ApiError::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ApiError::TooManyRequests { retry_after_s } | ApiError::Busy { retry_after_s, .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_s));
            }
            _ => {}
        }
        response
    }
}

/// Parses a JSON request body into `T`; a mistake becomes a 400 that names the
/// field at fault (`interval_ms`, or the missing one), never a panic.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    parse_json_seed(body, std::marker::PhantomData::<T>)
}

/// [`parse_json`] with a seed (a parse that carries state, such as a count).
pub fn parse_json_seed<'de, S: serde::de::DeserializeSeed<'de>>(
    body: &'de [u8],
    seed: S,
) -> Result<S::Value, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    let mut track = serde_path_to_error::Track::new();
    let value = seed
        .deserialize(serde_path_to_error::Deserializer::new(&mut *de, &mut track))
        .and_then(|v| de.end().map(|()| v));
    value.map_err(|inner| {
        let e = serde_path_to_error::Error::new(track.path(), inner);
        let inner = e.inner().to_string();
        let path = e.path().to_string();
        let field = if e.inner().is_syntax() || e.inner().is_eof() {
            "body".to_owned()
        } else if path != "." && !path.is_empty() {
            path
        } else if let Some(name) = inner
            .split('`')
            .nth(1)
            .filter(|_| inner.starts_with("missing field"))
        {
            name.to_owned()
        } else {
            "body".to_owned()
        };
        ApiError::bad_request(field, format!("invalid JSON body: {inner}"))
    })
}

/// A query string read as `T` (a type of `vigie_api`): a parameter that does
/// not fit, or one `T` does not know, is a 400 naming it.
#[derive(Debug, Clone, Default)]
pub struct ApiQuery<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S>
    for ApiQuery<T>
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, ApiError> {
        parse_query(parts.uri.query().unwrap_or("")).map(ApiQuery)
    }
}

/// Reads a query string as `T` (see [`ApiQuery`]).
pub fn parse_query<T: serde::de::DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let inner = e.inner().to_string();
        let path = e.path().to_string();
        // An unknown or missing parameter is named in the message itself.
        let named = ["unknown field `", "missing field `"]
            .iter()
            .find_map(|p| inner.strip_prefix(p))
            .and_then(|rest| rest.split('`').next());
        let field = match named {
            Some(name) => name.to_owned(),
            None if path != "." && !path.is_empty() => path,
            None => "query".to_owned(),
        };
        ApiError::bad_request(field.clone(), format!("{field}: {inner}"))
    })
}
