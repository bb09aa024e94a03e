//! What the pages that list things and change them share: the last list
//! received, kept while the next one loads or fails, and actions that make
//! the list refetch once they are done.

use std::future::Future;

use leptos::prelude::*;

use crate::api::ClientError;

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
