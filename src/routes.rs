//! The pages the router shows, each but the overview in its own wasm chunk.
//!
//! Built with the `split` feature (`cargo xtask dist`, `run`, `test`), each
//! page below is a split point: its code is left out of the first download
//! and fetched the first time the page is shown (or earlier, when the
//! browser is idle: [`prefetch_when_idle`]). A chunk that fails to load
//! (network error, a deployment that removed it) shows a message with a
//! Retry button that loads it again, in place. Without the feature (`trunk
//! serve`) the same functions are plain calls and everything is one module.
//!
//! A page's code lands in its chunk only if nothing outside its split point
//! names the page's component: the router names the wrappers here, never
//! the pages themselves.

use std::future::Future;
use std::pin::Pin;

use leptos::prelude::*;

use crate::i18n;

/// A page's wasm chunk could not be loaded; the details are on the console.
#[derive(Debug, Clone, Copy)]
pub struct ChunkLoadError;

#[cfg(feature = "split")]
impl From<wasm_split_helpers::SplitLoaderError> for ChunkLoadError {
    fn from(_: wasm_split_helpers::SplitLoaderError) -> Self {
        ChunkLoadError
    }
}

type PageFuture = Pin<Box<dyn Future<Output = Result<AnyView, ChunkLoadError>>>>;

/// `$route`: the component the router shows, loading `$page` through the
/// split point `$split` (the chunk's name, `split_$split`).
macro_rules! lazy_page {
    ($(#[$doc:meta])* $route:ident => $split:ident, $page:path) => {
        #[cfg_attr(feature = "split", wasm_split_helpers::wasm_split($split, fallible))]
        fn $split() -> Result<AnyView, ChunkLoadError> {
            Ok(view! { <$page /> }.into_any())
        }

        $(#[$doc])*
        pub fn $route() -> impl IntoView {
            fn load() -> PageFuture {
                Box::pin(async {
                    #[cfg(feature = "split")]
                    let page = $split().await;
                    #[cfg(not(feature = "split"))]
                    let page = $split();
                    page
                })
            }
            view! { <LazyPage load=load /> }
        }
    };
}

lazy_page!(
    /// `/targets`.
    targets => targets_page, crate::pages::targets::Targets
);
lazy_page!(
    /// `/endpoints`.
    endpoints => endpoints_page, crate::pages::endpoints::Endpoints
);
lazy_page!(
    /// `/alerts`.
    alerts => alerts_page, crate::pages::alerts::Alerts
);
lazy_page!(
    /// `/alerts/rules`.
    alert_rules => alert_rules_page, crate::pages::alert_rules::AlertRules
);
lazy_page!(
    /// `/scaling`.
    scaling => scaling_page, crate::pages::scaling::Scaling
);
lazy_page!(
    /// `/cache`.
    cache => cache_page, crate::pages::cache::Cache
);
lazy_page!(
    /// `/slow-queries`.
    slow_queries => slow_queries_page, crate::pages::slow_queries::SlowQueries
);
lazy_page!(
    /// `/reports`.
    reports => reports_page, crate::pages::reports::Reports
);
lazy_page!(
    /// `/recommendations`.
    recommendations => recommendations_page, crate::pages::recommendations::Recommendations
);

/// Where a page's chunk stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Load {
    Loading,
    Ready,
    Failed,
}

/// Loads a page (its chunk first, when split) under this component's owner,
/// then shows it; on failure, a message and a Retry button.
#[component]
fn LazyPage(load: fn() -> PageFuture) -> impl IntoView {
    let state = RwSignal::new(Load::Loading);
    let page = StoredValue::new_local(None::<AnyView>);
    // The page's component body runs inside the chunk once it is loaded:
    // its signals and contexts belong to this component, also when the load
    // was started by the Retry button's click; and the load is dropped if
    // this component goes first (navigated away before the chunk came).
    let owner = Owner::current().unwrap_or_default();
    let attempt = move || {
        state.set(Load::Loading);
        owner.with(|| {
            leptos::task::spawn_local_scoped_with_cancellation(async move {
                match load().await {
                    Ok(view) => {
                        page.try_set_value(Some(view));
                        state.try_set(Load::Ready);
                    }
                    Err(ChunkLoadError) => {
                        state.try_set(Load::Failed);
                    }
                }
            });
        });
    };
    attempt.clone()();
    move || match state.get() {
        // Nothing for the first instants: a chunk from cache is there
        // within a frame, and a flash of "Loading" would be noise.
        Load::Loading => view! { <div class="page-loading" aria-busy="true"></div> }.into_any(),
        Load::Ready => page
            .try_update_value(Option::take)
            .flatten()
            .unwrap_or_else(|| ().into_any()),
        Load::Failed => {
            let t = t();
            let attempt = attempt.clone();
            view! {
                <section class="chunk-error" role="alert">
                    <h1>{t.title}</h1>
                    <p>{t.body}</p>
                    <button type="button" class="primary" on:click=move |_| attempt.clone()()>
                        {t.retry}
                    </button>
                </section>
            }
            .into_any()
        }
    }
}

/// When the browser is idle after the first page is up, fetch the other
/// pages' chunks, so that moving to one does not wait for the network.
/// Nothing is run: a loaded chunk only defines functions.
pub fn prefetch_when_idle() {
    #[cfg(feature = "split")]
    {
        use wasm_bindgen::JsCast;
        use wasm_bindgen::closure::Closure;
        let Some(window) = web_sys::window() else {
            return;
        };
        let fetch_all = Closure::once_into_js(|| {
            leptos::task::spawn_local(async {
                // One after the other: they share the connection with the
                // page's own requests. A failure is retried on first visit.
                let _ = __wasm_split_preload_targets_page().await;
                let _ = __wasm_split_preload_endpoints_page().await;
                let _ = __wasm_split_preload_alerts_page().await;
                let _ = __wasm_split_preload_alert_rules_page().await;
                let _ = __wasm_split_preload_scaling_page().await;
                let _ = __wasm_split_preload_reports_page().await;
                let _ = __wasm_split_preload_cache_page().await;
                let _ = __wasm_split_preload_slow_queries_page().await;
                let _ = __wasm_split_preload_recommendations_page().await;
            });
        });
        let idle = js_sys::Reflect::get(&window, &"requestIdleCallback".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        let _ = match idle {
            Some(request) => request.call1(&window, &fetch_all).map(drop),
            None => window
                .set_timeout_with_callback_and_timeout_and_arguments_0(
                    fetch_all.unchecked_ref(),
                    2000,
                )
                .map(drop),
        };
    }
}

struct Text {
    title: &'static str,
    body: &'static str,
    retry: &'static str,
}

const EN: Text = Text {
    title: "This page could not be loaded",
    body: "Its code did not arrive: the network failed, or Vigie was updated since this tab opened (reloading the tab then helps).",
    retry: "Retry",
};

const FR: Text = Text {
    title: "Cette page n'a pas pu être chargée",
    body: "Son code n'est pas arrivé : le réseau a échoué, ou Vigie a été mis à jour depuis l'ouverture de l'onglet (recharger l'onglet aide alors).",
    retry: "Réessayer",
};

fn t() -> &'static Text {
    i18n::pick(&EN, &FR)
}
