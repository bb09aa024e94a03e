//! The Vigie dashboard: a client-side Leptos app. [`App`] reads `config.json`,
//! then provides the API client and the live host data as context and renders
//! the router.

pub mod api;
pub mod components;
pub mod format;
pub mod lists;
pub mod live;
pub mod pages;

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use crate::api::ApiClient;
use crate::components::header::Header;
use crate::components::sign_in::SignIn;
use crate::live::LiveHost;
use crate::pages::alert_rules::AlertRules;
use crate::pages::alerts::Alerts;
use crate::pages::endpoints::Endpoints;
use crate::pages::not_found::NotFound;
use crate::pages::overview::Overview;
use crate::pages::recommendations::Recommendations;
use crate::pages::reports::Reports;
use crate::pages::scaling::Scaling;
use crate::pages::targets::Targets;

/// The path the app is served under, from `<base href>` (Trunk's public URL),
/// without its trailing slash: `""` at a server's root, `"/vigie"` under a prefix.
fn base_path() -> String {
    let base = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.base_uri().ok().flatten())
        .and_then(|uri| web_sys::Url::new(&uri).ok())
        .map(|url| url.pathname())
        .unwrap_or_default();
    base.trim_end_matches('/').to_owned()
}

/// `path` (from the app's root, `/reports`) as a link: under the base path,
/// since the router takes an `href` starting with `/` as it is.
pub fn app_path(path: &str) -> String {
    format!("{}{path}", base_path())
}

#[component]
pub fn App() -> impl IntoView {
    let client = LocalResource::new(api::load_config);
    move || {
        match client.get() {
        None => view! { <p class="boot">"Starting Vigie…"</p> }.into_any(),
        Some(Ok(client)) => view! { <Shell client=client /> }.into_any(),
        Some(Err(e)) => view! {
            <p class="boot error" role="alert">"Vigie cannot start: config.json: " {e.to_string()}</p>
        }
        .into_any(),
    }
    }
}

/// Whether the server needs a token and who this tab's token is: asked once
/// at start (a new token reloads the page).
#[derive(Clone, Copy)]
pub struct SessionInfo {
    session: LocalResource<Result<vigie_api::Session, api::ClientError>>,
}

impl std::fmt::Debug for SessionInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionInfo")
    }
}

impl SessionInfo {
    /// The token's name, when the server records it (tokens configured).
    pub fn name(&self) -> Option<String> {
        self.session.get().and_then(Result::ok).and_then(|s| s.name)
    }

    /// The server needs a token and this tab has none that it knows.
    pub fn needs_sign_in(&self) -> bool {
        self.session
            .get()
            .and_then(Result::ok)
            .is_some_and(|s| s.auth_required && s.role.is_none())
    }
}

#[component]
fn Shell(client: ApiClient) -> impl IntoView {
    provide_context(client.clone());
    let session = SessionInfo {
        session: LocalResource::new({
            let client = client.clone();
            move || {
                let client = client.clone();
                async move { client.session().await }
            }
        }),
    };
    provide_context(session);
    provide_context(LiveHost::start(client));
    view! {
        <Router base=base_path()>
            <Header />
            <SignIn />
            <main>
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=Overview />
                    <Route path=path!("/targets") view=Targets />
                    <Route path=path!("/endpoints") view=Endpoints />
                    <Route path=path!("/alerts") view=Alerts />
                    <Route path=path!("/alerts/rules") view=AlertRules />
                    <Route path=path!("/scaling") view=Scaling />
                    <Route path=path!("/reports") view=Reports />
                    <Route path=path!("/recommendations") view=Recommendations />
                </Routes>
            </main>
        </Router>
    }
}
