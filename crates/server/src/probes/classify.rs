//! Turns a transport error into an [`Outcome`], by walking the error's sources:
//! the connection-refused and timed-out I/O errors, the resolver's failure and
//! any rustls error are each recognised by type or by the resolver's message.

use std::error::Error;

use vigie_api::Outcome;

pub fn classify(e: &reqwest::Error) -> Outcome {
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
