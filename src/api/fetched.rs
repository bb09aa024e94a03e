//! Answers of `GET` requests as reactive values.
//!
//! A page says which URL to ask (a signal: asked again whenever it
//! notifies, a tick as much as a change of range) and what type the answer
//! decodes to. Every [`Fetched`] shares one resource type that holds the
//! parsed JSON document, whatever the answer's type: the framework's
//! resource and future code is built once for all of them, and each type
//! adds only its decoding.

use leptos::prelude::*;
use serde::de::DeserializeOwned;

use super::{ApiClient, ClientError};
use crate::json::Document;

/// What a request's resource holds: nothing asked (`Ok(None)`), the
/// document received, or why there is none.
type Answer = Result<Option<Document>, ClientError>;

/// The URL to ask, `None` for nothing to ask, or why it could not be
/// written.
pub type Ask = Result<Option<String>, ClientError>;

/// The resource every [`Fetched`] is built on: not generic, so that its
/// code exists once.
fn resource(client: ApiClient, url: Signal<Ask>) -> LocalResource<Answer> {
    LocalResource::new(move || {
        let url = url.get();
        let client = client.clone();
        async move {
            match url? {
                Some(url) => client.get_document(&url).await.map(Some),
                None => Ok(None),
            }
        }
    })
}

/// The last answer decoded and the error of the last request.
#[derive(Debug, Clone, PartialEq)]
struct State<T> {
    value: Option<T>,
    error: Option<ClientError>,
    /// An answer (or `None` for nothing asked) has been received.
    settled: bool,
}

/// The answer of a `GET` of the URL a closure gives (`Ok(None)`: nothing to
/// ask, and no answer shown), asked again whenever what the closure read
/// changes.
pub struct Fetched<T: Send + Sync + 'static> {
    raw: LocalResource<Answer>,
    state: Memo<State<T>>,
}

impl<T: Send + Sync + 'static> std::fmt::Debug for Fetched<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fetched")
    }
}

impl<T: Send + Sync + 'static> Clone for Fetched<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for Fetched<T> {}

impl<T> Fetched<T>
where
    T: DeserializeOwned + Clone + PartialEq + Send + Sync + 'static,
{
    /// Asks `url` each time it notifies; keeps the last answer while the
    /// next one loads or fails.
    pub fn new(url: impl Fn() -> Ask + Send + Sync + 'static) -> Self {
        let client = expect_context::<ApiClient>();
        let raw = resource(client, Signal::derive(url));
        let state = Memo::new(move |prev: Option<&State<T>>| {
            let kept = || prev.and_then(|p| p.value.clone());
            raw.with(|answer| match answer {
                None => State {
                    value: kept(),
                    error: prev.and_then(|p| p.error.clone()),
                    settled: prev.is_some_and(|p| p.settled),
                },
                Some(Ok(None)) => State {
                    value: None,
                    error: None,
                    settled: true,
                },
                Some(Ok(Some(document))) => match document.decode::<T>() {
                    Ok(value) => State {
                        value: Some(value),
                        error: None,
                        settled: true,
                    },
                    Err(e) => State {
                        value: kept(),
                        error: Some(ClientError::Decode(e)),
                        settled: true,
                    },
                },
                Some(Err(e)) => State {
                    value: kept(),
                    error: Some(e.clone()),
                    settled: true,
                },
            })
        });
        Fetched { raw, state }
    }
}

impl<T: Clone + PartialEq + Send + Sync + 'static> Fetched<T> {
    /// The last answer received (tracked).
    pub fn get(self) -> Option<T> {
        self.state.with(|s| s.value.clone())
    }

    /// Reads the last answer without cloning it (tracked).
    pub fn with<R>(self, f: impl FnOnce(Option<&T>) -> R) -> R {
        self.state.with(|s| f(s.value.as_ref()))
    }

    /// Why the last request gave no answer (tracked).
    pub fn error(self) -> Option<ClientError> {
        self.state.with(|s| s.error.clone())
    }

    /// Asks again now.
    pub fn refetch(self) {
        self.raw.refetch();
    }

    /// Whether a first answer (or error) has arrived (tracked).
    pub fn settled(self) -> bool {
        self.state.with(|s| s.settled)
    }
}
