//! What keeps other web pages out, whatever the tokens: the `Host` check
//! (DNS rebinding: a hostile name resolving to this server is refused), the
//! cross-site checks of changes (a JSON `Content-Type`, which a page cannot
//! send without a CORS preflight, and an `Origin` that is this server's own
//! or on the CORS allowlist), and the headers every answer carries:
//! `nosniff`, `no-referrer`, and a Content-Security-Policy — for the
//! dashboard one that allows only its own scripts (with the hashes of the
//! inline start-up script the build writes), its own API and the configured
//! ones, and framing only by the configured portals.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};
use vigie_api::paths;

use crate::config::Config;
use crate::error::ApiError;

/// The host names and addresses this server answers to.
#[derive(Debug, Clone)]
pub struct HostPolicy {
    names: Vec<String>,
    bind: IpAddr,
}

/// Without a port, brackets or a trailing dot (case kept: names compare
/// without it).
fn host_part(authority: &str) -> &str {
    let authority = authority.trim();
    let host = if let Some(rest) = authority.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
            _ => authority,
        }
    };
    host.trim_end_matches('.')
}

impl HostPolicy {
    pub fn from_config(config: &Config) -> Self {
        HostPolicy {
            names: config
                .allowed_hosts
                .iter()
                .map(|h| host_part(h).to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
            bind: config.addr.ip(),
        }
    }

    /// Names beyond loopback: they mean the server is reached from elsewhere.
    pub fn has_outside_names(&self) -> bool {
        self.names.iter().any(|n| match n.parse::<IpAddr>() {
            Ok(ip) => !ip.is_loopback(),
            Err(_) => n != "localhost",
        })
    }

    /// Whether a request with this `Host` is for this server. An address is
    /// accepted when it is loopback, the bind address, or any address when
    /// bound to all interfaces (a literal address cannot be rebound); a name
    /// only when it is `localhost` or configured.
    pub fn allows(&self, host_header: &str) -> bool {
        let host = host_part(host_header);
        if host.is_empty() {
            return false;
        }
        if self.names.iter().any(|n| n.eq_ignore_ascii_case(host)) {
            return true;
        }
        match host.parse::<IpAddr>() {
            Ok(ip) => ip.is_loopback() || self.bind.is_unspecified() || ip == self.bind,
            Err(_) => host.eq_ignore_ascii_case("localhost"),
        }
    }
}

/// The protections every request goes through, in one middleware: the
/// `Host` check (421 for a name this server does not answer to) and the
/// security headers on every answer, refusals included.
#[derive(Debug)]
pub struct Protection {
    pub hosts: HostPolicy,
    pub csp: Csp,
}

impl Protection {
    pub fn from_config(config: &Config) -> Self {
        Protection {
            hosts: HostPolicy::from_config(config),
            csp: Csp::from_config(config),
        }
    }
}

/// Refuses a request whose `Host` is not this server's (421), and sets the
/// security headers on whatever is answered.
pub async fn protect(State(p): State<Arc<Protection>>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()));
    let refusal = match host {
        Some(h) if p.hosts.allows(h) => None,
        Some(h) => Some(ApiError::MisdirectedHost(h.to_owned())),
        None => Some(ApiError::bad_request("Host", "the Host header is missing")),
    };
    let api = is_api(request.uri().path());
    let response = match refusal {
        None => next.run(request).await,
        Some(e) => e.into_response(),
    };
    with_headers(&p.csp, api, response)
}

/// The scheme-less `host[:port]` of an origin such as `https://a.example:8443`.
fn origin_authority(origin: &str) -> Option<&str> {
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))?;
    Some(rest.trim_end_matches('/'))
}

/// A change from a browser must come from this server's own page or an
/// allowed origin, and carry JSON: a cross-site form or `no-cors` fetch can
/// send neither.
pub fn check_cross_site(request: &Request, cors_origins: &[String]) -> Result<(), ApiError> {
    let headers = request.headers();
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("").trim();
        let own = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .is_some_and(|host| {
                origin_authority(origin).is_some_and(|a| a.eq_ignore_ascii_case(host.trim()))
            });
        let listed = cors_origins
            .iter()
            .any(|o| o.trim().trim_end_matches('/').eq_ignore_ascii_case(origin));
        if !own && !listed {
            return Err(ApiError::CrossSite(format!(
                "a change from the page at origin {origin:?} is refused: it is neither this server's nor in VIGIE_CORS_ORIGINS"
            )));
        }
    } else if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"))
    {
        return Err(ApiError::CrossSite(
            "a cross-site change without an Origin is refused".into(),
        ));
    }
    // DELETE carries no body and a browser always preflights it.
    if matches!(*request.method(), Method::POST | Method::PUT) && !is_json(headers) {
        return Err(ApiError::UnsupportedMediaType);
    }
    Ok(())
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// Builds the dashboard's Content-Security-Policy; the hashes of the inline
/// scripts of `index.html` are recomputed when the file changes (a rebuild
/// while the server runs).
#[derive(Debug)]
pub struct Csp {
    index: PathBuf,
    connect_src: Vec<String>,
    frame_ancestors: Vec<String>,
    cached: Mutex<Option<(Option<SystemTime>, HeaderValue)>>,
}

/// The bodies of the `<script>` elements without `src` in `html`.
pub fn inline_scripts(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start..];
        let Some(open_end) = after.find('>') else {
            break;
        };
        let open_tag = &after[..open_end];
        let body_start = open_end + 1;
        let Some(close) = after[body_start..].find("</script>") else {
            break;
        };
        if !open_tag.contains(" src=") && !open_tag.contains(" src =") {
            out.push(&after[body_start..body_start + close]);
        }
        rest = &after[body_start + close + "</script>".len()..];
    }
    out
}

/// `'sha256-…'` of a script body, as CSP wants it.
pub fn script_hash(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// Origins as CSP sources: trimmed, without a trailing slash; anything with
/// a character CSP would misread is left out.
fn sources(list: &[String]) -> Vec<String> {
    list.iter()
        .map(|o| o.trim().trim_end_matches('/').to_owned())
        .filter(|o| !o.is_empty() && !o.contains([';', ',', ' ', '\'', '"']))
        .collect()
}

impl Csp {
    pub fn from_config(config: &Config) -> Self {
        Csp::new(
            config.static_dir.join("index.html"),
            &config.connect_src,
            &config.frame_ancestors,
        )
    }

    /// The policy of the page `index`: its inline scripts, the API origins
    /// `connect_src` and the portals `frame_ancestors`.
    pub fn new(index: PathBuf, connect_src: &[String], frame_ancestors: &[String]) -> Self {
        Csp {
            index,
            connect_src: sources(connect_src),
            frame_ancestors: sources(frame_ancestors),
            cached: Mutex::new(None),
        }
    }

    pub fn frames_allowed(&self) -> bool {
        !self.frame_ancestors.is_empty()
    }

    /// The policy for `script_hashes` (the inline scripts allowed).
    pub fn policy(&self, script_hashes: &[String]) -> String {
        let mut script = vec!["'self'".to_owned(), "'wasm-unsafe-eval'".to_owned()];
        script.extend(script_hashes.iter().cloned());
        let mut connect = vec!["'self'".to_owned()];
        connect.extend(self.connect_src.iter().cloned());
        let ancestors = if self.frame_ancestors.is_empty() {
            "'none'".to_owned()
        } else {
            self.frame_ancestors.join(" ")
        };
        // `style-src-attr`: plotters measures text with a `<span>` whose
        // `style` attribute it sets; attributes cannot load anything or run
        // script, while `<style>` elements and sheets stay 'self' only.
        format!(
            "default-src 'self'; script-src {}; style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; \
             connect-src {}; frame-ancestors {ancestors}; base-uri 'self'; form-action 'self'; \
             object-src 'none'",
            script.join(" "),
            connect.join(" ")
        )
    }

    fn header(&self) -> HeaderValue {
        let modified = std::fs::metadata(&self.index)
            .and_then(|m| m.modified())
            .ok();
        let mut cached = self.cached.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((at, value)) = &*cached
            && *at == modified
        {
            return value.clone();
        }
        let html = std::fs::read_to_string(&self.index).unwrap_or_default();
        let hashes: Vec<String> = inline_scripts(&html).into_iter().map(script_hash).collect();
        let value = HeaderValue::from_str(&self.policy(&hashes))
            .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"));
        *cached = Some((modified, value.clone()));
        value
    }
}

/// Paths that answer JSON or text, never a page.
fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || [paths::PROMETHEUS, paths::LIVEZ, paths::READYZ].contains(&path)
}

/// Every answer: `nosniff` and `no-referrer`; HTML (and a 304 revalidating
/// it) gets the dashboard's CSP, anything else a CSP that allows nothing
/// (JSON is never a page).
fn with_headers(csp: &Csp, api: bool, mut response: Response) -> Response {
    // A 304 has no Content-Type, yet its headers replace the cached page's:
    // a revalidated dashboard must keep the dashboard's policy.
    let html = !api
        && (response.status() == StatusCode::NOT_MODIFIED
            || response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/html")));
    let h = response.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if html {
        h.insert(header::CONTENT_SECURITY_POLICY, csp.header());
        if !csp.frames_allowed() {
            h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        }
    } else {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(bind: &str, names: &[&str]) -> HostPolicy {
        let mut c = Config::local("d", "s");
        c.addr = bind.parse().expect("addr");
        c.allowed_hosts = names.iter().map(|n| (*n).to_owned()).collect();
        HostPolicy::from_config(&c)
    }

    #[test]
    fn hosts_answered_and_refused() {
        let p = policy("127.0.0.1:8080", &[]);
        for ok in [
            "127.0.0.1:8080",
            "localhost:8080",
            "LOCALHOST",
            "[::1]:8080",
            "127.0.0.2",
            "localhost.",
        ] {
            assert!(p.allows(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8080",
            "10.0.0.5:8080",
            "localhost.evil.example",
            "",
            "127.0.0.1.nip.io",
        ] {
            assert!(!p.allows(bad), "{bad}");
        }
        let p = policy("0.0.0.0:8080", &["vigie.example.com"]);
        assert!(p.allows("10.0.0.5:8080"), "any address when bound to all");
        assert!(p.allows("Vigie.Example.com:443"));
        assert!(!p.allows("evil.example"));
        assert!(p.has_outside_names());
        assert!(!policy("127.0.0.1:0", &["localhost", "127.0.0.1"]).has_outside_names());
        let p = policy("192.168.1.10:8080", &[]);
        assert!(p.allows("192.168.1.10:8080"));
        assert!(!p.allows("192.168.1.11:8080"));
    }

    #[test]
    fn inline_scripts_are_found_and_hashed_like_a_browser_does() {
        let html = r#"<head><script type="module" src="/a.js"></script>
<script type="module">import init from '/vigie.js';await init();</script></head>"#;
        let scripts = inline_scripts(html);
        assert_eq!(scripts, vec!["import init from '/vigie.js';await init();"]);
        // `printf %s "import init from '/vigie.js';await init();" | openssl dgst -sha256 -binary | base64`
        assert_eq!(
            script_hash(scripts[0]),
            "'sha256-pmjDvQ/s5gYl56WYhTpca34HVyNlQmzmNktuIqRlBuc='"
        );
    }

    #[test]
    fn the_policy_lists_portals_and_apis_or_forbids_framing() {
        let mut c = Config::local("d", "s");
        let csp = Csp::from_config(&c).policy(&[]);
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval';"),
            "{csp}"
        );
        c.frame_ancestors = vec!["https://portal.example/".into(), "bad; script-src *".into()];
        c.connect_src = vec!["https://api.example".into()];
        let csp = Csp::from_config(&c).policy(&["'sha256-x'".into()]);
        assert!(
            csp.contains("frame-ancestors https://portal.example;"),
            "{csp}"
        );
        assert!(
            csp.contains("connect-src 'self' https://api.example;"),
            "{csp}"
        );
        assert!(csp.contains("'wasm-unsafe-eval' 'sha256-x';"), "{csp}");
        assert!(!csp.contains("script-src *"), "{csp}");
    }
}
