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

/// An action running `call` with its input, then bumping `changed` (which
/// the list's resource reads), whatever the outcome.
pub fn refetching_action<I, O, F, Fut>(changed: RwSignal<u32>, call: F) -> Action<I, O>
where
    I: 'static,
    O: 'static,
    F: Fn(&I) -> Fut + 'static,
    Fut: Future<Output = O> + 'static,
{
    Action::new_local(move |input: &I| {
        let done = call(input);
        async move {
            let out = done.await;
            changed.update(|n| *n += 1);
            out
        }
    })
}

/// What a form that adds an item or saves the one being edited needs from
/// the API: create, replace.
pub trait Saved: Clone + 'static {
    fn create(client: &ApiClient, item: &Self) -> impl Future<Output = Result<(), ClientError>>;
    fn replace(
        client: &ApiClient,
        id: i64,
        item: &Self,
    ) -> impl Future<Output = Result<(), ClientError>>;
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
            let done = match editing {
                Some(id) => S::replace(&client, id, &item).await,
                None => S::create(&client, &item).await,
            };
            match done {
                Ok(()) => saved(),
                Err(e) => error.set(Some(e)),
            }
        }
    })
}
