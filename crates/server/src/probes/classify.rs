//! Turns a transport error into an [`Outcome`], by walking the error's sources:
//! the fetch policy's refusal (from the resolver or the redirect policy), the
//! connection-refused and timed-out I/O errors, the resolver's failure and
//! any rustls error are each recognised by type or by the resolver's message.

use std::error::Error;

use vigie_api::Outcome;

use crate::fetch_policy::Blocked;

pub fn classify(e: &reqwest::Error) -> Outcome {
    // First: the resolver's refusal is wrapped in hyper-util's "dns error",
    // which the walk below would take for a resolution failure.
    if blocked(e).is_some() {
        return Outcome::Blocked;
    }
    if e.is_timeout() {
        return Outcome::Timeout;
    }
    let mut source: Option<&(dyn Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.downcast_ref::<rustls::Error>().is_some() {
            return Outcome::Tls;
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && let Some(outcome) = classify_io(io)
        {
            return outcome;
        }
        // hyper-util's connector reports resolver failures as "dns error".
        if err.to_string().starts_with("dns error") {
            return Outcome::Dns;
        }
        source = err.source();
    }
    Outcome::Error
}

/// An `io::Error` wraps its cause without exposing it as `source()` (it
/// forwards the cause's own source instead): look inside with `get_ref`.
fn classify_io(io: &std::io::Error) -> Option<Outcome> {
    match io.kind() {
        std::io::ErrorKind::ConnectionRefused => return Some(Outcome::Refused),
        std::io::ErrorKind::TimedOut => return Some(Outcome::Timeout),
        _ => {}
    }
    let inner = io.get_ref()?;
    if inner.is::<rustls::Error>() {
        return Some(Outcome::Tls);
    }
    inner.downcast_ref::<std::io::Error>().and_then(classify_io)
}

/// The fetch policy's refusal somewhere in `e`'s sources, if that is why the
/// request failed.
pub fn blocked(e: &reqwest::Error) -> Option<&Blocked> {
    let mut source: Option<&(dyn Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(b) = err.downcast_ref::<Blocked>() {
            return Some(b);
        }
        if let Some(b) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<Blocked>())
        {
            return Some(b);
        }
        source = err.source();
    }
    None
}
