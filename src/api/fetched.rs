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
}

/// The state after `answer` (`None`: the first request is under way): an
/// answer replaces the value, nothing asked clears it, and a failure (of the
/// request or of decoding) keeps the last value beside its error.
fn next<T: DeserializeOwned + Clone>(prev: Option<&State<T>>, answer: Option<&Answer>) -> State<T> {
    let decoded = match answer {
        None => {
            return prev.cloned().unwrap_or(State {
                value: None,
                error: None,
            });
        }
        Some(Ok(None)) => Ok(None),
        Some(Ok(Some(document))) => document.decode().map(Some).map_err(ClientError::Decode),
        Some(Err(e)) => Err(e.clone()),
    };
    match decoded {
        Ok(value) => State { value, error: None },
        Err(error) => State {
            value: prev.and_then(|p| p.value.clone()),
            error: Some(error),
        },
    }
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
            raw.with(|answer| next(prev, answer.as_ref()))
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
}

#[cfg(test)]
mod tests {
    use vigie_api::ErrorBody;

    use super::*;

    #[derive(Debug, Clone, PartialEq, serde::Deserialize)]
    struct Count {
        n: u32,
    }

    fn document(text: &str) -> Answer {
        Ok(Some(Document::parse(text).expect("JSON")))
    }

    #[test]
    fn a_failure_keeps_the_last_answer_beside_its_error_and_nothing_asked_clears_both() {
        let loading: State<Count> = next(None, None);
        assert_eq!((loading.value, loading.error), (None, None));

        let first = next(None, Some(&document(r#"{"n": 1}"#)));
        assert_eq!(first.value, Some(Count { n: 1 }));
        assert_eq!(first.error, None);
        assert_eq!(
            next(Some(&first), None),
            first,
            "a refetch under way keeps the state"
        );

        let refused = ClientError::Api {
            status: 503,
            body: ErrorBody {
                error: "store unavailable".into(),
                field: None,
                required_role: None,
            },
        };
        let failed = next(Some(&first), Some(&Err(refused.clone())));
        assert_eq!(failed.value, Some(Count { n: 1 }));
        assert_eq!(failed.error, Some(refused));

        let odd = next(Some(&failed), Some(&document(r#"{"n": "one"}"#)));
        assert_eq!(odd.value, Some(Count { n: 1 }));
        assert!(
            matches!(odd.error, Some(ClientError::Decode(_))),
            "{:?}",
            odd.error
        );

        let second = next(Some(&odd), Some(&document(r#"{"n": 2}"#)));
        assert_eq!(
            (second.value.clone(), second.error.clone()),
            (Some(Count { n: 2 }), None)
        );

        let cleared = next(Some(&second), Some(&Ok(None)));
        assert_eq!((cleared.value, cleared.error), (None, None));
    }
}
