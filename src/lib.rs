//! The Vigie dashboard: a client-side Leptos app. [`App`] reads `config.json`,
//! then provides the API client and the live host data as context and renders
//! the router.

pub mod api;
pub mod bridge;
pub mod components;
pub mod format;
pub mod i18n;
pub mod json;
pub mod lists;
pub mod live;
pub mod pages;
pub mod routes;
pub mod theme;

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use crate::api::ApiClient;
use crate::components::header::Header;
use crate::components::sign_in::SignIn;
use crate::live::LiveHost;
use crate::pages::not_found::NotFound;
use crate::pages::overview::Overview;

/// The path the app is served under, from `<base href>` (the build's public URL),
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
    let config = LocalResource::new(api::load_config);
    move || match config.get() {
        None => view! { <p class="boot">"Vigie…"</p> }.into_any(),
        Some(Ok(config)) => view! { <Boot config=config /> }.into_any(),
        Some(Err(e)) => view! {
            <p class="boot error" role="alert">"Vigie: config.json: " {e.to_string()}</p>
        }
        .into_any(),
    }
}

/// The range every page's charts open on: from the portal, else
/// `config.json`, else the last five minutes. The range pickers change it.
#[derive(Debug, Clone, Copy)]
pub struct AppRange(pub RwSignal<api::Range>);

/// Where the portal asked to go (a path from the app's root), until the
/// router has gone there.
#[derive(Debug, Clone, Copy)]
struct NavRequest(RwSignal<Option<String>>);

const LANG_KEY: &str = "vigie.lang";

/// The language chosen with the header's switch in this browser, if any.
fn saved_lang() -> Option<i18n::Lang> {
    let storage = web_sys::window()?.local_storage().ok().flatten()?;
    let tag = storage.get_item(LANG_KEY).ok().flatten()?;
    i18n::Lang::ALL.into_iter().find(|l| l.tag() == tag)
}

/// Keeps the header switch's choice for the next visit (stand-alone only:
/// in a portal, the portal says).
pub fn save_lang(lang: i18n::Lang) {
    if bridge::is_active() {
        return;
    }
    if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = storage.set_item(LANG_KEY, lang.tag());
    }
}

/// A portal's path for the router: `/alerts`, never another site.
fn portal_page(page: &str) -> Option<String> {
    let page = page.trim();
    (page.starts_with('/') && !page.starts_with("//") && !page.contains('\\'))
        .then(|| page.to_owned())
}

#[derive(Debug)]
struct BootText {
    waiting: &'static str,
    needs_portal: &'static str,
    unlisted: &'static str,
}

const BOOT_EN: BootText = BootText {
    waiting: "Waiting for the portal…",
    needs_portal: "Vigie opens inside its portal.",
    unlisted: "Vigie is embedded, but config.json lists no parent_origins to talk to.",
};

const BOOT_FR: BootText = BootText {
    waiting: "En attente du portail…",
    needs_portal: "Vigie s’ouvre dans son portail.",
    unlisted: "Vigie est intégrée, mais config.json ne liste aucune origine parente (parent_origins).",
};

/// Chooses how the app runs from `config.json` and where it was opened: in
/// an allowed portal (which hands over the token), or stand-alone (a
/// sign-in form); then starts it.
#[component]
fn Boot(config: vigie_api::DashboardConfig) -> impl IntoView {
    let lang = config
        .lang
        .or_else(saved_lang)
        .unwrap_or_else(i18n::browser_lang);
    i18n::set_current(lang);
    let locale = i18n::Locale(RwSignal::new(lang));
    provide_context(locale);
    let appearance = theme::Appearance::start(config.theme.unwrap_or_default());
    provide_context(appearance);
    let range = AppRange(RwSignal::new(
        config
            .range
            .as_deref()
            .and_then(api::Range::parse)
            .unwrap_or(api::Range::M5),
    ));
    provide_context(range);
    let nav = NavRequest(RwSignal::new(None));
    provide_context(nav);
    let text = i18n::pick(&BOOT_EN, &BOOT_FR);

    let allowed: Vec<String> = config
        .parent_origins
        .iter()
        .filter_map(|o| bridge::normalise_origin(o))
        .collect();
    let base = api::api_base(&config);
    let embedded = bridge::is_embedded();
    if embedded && !allowed.is_empty() {
        let client = ApiClient::in_memory(&base);
        let started = RwSignal::new(false);
        let token_epoch = RwSignal::new(0_u64);
        let on_message = {
            let client = client.clone();
            move |message: vigie_api::PortalMessage| {
                use vigie_api::PortalMessage as M;
                let set_token = |token: Option<String>| {
                    if let Some(t) = &token {
                        bridge::watch_token(t);
                    }
                    client.set_token(token);
                    token_epoch.update(|n| *n += 1);
                };
                match message {
                    M::Init {
                        token,
                        theme,
                        lang,
                        range: r,
                        page,
                    } => {
                        set_token(token);
                        if let Some(theme) = theme {
                            appearance.set(theme);
                        }
                        if let Some(lang) = lang {
                            locale.0.set(lang);
                        }
                        if let Some(r) = r.as_deref().and_then(api::Range::parse) {
                            range.0.set(r);
                        }
                        nav.0.set(page.as_deref().and_then(portal_page));
                        started.set(true);
                    }
                    M::Token { token } => set_token(Some(token)),
                    M::Theme { theme } => appearance.set(theme),
                    M::Lang { lang } => locale.0.set(lang),
                    M::Range { range: r } => {
                        if let Some(r) = api::Range::parse(&r) {
                            range.0.set(r);
                        }
                    }
                    M::Navigate { page } => nav.0.set(portal_page(&page)),
                }
            }
        };
        let diagnostics = bridge::start(allowed, on_message);
        provide_context(diagnostics);
        return (move || {
            if started.get() {
                view! { <Shell client=client.clone() token_epoch=token_epoch /> }.into_any()
            } else {
                view! {
                    <p class="boot">{text.waiting}</p>
                    <BridgeDiagnostics />
                }
                .into_any()
            }
        })
        .into_any();
    }
    if config.require_parent {
        let why = if embedded {
            text.unlisted
        } else {
            text.needs_portal
        };
        return view! { <p class="boot error" role="alert">{why}</p> }.into_any();
    }
    view! { <Shell client=ApiClient::new(&base) token_epoch=RwSignal::new(0) /> }.into_any()
}

#[derive(Debug)]
struct DiagnosticsText {
    summary: &'static str,
    portal: &'static str,
    none_yet: &'static str,
    accepted: &'static str,
    ignored: &'static str,
    last_ignored: &'static str,
}

const DIAGNOSTICS_EN: DiagnosticsText = DiagnosticsText {
    summary: "Portal link",
    portal: "Portal",
    none_yet: "not heard from yet",
    accepted: "Messages taken",
    ignored: "Messages ignored",
    last_ignored: "Last ignored",
};

const DIAGNOSTICS_FR: DiagnosticsText = DiagnosticsText {
    summary: "Lien avec le portail",
    portal: "Portail",
    none_yet: "pas encore de message",
    accepted: "Messages pris en compte",
    ignored: "Messages ignorés",
    last_ignored: "Dernier ignoré",
};

/// The bridge's counters, folded at the foot of the page when embedded:
/// what to look at when a portal's messages seem to get lost.
#[component]
fn BridgeDiagnostics() -> impl IntoView {
    let Some(d) = use_context::<bridge::Diagnostics>() else {
        return ().into_any();
    };
    let t = i18n::pick(&DIAGNOSTICS_EN, &DIAGNOSTICS_FR);
    view! {
        <details class="bridge-diagnostics" data-testid="bridge-diagnostics">
            <summary>
                {t.summary} " · "
                <span data-testid="bridge-ignored">{move || d.ignored.get()}</span>
                " ⚠"
            </summary>
            <dl>
                <dt>{t.portal}</dt>
                <dd>{move || d.portal.get().unwrap_or_else(|| t.none_yet.to_owned())}</dd>
                <dt>{t.accepted}</dt>
                <dd data-testid="bridge-accepted">{move || d.accepted.get()}</dd>
                <dt>{t.ignored}</dt>
                <dd>{move || d.ignored.get()}</dd>
                <dt>{t.last_ignored}</dt>
                <dd data-testid="bridge-last-ignored">{move || d.last_ignored.get().unwrap_or_default()}</dd>
            </dl>
        </details>
    }
    .into_any()
}

/// Inside the router: goes where the portal asks, and tells it where the
/// app went and which range it shows.
#[component]
fn PortalLink() -> impl IntoView {
    if !bridge::is_active() {
        return;
    }
    let nav = expect_context::<NavRequest>();
    let range = expect_context::<AppRange>();
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move |_| {
        if let Some(page) = nav.0.get() {
            // `navigate` adds the router's base itself (unlike an `href`).
            navigate(&page, Default::default());
            nav.0.set(None);
        }
    });
    let location = leptos_router::hooks::use_location();
    let base = base_path();
    Effect::new(move |_| {
        let path = location.pathname.get();
        let page = path.strip_prefix(base.as_str()).unwrap_or(&path);
        let page = if page.is_empty() { "/" } else { page };
        bridge::event(
            vigie_api::BridgeEvent::Navigated,
            Ok(json::object(&[("page", page)])),
        );
    });
    // Said once per change of value, so that a portal echoing it back
    // does not start a loop.
    Effect::new(move |previous: Option<api::Range>| {
        let now = range.0.get();
        if previous.is_some_and(|p| p != now) {
            bridge::event(
                vigie_api::BridgeEvent::RangeChanged,
                Ok(json::object(&[("range", now.as_str())])),
            );
        }
        now
    });
}

/// Whether the server needs a token and who this tab's token is: asked once
/// at start (a new token reloads the page).
#[derive(Clone, Copy)]
pub struct SessionInfo {
    session: api::Fetched<vigie_api::Session>,
}

impl std::fmt::Debug for SessionInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionInfo")
    }
}

impl SessionInfo {
    /// The token's name, when the server records it (tokens configured).
    pub fn name(&self) -> Option<String> {
        self.session.with(|s| s.and_then(|s| s.name.clone()))
    }

    /// The server needs a token and this tab has none that it knows.
    pub fn needs_sign_in(&self) -> bool {
        self.session
            .with(|s| s.is_some_and(|s| s.auth_required && s.role.is_none()))
    }
}

/// The app once it may talk to the API. `token_epoch` moves when the
/// portal hands over a new token, to ask the server again who it is. The
/// pages are drawn again when the language changes (the router keeps the
/// page and its address).
#[component]
fn Shell(client: ApiClient, token_epoch: RwSignal<u64>) -> impl IntoView {
    provide_context(client.clone());
    let session = SessionInfo {
        session: api::Fetched::new({
            let client = client.clone();
            move || {
                token_epoch.track();
                Ok(Some(client.url(vigie_api::paths::SESSION)))
            }
        }),
    };
    provide_context(session);
    provide_context(components::target_picker::Targets::start());
    provide_context(LiveHost::start(client));
    routes::prefetch_when_idle();
    let locale = expect_context::<i18n::Locale>();
    view! {
        <Router base=base_path()>
            <PortalLink />
            {move || {
                let lang = locale.0.get();
                i18n::set_current(lang);
                if let Some(root) = web_sys::window()
                    .and_then(|w| w.document())
                    .and_then(|d| d.document_element())
                {
                    let _ = root.set_attribute("lang", lang.tag());
                }
                view! {
                    <Header />
                    <SignIn />
                    <main>
                        <Routes fallback=NotFound>
                            <Route path=path!("/") view=Overview />
                            <Route path=path!("/targets") view=routes::targets />
                            <Route path=path!("/endpoints") view=routes::endpoints />
                            <Route path=path!("/alerts") view=routes::alerts />
                            <Route path=path!("/alerts/rules") view=routes::alert_rules />
                            <Route path=path!("/scaling") view=routes::scaling />
                            <Route path=path!("/reports") view=routes::reports />
                            <Route path=path!("/cache") view=routes::cache />
                            <Route path=path!("/slow-queries") view=routes::slow_queries />
                            <Route path=path!("/recommendations") view=routes::recommendations />
                        </Routes>
                    </main>
                    <BridgeDiagnostics />
                }
            }}
        </Router>
    }
}
