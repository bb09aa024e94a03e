//! The `postMessage` bridge with the portal that embeds the dashboard in an
//! iframe. Messages are the JSON objects of [`vigie_api::PortalMessage`] and
//! [`vigie_api::VigieMessage`].
//!
//! - A message is acted on only when it comes from the parent window, from an
//!   origin that `config.json` lists in `parent_origins`, and reads as a
//!   portal message. Anything else is ignored and counted in
//!   [`Diagnostics`].
//! - Every message the dashboard posts names its target origin exactly: the
//!   portal's, once it has spoken; before that, each allowed origin in turn
//!   (the browser delivers only to the one that matches).
//! - The portal's token is held in memory by the API client, never stored.

use std::cell::RefCell;

use leptos::prelude::*;
use vigie_api::{BridgeEvent, PortalFields, PortalMessage, VigieMessage};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

/// What the diagnostics panel shows: how many messages were taken or
/// ignored, and why the last one was ignored.
#[derive(Debug, Clone, Copy)]
pub struct Diagnostics {
    pub portal: RwSignal<Option<String>>,
    pub accepted: RwSignal<u32>,
    pub ignored: RwSignal<u32>,
    pub last_ignored: RwSignal<Option<String>>,
}

#[derive(Default)]
struct State {
    /// Origins allowed by `config.json`, normalised.
    allowed: Vec<String>,
    /// The portal's origin, once a message from it was accepted.
    portal: Option<String>,
    /// When the current token's expiry warning is due (a timeout handle).
    expiry_timer: Option<i32>,
    /// Unix ms of the last `vigie:token-expiring` sent for a refusal.
    last_refusal_ms: f64,
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

/// An origin as `MessageEvent.origin` writes it: scheme, host and port,
/// without a trailing slash or path. `None` for what is not an origin.
pub fn normalise_origin(origin: &str) -> Option<String> {
    let origin = origin.trim().trim_end_matches('/');
    let (scheme, rest) = origin.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if !matches!(scheme.as_str(), "http" | "https") || rest.is_empty() || rest.contains('/') {
        return None;
    }
    Some(format!("{scheme}://{}", rest.to_ascii_lowercase()))
}

/// Whether the page runs inside another page's frame.
pub fn is_embedded() -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    match window.parent() {
        Ok(Some(parent)) => !js_sys::Object::is(&parent, &window),
        _ => false,
    }
}

/// Whether the bridge is running (embedded, with allowed origins).
pub fn is_active() -> bool {
    STATE.with(|s| s.borrow().is_some())
}

/// Starts listening to the portal and says `vigie:ready`. `on_message` gets
/// every accepted message, in order.
pub fn start(allowed: Vec<String>, on_message: impl Fn(PortalMessage) + 'static) -> Diagnostics {
    let diagnostics = Diagnostics {
        portal: RwSignal::new(None),
        accepted: RwSignal::new(0),
        ignored: RwSignal::new(0),
        last_ignored: RwSignal::new(None),
    };
    STATE.with(|s| {
        *s.borrow_mut() = Some(State {
            allowed,
            ..State::default()
        })
    });
    let Some(window) = web_sys::window() else {
        return diagnostics;
    };
    let ignore = move |why: String| {
        diagnostics.ignored.update(|n| *n += 1);
        diagnostics.last_ignored.set(Some(why));
    };
    let listener = Closure::<dyn Fn(web_sys::MessageEvent)>::new(
        move |ev: web_sys::MessageEvent| match accept(&ev) {
            Ok((origin, message)) => {
                STATE.with(|s| {
                    if let Some(state) = s.borrow_mut().as_mut() {
                        state.portal = Some(origin.clone());
                    }
                });
                diagnostics.portal.set(Some(origin));
                diagnostics.accepted.update(|n| *n += 1);
                on_message(message);
            }
            Err(why) => ignore(why),
        },
    );
    let _ = window.add_event_listener_with_callback("message", listener.as_ref().unchecked_ref());
    // The listener lives as long as the page.
    listener.forget();
    watch_height();
    post(&VigieMessage::Ready);
    diagnostics
}

/// The message of `ev`, with its origin, or why it is ignored.
fn accept(ev: &web_sys::MessageEvent) -> Result<(String, PortalMessage), String> {
    let origin = ev.origin();
    let allowed = STATE.with(|s| {
        s.borrow()
            .as_ref()
            .is_some_and(|state| state.allowed.contains(&origin))
    });
    if !allowed {
        return Err(format!("origin {origin} is not allowed"));
    }
    let from_parent = match (
        ev.source(),
        web_sys::window().and_then(|w| w.parent().ok().flatten()),
    ) {
        (Some(source), Some(parent)) => js_sys::Object::is(&source, &parent),
        _ => false,
    };
    if !from_parent {
        return Err(format!(
            "a message from {origin} did not come from the parent window"
        ));
    }
    let message = crate::json::from_js::<PortalFields>(ev.data())
        .and_then(PortalMessage::from_fields)
        .map_err(|e| format!("a message from {origin} was not understood: {e}"))?;
    Ok((origin, message))
}

/// Posts `message` to the portal (see the module's notes on origins).
pub fn post(message: &VigieMessage) {
    if let Ok(value) = crate::json::to_js(message) {
        post_value(&value);
    }
}

fn post_value(value: &JsValue) {
    let targets = STATE.with(|s| {
        s.borrow()
            .as_ref()
            .map_or_else(Vec::new, |state| match &state.portal {
                Some(portal) => vec![portal.clone()],
                None => state.allowed.clone(),
            })
    });
    if targets.is_empty() {
        return;
    }
    let Some(parent) = web_sys::window().and_then(|w| w.parent().ok().flatten()) else {
        return;
    };
    for target in targets {
        let _ = parent.post_message(value, &target);
    }
}

/// Tells the portal that `name` happened, with `detail` (the alert, action
/// or report concerned, as a JavaScript value: see [`crate::json`]).
pub fn event(name: BridgeEvent, detail: Result<JsValue, String>) {
    if !is_active() {
        return;
    }
    let message = VigieMessage::Event {
        name,
        detail: serde_json::Value::Null,
    };
    let (Ok(message), Ok(detail)) = (crate::json::to_js(&message), detail) else {
        return;
    };
    if js_sys::Reflect::set(&message, &"detail".into(), &detail).is_ok() {
        post_value(&message);
    }
}

/// The server refused the token: ask the portal for a new one (at most
/// once every ten seconds, however many requests were refused).
pub fn token_refused() {
    let now = js_sys::Date::now();
    let due = STATE.with(|s| {
        s.borrow_mut().as_mut().is_some_and(|state| {
            let due = now - state.last_refusal_ms >= 10_000.0;
            if due {
                state.last_refusal_ms = now;
            }
            due
        })
    });
    if due {
        post(&VigieMessage::TokenExpiring { expires_at: None });
    }
}

/// How long before a token's expiry the portal is asked for a new one.
const EXPIRY_NOTICE_S: i64 = 60;

/// The `exp` claim (Unix seconds) of a JWT; `None` for any other token.
pub fn jwt_expiry(token: &str) -> Option<i64> {
    let mut parts = token.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = base64url(payload)?;
    #[derive(serde::Deserialize)]
    struct Claims {
        exp: Option<f64>,
    }
    let claims: Claims = crate::json::from_str(std::str::from_utf8(&bytes).ok()?).ok()?;
    claims.exp.map(|exp| exp as i64)
}

/// Decodes unpadded base64url.
fn base64url(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        } as u32)
    };
    let text = text.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.chunks(4) {
        if chunk.len() == 1 {
            return None;
        }
        let mut n = 0_u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= value(c)? << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

/// Schedules `vigie:token-expiring` a minute before `token` expires, when
/// it is a JWT with `exp`; a previous token's warning is cancelled.
pub fn watch_token(token: &str) {
    let Some(window) = web_sys::window() else {
        return;
    };
    if let Some(old) = STATE.with(|s| {
        s.borrow_mut()
            .as_mut()
            .and_then(|st| st.expiry_timer.take())
    }) {
        window.clear_timeout_with_handle(old);
    }
    let Some(exp) = jwt_expiry(token) else {
        return;
    };
    let now_s = (js_sys::Date::now() / 1000.0) as i64;
    let wait_ms = ((exp - EXPIRY_NOTICE_S - now_s).max(0) * 1000).min(i64::from(i32::MAX));
    let notify = Closure::once_into_js(move || {
        post(&VigieMessage::TokenExpiring {
            expires_at: Some(exp),
        });
    });
    if let Ok(handle) = window.set_timeout_with_callback_and_timeout_and_arguments_0(
        notify.unchecked_ref(),
        wait_ms as i32,
    ) {
        STATE.with(|s| {
            if let Some(state) = s.borrow_mut().as_mut() {
                state.expiry_timer = Some(handle);
            }
        });
    }
}

/// Says `vigie:height` whenever the content's height changes, so that the
/// portal sizes the iframe to it and no inner scrollbar shows.
fn watch_height() {
    let Some(body) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.body())
    else {
        return;
    };
    let last = std::cell::Cell::new(0_u32);
    let measure = body.clone();
    let on_resize = Closure::<dyn FnMut(js_sys::Array)>::new(move |_entries: js_sys::Array| {
        let height = measure.get_bounding_client_rect().height().ceil().max(0.0) as u32;
        if height != last.get() {
            last.set(height);
            post(&VigieMessage::Height { height });
        }
    });
    if let Ok(observer) = web_sys::ResizeObserver::new(on_resize.as_ref().unchecked_ref()) {
        observer.observe(&body);
        // Both live as long as the page.
        std::mem::forget(observer);
        on_resize.forget();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalised_or_refused() {
        assert_eq!(
            normalise_origin(" https://Admin.Example.com/ ").as_deref(),
            Some("https://admin.example.com")
        );
        assert_eq!(
            normalise_origin("http://127.0.0.1:4000").as_deref(),
            Some("http://127.0.0.1:4000")
        );
        assert_eq!(normalise_origin("https://a.example/portal"), None);
        assert_eq!(normalise_origin("*"), None);
        assert_eq!(normalise_origin("javascript://x"), None);
        assert_eq!(normalise_origin("https://"), None);
    }

    #[test]
    fn a_jwt_says_when_it_expires() {
        // {"alg":"HS256","typ":"JWT"} . {"sub":"ops","exp":1798761600} . signature
        let token =
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJvcHMiLCJleHAiOjE3OTg3NjE2MDB9.c2ln";
        assert_eq!(jwt_expiry(token), Some(1_798_761_600));
        assert_eq!(jwt_expiry("an-opaque-token"), None);
        assert_eq!(jwt_expiry("a.b"), None);
        assert_eq!(
            jwt_expiry("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcHMifQ.c2ln"),
            None
        );
        assert_eq!(base64url("aGk"), Some(b"hi".to_vec()));
        assert_eq!(base64url("a"), None);
        assert_eq!(base64url("a*cd"), None);
    }
}
