//! Probe targets: the endpoints an admin wants watched. Stored in SQLite,
//! managed through `targets/` (list, create, read, replace, delete), and also
//! declared in an optional JSON file read at start. Every change restarts that
//! target's probe task at once. A URL the fetch policy refuses is refused
//! there, with the field `url`, before anything is stored.

pub mod store;
mod validate;

use std::path::Path;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::Method;
use axum::http::StatusCode;
use vigie_api::{Target, TargetList, TargetSpec};

pub use validate::{
    check_name, check_timing, validate, validate_resolving, validate_resolving_blocking,
};

use crate::error::{ApiError, parse_json};
use crate::fetch_policy::FetchPolicy;
use crate::openapi::Op;
use crate::probes::Prober;
use crate::store::{Store, StoreError};

handler_ctx! {
    /// What this module's handlers reach.
    pub struct Ctx {
        store: crate::store::Store,
        prober: crate::probes::Prober,
    }
}

/// The stored spec joined with the probe's live state.
pub fn with_state(prober: &Prober, id: i64, spec: TargetSpec) -> Target {
    let rt = prober.runtime(id);
    Target {
        id,
        spec,
        health: rt.health,
        consecutive_failures: rt.consecutive_failures,
        last_result: rt.last_result,
        last_error: rt.last_error,
    }
}

/// The documentation of [`list`].
pub fn list_op() -> Op {
    Op::new("listTargets", "Probe targets with their live state")
        .json::<TargetList>(200, "all targets")
}

/// `GET targets/`
pub async fn list(State(state): State<Ctx>) -> Result<Json<TargetList>, ApiError> {
    let rows = state.store.call(|s| s.targets()).await?;
    let targets = rows
        .into_iter()
        .map(|(id, spec)| with_state(&state.prober, id, spec))
        .collect();
    Ok(Json(TargetList { targets }))
}

/// The documentation of [`create`].
pub fn create_op() -> Op {
    Op::new("createTarget", "Add a probe target; probing starts at once")
        .body::<TargetSpec>()
        .json::<Target>(201, "created")
        .error(400, "bad input: the body names the field")
}

/// `POST targets/`
pub async fn create(
    State(state): State<Ctx>,
    body: Bytes,
) -> Result<(StatusCode, Json<Target>), ApiError> {
    let spec = validate_resolving(parse_json(&body)?, state.prober.fetch_policy()).await?;
    let stored = spec.clone();
    let id = state.store.call(move |s| s.insert_target(&stored)).await?;
    state.prober.apply(id, &spec);
    Ok((
        StatusCode::CREATED,
        Json(with_state(&state.prober, id, spec)),
    ))
}

/// The documentation of [`read`].
pub fn read_op() -> Op {
    Op::new("getTarget", "One target")
        .json::<Target>(200, "the target")
        .error(404, "no such target")
}

/// `GET targets/{id}/`
pub async fn read(
    State(state): State<Ctx>,
    UrlPath(id): UrlPath<i64>,
) -> Result<Json<Target>, ApiError> {
    let spec = state.store.call(move |s| s.target(id)).await?;
    let spec = spec.ok_or_else(|| ApiError::NotFound(format!("target {id}")))?;
    Ok(Json(with_state(&state.prober, id, spec)))
}

/// The documentation of [`replace`].
pub fn replace_op() -> Op {
    Op::new(
        "replaceTarget",
        "Replace a target's spec; its probe restarts",
    )
    .body::<TargetSpec>()
    .json::<Target>(200, "replaced")
    .error(400, "bad input: the body names the field")
    .error(404, "no such target")
}

/// `PUT targets/{id}/`: replaces the whole spec.
pub async fn replace(
    State(state): State<Ctx>,
    UrlPath(id): UrlPath<i64>,
    body: Bytes,
) -> Result<Json<Target>, ApiError> {
    let spec = validate_resolving(parse_json(&body)?, state.prober.fetch_policy()).await?;
    let stored = spec.clone();
    if !state
        .store
        .call(move |s| s.update_target(id, &stored))
        .await?
    {
        return Err(ApiError::NotFound(format!("target {id}")));
    }
    state.prober.apply(id, &spec);
    Ok(Json(with_state(&state.prober, id, spec)))
}

/// The documentation of [`delete`].
pub fn delete_op() -> Op {
    Op::new("deleteTarget", "Remove a target; its past results stay")
        .empty(204, "deleted")
        .error(404, "no such target")
}

/// `DELETE targets/{id}/`: stops probing; past results stay in the history.
pub async fn delete(
    State(state): State<Ctx>,
    UrlPath(id): UrlPath<i64>,
) -> Result<StatusCode, ApiError> {
    if !state.store.call(move |s| s.delete_target(id)).await? {
        return Err(ApiError::NotFound(format!("target {id}")));
    }
    state.prober.stop(id);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, thiserror::Error)]
pub enum TargetsFileError {
    #[error("cannot read targets file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("targets file {path}: {message}")]
    Invalid { path: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads the targets file (a JSON array of target specs) and stores each
/// target, replacing the stored one of the same name: the file wins. A
/// target the fetch policy refuses stops the start, nothing stored.
pub fn load_file(store: &Store, path: &Path, policy: &FetchPolicy) -> Result<(), TargetsFileError> {
    let shown = path.display().to_string();
    let text = std::fs::read(path).map_err(|source| TargetsFileError::Read {
        path: shown.clone(),
        source,
    })?;
    let invalid = |message: String| TargetsFileError::Invalid {
        path: shown.clone(),
        message,
    };
    let specs: Vec<TargetSpec> =
        serde_json::from_slice(&text).map_err(|e| invalid(e.to_string()))?;
    // Every target checked before the first is stored: all of the file or none.
    let specs = specs
        .into_iter()
        .enumerate()
        .map(|(i, spec)| {
            validate_resolving_blocking(spec, policy)
                .map_err(|e| invalid(format!("target #{}: {e}", i + 1)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let existing = store.targets()?;
    for spec in specs {
        match existing.iter().find(|(_, s)| s.name == spec.name) {
            Some((id, _)) => {
                store.update_target(*id, &spec)?;
            }
            None => {
                store.insert_target(&spec)?;
            }
        }
    }
    Ok(())
}

const DEFAULT_TARGET_KEY: &str = "default_target_id";

/// On first start, adds a target probing this server's own `/livez`, so a new
/// install shows response times at once; on later starts, points it at the
/// address now bound (unless the admin deleted it).
pub fn ensure_default_target(store: &Store, livez_url: &str) -> Result<(), StoreError> {
    match store
        .setting(DEFAULT_TARGET_KEY)?
        .and_then(|v| v.parse::<i64>().ok())
    {
        Some(id) => {
            if let Some(mut spec) = store.target(id)?
                && spec.url != livez_url
            {
                spec.url = livez_url.to_owned();
                store.update_target(id, &spec)?;
            }
        }
        None => {
            let id = store.insert_target(&TargetSpec {
                name: "Vigie API (/livez)".into(),
                url: livez_url.to_owned(),
                kind: Default::default(),
                method: Default::default(),
                expected_status: 200,
                interval_ms: 1000,
                timeout_ms: 1000,
                enabled: true,
            })?;
            store.set_setting(DEFAULT_TARGET_KEY, &id.to_string())?;
        }
    }
    Ok(())
}

/// The routes of this module: changes need an admin (they make Vigie fetch
/// new addresses).
pub(crate) fn routes(r: crate::Routes) -> crate::Routes {
    let one = crate::item(vigie_api::paths::TARGETS);
    r.get(vigie_api::paths::TARGETS, list, list_op())
        .change(
            Method::POST,
            vigie_api::paths::TARGETS,
            vigie_api::Role::Admin,
            create,
            create_op(),
        )
        .get(&one, read, read_op())
        .change(
            Method::PUT,
            &one,
            vigie_api::Role::Admin,
            replace,
            replace_op(),
        )
        .change(
            Method::DELETE,
            &one,
            vigie_api::Role::Admin,
            delete,
            delete_op(),
        )
}
