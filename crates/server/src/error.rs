//! The API's one error type, and the one place where it becomes an HTTP answer.
//! Client mistakes name the field at fault; server faults are logged in full
//! and answered with a generic message.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use vigie_api::ErrorBody;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest {
        field: &'static str,
        message: String,
    },
    #[error("no such resource: {0}")]
    NotFound(String),
    #[error("not ready: {0}")]
    Unavailable(&'static str),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl ApiError {
    pub fn bad_request(field: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            field,
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
                    field: Some((*field).to_owned()),
                },
            ),
            ApiError::NotFound(_) => (
                StatusCode::NOT_FOUND,
                ErrorBody {
                    error: self.to_string(),
                    field: None,
                },
            ),
            ApiError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorBody {
                    error: self.to_string(),
                    field: None,
                },
            ),
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
