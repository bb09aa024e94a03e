//! Who may do what. Tokens come from the configuration: one per role from
//! `VIGIE_ADMIN_TOKEN`, `VIGIE_OPERATOR_TOKEN`, `VIGIE_VIEWER_TOKEN` and
//! `VIGIE_INGEST_TOKEN`, and named ones from `VIGIE_TOKENS_FILE`, stored there
//! as SHA-256 hashes. Once any token is configured, every API request needs
//! one (`Authorization: Bearer …`), reads included; the live stream takes a
//! short-lived single-use ticket instead, since a browser's `EventSource`
//! cannot send a header. Without tokens the server only listens on loopback
//! and everyone reaching it is an admin (the Host and Origin checks of
//! [`crate::security`] keep other web pages out).
//!
//! A presented token is hashed and compared with every configured hash in
//! constant time; tokens are never logged nor echoed. The actor recorded on
//! alerts and actions is the token's name.
//!
//! Each route declares the role its changes need ([`Guard`]); reads need
//! [`Role::Viewer`]. The guard also applies the cross-site checks and the
//! rate limits to changes.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use vigie_api::{Role, Session, StreamTicket};

use crate::AppState;
use crate::config::Config;
use crate::error::ApiError;
use crate::limits::RateLimiter;
use crate::openapi::Op;
use crate::security;

handler_ctx! {
    /// What `session/` and `stream-ticket/` reach.
    pub struct Ctx {
        auth: std::sync::Arc<Auth>,
    }
}

/// Shortest token accepted at start: guessing must be hopeless.
pub const MIN_TOKEN_LEN: usize = 16;
/// How long a stream ticket stays usable.
pub const TICKET_TTL: Duration = Duration::from_secs(30);
/// Most unredeemed tickets held; past it, a new one is refused (503).
const MAX_TICKETS: usize = 10_000;

/// Who sent a request, once its token (or ticket) was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's name; `None` when the server needs no token.
    pub name: Option<String>,
    pub role: Role,
}

impl Principal {
    /// Everyone on loopback when no token is configured.
    fn local() -> Self {
        Principal {
            name: None,
            role: Role::Admin,
        }
    }

    /// The name to record on what this principal does: the token's name, or
    /// the display hint the client sent when no token is configured.
    pub fn actor(&self, hint: Option<&str>) -> Option<String> {
        match &self.name {
            Some(name) => Some(name.clone()),
            None => hint
                .map(str::trim)
                .filter(|h| !h.is_empty())
                .map(str::to_owned),
        }
    }
}

#[derive(Clone)]
struct Entry {
    name: String,
    role: Role,
    digest: [u8; 32],
}

struct Ticket {
    principal: Principal,
    expires: Instant,
}

/// The configured tokens and the stream tickets handed out.
pub struct Auth {
    entries: Vec<Entry>,
    tickets: Mutex<HashMap<String, Ticket>>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("tokens", &self.entries.len())
            .finish_non_exhaustive()
    }
}

/// One line of the tokens file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToken {
    name: String,
    role: Role,
    sha256: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokensFile {
    tokens: Vec<FileToken>,
}

/// SHA-256 of a token, as stored in the tokens file.
pub fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.trim().as_bytes()).into()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_hex32(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// A new random token: 32 bytes, hex.
pub fn random_token() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
    Ok(hex(&bytes))
}

impl Auth {
    /// Reads the tokens of `config` (and its tokens file). Refuses short
    /// tokens, a malformed file, duplicate names or hashes.
    pub fn from_config(config: &Config) -> Result<Auth, String> {
        let mut entries = Vec::new();
        let single = [
            (
                "VIGIE_ADMIN_TOKEN",
                "admin",
                Role::Admin,
                &config.admin_token,
            ),
            (
                "VIGIE_OPERATOR_TOKEN",
                "operator",
                Role::Operator,
                &config.operator_token,
            ),
            (
                "VIGIE_VIEWER_TOKEN",
                "viewer",
                Role::Viewer,
                &config.viewer_token,
            ),
            (
                "VIGIE_INGEST_TOKEN",
                "ingest",
                Role::Ingest,
                &config.ingest_token,
            ),
        ];
        for (var, name, role, token) in single {
            let Some(token) = token else { continue };
            if token.expose().len() < MIN_TOKEN_LEN {
                return Err(format!("{var} must be at least {MIN_TOKEN_LEN} characters"));
            }
            entries.push(Entry {
                name: name.to_owned(),
                role,
                digest: digest(token.expose()),
            });
        }
        if let Some(path) = &config.tokens_file {
            entries.extend(read_tokens_file(path)?);
        }
        for (i, a) in entries.iter().enumerate() {
            for b in &entries[i + 1..] {
                if a.name == b.name {
                    return Err(format!("two tokens are named {:?}", a.name));
                }
                if a.digest == b.digest {
                    return Err(format!(
                        "tokens {:?} and {:?} are the same token",
                        a.name, b.name
                    ));
                }
            }
        }
        if !entries.is_empty() && entries.iter().all(|e| e.role == Role::Ingest) {
            return Err(
                "an ingest token alone protects nothing: configure an admin, operator or viewer token too"
                    .into(),
            );
        }
        Ok(Auth {
            entries,
            tickets: Mutex::new(HashMap::new()),
        })
    }

    /// Whether requests need a token: as soon as one is configured.
    pub fn required(&self) -> bool {
        !self.entries.is_empty()
    }

    /// The principal of `token`, comparing its hash with every configured
    /// one, all of them each time.
    pub fn identify(&self, token: &str) -> Option<Principal> {
        let given = digest(token);
        let mut found = None;
        for e in &self.entries {
            if bool::from(e.digest.ct_eq(&given)) {
                found = Some(e);
            }
        }
        found.map(|e| Principal {
            name: Some(e.name.clone()),
            role: e.role,
        })
    }

    /// A single-use ticket opening the stream as `principal` within [`TICKET_TTL`].
    pub fn issue_ticket(&self, principal: &Principal) -> Result<StreamTicket, ApiError> {
        let ticket = random_token().map_err(ApiError::Internal)?;
        let now = Instant::now();
        let mut tickets = self.tickets.lock().unwrap_or_else(PoisonError::into_inner);
        tickets.retain(|_, t| t.expires > now);
        if tickets.len() >= MAX_TICKETS {
            return Err(ApiError::Busy {
                what: "too many stream tickets waiting to be used",
                retry_after_s: TICKET_TTL.as_secs(),
            });
        }
        tickets.insert(
            ticket.clone(),
            Ticket {
                principal: principal.clone(),
                expires: now + TICKET_TTL,
            },
        );
        Ok(StreamTicket {
            ticket,
            expires_in_s: TICKET_TTL.as_secs(),
        })
    }

    /// The principal a ticket was issued to, once: the ticket is gone after.
    pub fn redeem_ticket(&self, ticket: &str) -> Option<Principal> {
        let mut tickets = self.tickets.lock().unwrap_or_else(PoisonError::into_inner);
        let t = tickets.remove(ticket)?;
        (t.expires > Instant::now()).then_some(t.principal)
    }
}

fn read_tokens_file(path: &Path) -> Result<Vec<Entry>, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read tokens file {shown}: {e}"))?;
    let file: TokensFile =
        serde_json::from_str(&text).map_err(|e| format!("tokens file {shown}: {e}"))?;
    file.tokens
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            let name = t.name.trim();
            if name.is_empty() || name.len() > 64 {
                return Err(format!("tokens file {shown}: tokens[{i}].name must be 1 to 64 characters"));
            }
            let digest = parse_hex32(&t.sha256).ok_or_else(|| {
                format!("tokens file {shown}: tokens[{i}].sha256 must be 64 hex digits (the SHA-256 of the token)")
            })?;
            Ok(Entry {
                name: name.to_owned(),
                role: t.role,
                digest,
            })
        })
        .collect()
}

/// `vigie-server new-token --name alice --role admin`: makes a random token
/// and prints it once, with the line to add to the tokens file (which holds
/// only its hash).
#[derive(Debug, clap::Parser)]
#[command(name = "vigie-server new-token")]
pub struct NewToken {
    /// Who the token is for: recorded as the actor of what it does.
    #[arg(long)]
    pub name: String,
    /// viewer, operator, admin or ingest.
    #[arg(long, value_parser = parse_role)]
    pub role: Role,
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text)
        .ok_or_else(|| format!("{text:?} is not a role: viewer, operator, admin or ingest"))
}

impl NewToken {
    /// The token and the tokens file entry for it.
    pub fn make(&self) -> Result<(String, String), String> {
        let name = self.name.trim();
        if name.is_empty() || name.len() > 64 {
            return Err("--name must be 1 to 64 characters".into());
        }
        let token = random_token()?;
        let entry = serde_json::json!({
            "name": name,
            "role": self.role,
            "sha256": hex(&digest(&token)),
        });
        Ok((token, entry.to_string()))
    }
}

/// `Authorization: Bearer <token>`.
fn bearer(request: &Request) -> Option<&str> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    value.strip_prefix("Bearer ").map(str::trim)
}

/// `?ticket=…` of a stream request.
fn ticket_of(request: &Request) -> Option<&str> {
    request
        .uri()
        .query()?
        .split('&')
        .find_map(|pair| pair.strip_prefix("ticket="))
        .filter(|t| !t.is_empty())
}

fn is_read(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Headers a reverse proxy adds. Without tokens the server trusts loopback;
/// a proxy in front would make that everyone, so such requests are refused.
const PROXY_HEADERS: [&str; 4] = [
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-real-ip",
];

/// The checks in front of one route: `changes` is the role its POST, PUT
/// and DELETE need; reads need a viewer; `tickets` lets the live stream take
/// a ticket in place of a token.
#[derive(Debug, Clone)]
pub struct Guard {
    pub state: AppState,
    pub changes: Role,
    pub tickets: bool,
}

pub async fn guard(State(g): State<Guard>, mut request: Request, next: Next) -> Response {
    match check(&g, &request) {
        Ok(principal) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err(e) => e.into_response(),
    }
}

fn check(g: &Guard, request: &Request) -> Result<Principal, ApiError> {
    let auth = g.state.auth();
    let config = g.state.config();
    let read = is_read(request.method());
    if !read {
        security::check_cross_site(request, &config.cors_origins)?;
    }
    let principal = if auth.required() {
        let from_ticket = || {
            g.tickets
                .then(|| ticket_of(request))
                .flatten()
                .and_then(|t| auth.redeem_ticket(t))
        };
        let principal = match bearer(request) {
            Some(token) => auth.identify(token),
            None => from_ticket(),
        }
        .ok_or(ApiError::Unauthorized)?;
        let needed = if read { Role::Viewer } else { g.changes };
        if !principal.role.permits(needed) {
            return Err(ApiError::Forbidden {
                needed,
                have: principal.role,
            });
        }
        principal
    } else {
        if PROXY_HEADERS
            .iter()
            .any(|h| request.headers().contains_key(*h))
        {
            return Err(ApiError::ProxiedWithoutTokens);
        }
        Principal::local()
    };
    if !read {
        let limits = g.state.rate_limits();
        let (limiter, per_minute) = if g.changes == Role::Ingest {
            (&limits.ingest, config.ingest_batches_per_minute)
        } else {
            (&limits.changes, config.changes_per_minute)
        };
        let now = Instant::now();
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        let token = principal.name.as_ref().map(|n| format!("token:{n}"));
        for key in [token, peer].into_iter().flatten() {
            limiter.check(&key, per_minute, now)?;
        }
    }
    Ok(principal)
}

/// The documentation of [`session`].
pub fn session_op() -> Op {
    Op::new(
        "session",
        "Whether this server needs a token, and the name and role of the one sent (needs none itself)",
    )
    .json::<Session>(200, "the session")
}

/// `GET session/`: whether tokens are needed and who the caller is; needs no
/// token itself, so a dashboard can ask before it has one.
pub async fn session(State(state): State<Ctx>, request: Request) -> axum::Json<Session> {
    let auth = state.auth;
    let principal = if auth.required() {
        bearer(&request).and_then(|t| auth.identify(t))
    } else {
        Some(Principal::local())
    };
    axum::Json(Session {
        auth_required: auth.required(),
        name: principal.as_ref().and_then(|p| p.name.clone()),
        role: principal.map(|p| p.role),
    })
}

/// The documentation of [`stream_ticket`].
pub fn stream_ticket_op() -> Op {
    Op::new(
        "streamTicket",
        "A single-use ticket that opens the live stream (stream/?ticket=…) within 30 s, as the caller",
    )
    .json::<StreamTicket>(200, "the ticket")
    .error(503, "too many tickets handed out and not yet used, or too busy (requests in progress, time limit); Retry-After says when to try again")
}

/// `POST stream-ticket/`: a ticket for `stream/?ticket=…`, bound to the caller.
pub async fn stream_ticket(
    State(state): State<Ctx>,
    axum::Extension(principal): axum::Extension<Principal>,
) -> Result<axum::Json<StreamTicket>, ApiError> {
    state.auth.issue_ticket(&principal).map(axum::Json)
}

/// What the rate limits count: changes and ingest batches, apart.
#[derive(Debug, Default)]
pub struct RateLimits {
    pub changes: RateLimiter,
    pub ingest: RateLimiter,
}

/// The routes of this module: the session (no token needed) and stream tickets.
pub(crate) fn routes(r: crate::Routes) -> crate::Routes {
    r.change(
        Method::POST,
        vigie_api::paths::STREAM_TICKET,
        vigie_api::Role::Viewer,
        stream_ticket,
        stream_ticket_op(),
    )
    .public_get(vigie_api::paths::SESSION, session, session_op())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn config_with(f: impl FnOnce(&mut Config)) -> Config {
        let mut c = Config::local("d", "s");
        f(&mut c);
        c
    }

    #[test]
    fn a_token_is_known_by_its_hash_and_only_whole() {
        let auth = Auth::from_config(&config_with(|c| {
            c.admin_token = Some(Secret::new("0123456789abcdef"));
            c.viewer_token = Some(Secret::new("fedcba9876543210"));
        }))
        .expect("auth");
        assert!(auth.required());
        assert_eq!(
            auth.identify("0123456789abcdef"),
            Some(Principal {
                name: Some("admin".into()),
                role: Role::Admin
            })
        );
        assert_eq!(
            auth.identify("fedcba9876543210").map(|p| p.role),
            Some(Role::Viewer)
        );
        assert_eq!(auth.identify("0123456789abcde"), None);
        assert_eq!(auth.identify("0123456789abcdeF"), None);
        assert_eq!(auth.identify(""), None);
    }

    #[test]
    fn the_tokens_file_holds_hashes_with_names_and_roles() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("tokens.json");
        // `echo -n alice-token-0123456789 | sha256sum`
        let alice = "965b04f03a8200d4bff70f6df635c1d4d3e9c9a1d164d415efc95b9304bfbaf2";
        std::fs::write(
            &path,
            format!(r#"{{"tokens":[{{"name":"alice","role":"operator","sha256":"{alice}"}}]}}"#),
        )
        .expect("write");
        let auth =
            Auth::from_config(&config_with(|c| c.tokens_file = Some(path.clone()))).expect("auth");
        assert_eq!(
            auth.identify("alice-token-0123456789"),
            Some(Principal {
                name: Some("alice".into()),
                role: Role::Operator
            })
        );
        assert_eq!(auth.identify("alice-token-012345678"), None);

        for (bad, says) in [
            (
                r#"{"tokens":[{"name":"","role":"admin","sha256":"00"}]}"#,
                "name",
            ),
            (
                r#"{"tokens":[{"name":"a","role":"root","sha256":"00"}]}"#,
                "root",
            ),
            (
                r#"{"tokens":[{"name":"a","role":"admin","sha256":"zz"}]}"#,
                "sha256",
            ),
            (
                r#"{"tokens":[{"name":"a","role":"admin","sha256":"00","token":"x"}]}"#,
                "token",
            ),
        ] {
            std::fs::write(&path, bad).expect("write");
            let err = Auth::from_config(&config_with(|c| c.tokens_file = Some(path.clone())))
                .expect_err(bad);
            assert!(err.contains(says), "{err} should name {says}");
        }
    }

    #[test]
    fn short_duplicate_or_ingest_only_tokens_are_refused() {
        let err = Auth::from_config(&config_with(|c| c.admin_token = Some(Secret::new("short"))))
            .expect_err("short");
        assert!(err.contains("VIGIE_ADMIN_TOKEN"), "{err}");
        let err = Auth::from_config(&config_with(|c| {
            c.admin_token = Some(Secret::new("0123456789abcdef"));
            c.viewer_token = Some(Secret::new("0123456789abcdef"));
        }))
        .expect_err("same");
        assert!(err.contains("same token"), "{err}");
        let err = Auth::from_config(&config_with(|c| {
            c.ingest_token = Some(Secret::new("0123456789abcdef"));
        }))
        .expect_err("ingest only");
        assert!(err.contains("ingest"), "{err}");
        let open = Auth::from_config(&config_with(|_| {})).expect("no tokens");
        assert!(!open.required());
    }

    #[test]
    fn a_ticket_opens_once_and_as_its_owner() {
        let auth = Auth::from_config(&config_with(|c| {
            c.viewer_token = Some(Secret::new("fedcba9876543210"));
        }))
        .expect("auth");
        let viewer = auth.identify("fedcba9876543210").expect("viewer");
        let t = auth.issue_ticket(&viewer).expect("ticket");
        assert_eq!(t.ticket.len(), 64);
        assert_eq!(t.expires_in_s, TICKET_TTL.as_secs());
        assert_eq!(auth.redeem_ticket(&t.ticket), Some(viewer));
        assert_eq!(auth.redeem_ticket(&t.ticket), None, "single use");
        assert_eq!(auth.redeem_ticket("not-a-ticket"), None);
    }
}
