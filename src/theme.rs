//! Light and dark. The colours are CSS variables (`style/main.css`); this
//! module sets `<html data-theme>` to the theme in force and tells the
//! charts when it changes (a canvas keeps the colours it was drawn with).

use leptos::prelude::*;
use vigie_api::ThemeChoice;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

/// The theme asked for (by the portal or `config.json`; `auto` follows the
/// system) and the system's preference.
#[derive(Debug, Clone, Copy)]
pub struct Appearance {
    pub choice: RwSignal<ThemeChoice>,
    system_dark: RwSignal<bool>,
}

const DARK_QUERY: &str = "(prefers-color-scheme: dark)";

impl Appearance {
    /// Starts following `initial` and the system's preference, and keeps
    /// `<html data-theme>` in step.
    pub fn start(initial: ThemeChoice) -> Self {
        let query = web_sys::window().and_then(|w| w.match_media(DARK_QUERY).ok().flatten());
        let appearance = Appearance {
            choice: RwSignal::new(initial),
            system_dark: RwSignal::new(query.as_ref().is_none_or(|q| q.matches())),
        };
        if let Some(query) = query {
            let on_change = Closure::<dyn Fn(web_sys::MediaQueryListEvent)>::new(
                move |ev: web_sys::MediaQueryListEvent| {
                    apply(resolve(appearance.choice.get_untracked(), ev.matches()));
                    appearance.system_dark.set(ev.matches());
                },
            );
            let _ = query
                .add_event_listener_with_callback("change", on_change.as_ref().unchecked_ref());
            // Lives as long as the page.
            on_change.forget();
        }
        apply(resolve(initial, appearance.system_dark.get_untracked()));
        appearance
    }

    /// Switches to `choice`. The page's colours change before the charts
    /// hear of it, so that they redraw with the new ones.
    pub fn set(&self, choice: ThemeChoice) {
        apply(resolve(choice, self.system_dark.get_untracked()));
        self.choice.set(choice);
    }

    /// Whether the dark theme is in force (tracked).
    pub fn is_dark(&self) -> bool {
        resolve(self.choice.get(), self.system_dark.get())
    }
}

/// Sets `<html data-theme>`, which the stylesheet's colours follow.
fn apply(dark: bool) {
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = root.set_attribute("data-theme", if dark { "dark" } else { "light" });
    }
}

/// The theme in force for a choice and the system's preference.
pub fn resolve(choice: ThemeChoice, system_dark: bool) -> bool {
    match choice {
        ThemeChoice::Dark => true,
        ThemeChoice::Light => false,
        ThemeChoice::Auto => system_dark,
    }
}

/// Whether the dark theme is in force, for a chart to redraw on a change
/// (dark outside the app, as the stylesheet's default).
pub fn is_dark() -> bool {
    use_context::<Appearance>().is_none_or(|a| a.is_dark())
}
