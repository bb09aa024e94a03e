//! The API's one error type, and the one place where it becomes an HTTP answer.
//! Client mistakes name the field at fault; server faults are logged in full
//! and answered with a generic message.

use std::borrow::Cow;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use vigie_api::ErrorBody;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest {
        field: Cow<'static, str>,
        message: String,
    },
    #[error("no such resource: {0}")]
    NotFound(String),
    #[error("this change needs an operator token: Authorization: Bearer <token>")]
    Unauthorized,
    /// The resource is in a state that does not allow the change.
    #[error("{message}")]
    Conflict {
        field: Cow<'static, str>,
        message: String,
    },
    #[error("request too large: {0}")]
    TooLarge(String),
    #[error("not ready: {0}")]
    Unavailable(&'static str),
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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match &self {
            ApiError::BadRequest { field, message } => (
                StatusCode::BAD_REQUEST,
                ErrorBody {
                    error: message.clone(),
                    field: Some(field.to_string()),
                },
            ),
            ApiError::NotFound(_) => (
                StatusCode::NOT_FOUND,
                ErrorBody {
                    error: self.to_string(),
                    field: None,
                },
            ),
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                ErrorBody {
                    error: self.to_string(),
                    field: Some("Authorization".into()),
                },
            ),
            ApiError::Conflict { field, message } => (
                StatusCode::CONFLICT,
                ErrorBody {
                    error: message.clone(),
                    field: Some(field.to_string()),
                },
            ),
            ApiError::TooLarge(_) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorBody {
                    error: self.to_string(),
                    field: Some("records".into()),
                },
            ),
            ApiError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorBody {
                    error: self.to_string(),
                    field: None,
                },
            ),
            ApiError::Internal(e) => {
                tracing::error!(error = %e, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorBody {
                        error: "internal error".into(),
                        field: None,
                    },
                )
            }
            ApiError::Store(e) => {
                tracing::error!(error = %e, "database error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorBody {
                        error: "internal error".into(),
                        field: None,
                    },
                )
            }
        };
        (status, Json(body)).into_response()
    }
}

/// Parses a JSON request body into `T`; a mistake becomes a 400 that names the
/// field at fault (`interval_ms`, or the missing one), never a panic.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
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
