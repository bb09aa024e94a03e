//! What the pages that list things and change them share: the last list
//! received, kept while the next one loads or fails, and actions that make
//! the list refetch once they are done.

use std::future::Future;

use leptos::prelude::*;

use crate::api::{ApiClient, ClientError};

/// The items of the last list `fetched` answered; the previous ones while a
/// request is under way or failed (its error is shown apart).
pub fn last_list<L, T>(
    fetched: LocalResource<Result<L, ClientError>>,
    items: fn(L) -> Vec<T>,
) -> Memo<Vec<T>>
where
    L: Clone + 'static,
    T: Clone + PartialEq + Send + Sync + 'static,
{
    Memo::new(move |prev: Option<&Vec<T>>| match fetched.get() {
        Some(Ok(list)) => items(list),
        _ => prev.cloned().unwrap_or_default(),
    })
}

/// The last answer `fetched` gave; the previous one while a request is
/// under way or failed (its error is shown apart).
pub fn last_answer<T>(fetched: LocalResource<Result<T, ClientError>>) -> Memo<Option<T>>
where
    T: Clone + PartialEq + Send + Sync + 'static,
{
    Memo::new(move |prev: Option<&Option<T>>| match fetched.get() {
        Some(Ok(answer)) => Some(answer),
        _ => prev.cloned().flatten(),
    })
}

/// The error of the last request of `fetched`, as text.
pub fn load_error<T>(
    fetched: LocalResource<Result<T, ClientError>>,
) -> impl Fn() -> Option<String> + Copy + Send + Sync + 'static
where
    T: Clone + 'static,
{
    move || match fetched.get() {
        Some(Err(e)) => Some(e.to_string()),
        _ => None,
    }
}

/// The name of the target of an id, from the targets fetched again each time
/// `changed` moves.
pub fn target_names(
    changed: RwSignal<u32>,
) -> impl Fn(i64) -> Option<String> + Copy + Send + Sync + 'static {
    let client = expect_context::<ApiClient>();
    let targets = LocalResource::new(move || {
        changed.get();
        let client = client.clone();
        async move { client.targets().await }
    });
    move |id: i64| match targets.get() {
        Some(Ok(list)) => list
            .targets
            .into_iter()
            .find(|t| t.id == id)
            .map(|t| t.spec.name),
        _ => None,
    }
}

/// An action running `call` with a client and its input, then bumping
/// `changed` (which the list's resource reads), whatever the outcome.
pub fn refetching_action<I, O, F, Fut>(
    changed: RwSignal<u32>,
    client: &ApiClient,
    call: F,
) -> Action<I, O>
where
    I: 'static,
    O: 'static,
    F: Fn(ApiClient, &I) -> Fut + 'static,
    Fut: Future<Output = O> + 'static,
{
    let client = client.clone();
    Action::new_local(move |input: &I| {
        let done = call(client.clone(), input);
        async move {
            let out = done.await;
            changed.update(|n| *n += 1);
            out
        }
    })
}

/// The error the last run of `action` ended with.
pub fn action_error<I, O>(action: Action<I, Result<O, ClientError>>) -> Option<ClientError>
where
    I: 'static,
    O: Clone + 'static,
{
    action.value().get().and_then(Result::err)
}

/// What a form that adds an item or saves the one being edited needs from
/// the API: the collection its items are created in (`POST path`) and
/// replaced in (`PUT path/{id}`).
pub trait Saved: serde::Serialize + Clone + 'static {
    const PATH: &'static str;
}

/// The save action of such a form: creates (no id) or replaces (an id); then
/// `saved`, or the error (whose field the form shows) into `error`.
pub fn save_action<S: Saved>(
    client: ApiClient,
    error: RwSignal<Option<ClientError>>,
    saved: impl Fn() + Copy + 'static,
) -> Action<(Option<i64>, S), ()> {
    Action::new_local(move |(editing, item): &(Option<i64>, S)| {
        let client = client.clone();
        let (editing, item) = (*editing, item.clone());
        async move {
            let done: Result<serde::de::IgnoredAny, _> = match editing {
                Some(id) => client.replace_in(S::PATH, id, &item).await,
                None => client.create_in(S::PATH, &item).await,
            };
            match done {
                Ok(_) => saved(),
                Err(e) => error.set(Some(e)),
            }
        }
    })
}
