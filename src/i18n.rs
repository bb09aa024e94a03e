//! English and French. Each module that shows text keeps its own catalogue:
//! a struct with a field per string (a `fn` for a string with values in it)
//! and one constant of it per language, `EN` and `FR`. A string missing in
//! either language is a missing field, so the build fails.
//!
//! ```
//! use vigie::i18n::{self, Lang};
//!
//! struct Text { title: &'static str, rows: fn(usize) -> String }
//! const EN: Text = Text { title: "Targets", rows: |n| format!("{n} rows") };
//! const FR: Text = Text { title: "Cibles", rows: |n| format!("{n} lignes") };
//! fn t() -> &'static Text { i18n::pick(&EN, &FR) }
//!
//! i18n::set_current(Lang::Fr);
//! assert_eq!(t().title, "Cibles");
//! assert_eq!((t().rows)(3), "3 lignes");
//! ```
//!
//! The language is [`Locale`], a signal in context. The app draws its pages
//! again when it changes (the router keeps the page), so a view reads its
//! text once, plainly; numbers and dates follow through [`current`], which
//! [`crate::format`] reads.

use std::cell::Cell;

use leptos::prelude::*;
pub use vigie_api::Lang;

thread_local! {
    static CURRENT: Cell<Lang> = const { Cell::new(Lang::En) };
}

/// The language being drawn.
pub fn current() -> Lang {
    CURRENT.with(Cell::get)
}

/// Sets the language that [`current`] and [`pick`] answer with.
pub fn set_current(lang: Lang) {
    CURRENT.with(|c| c.set(lang));
}

/// The current language's entry of a catalogue.
pub fn pick<T>(en: &'static T, fr: &'static T) -> &'static T {
    match current() {
        Lang::En => en,
        Lang::Fr => fr,
    }
}

/// The language chosen for this tab: by the portal, the header's switch,
/// `config.json` or the browser, in that order.
#[derive(Debug, Clone, Copy)]
pub struct Locale(pub RwSignal<Lang>);

/// The browser's preferred language (English outside a browser).
pub fn browser_lang() -> Lang {
    web_sys::window()
        .and_then(|w| w.navigator().language())
        .map_or(Lang::En, |tag| Lang::from_tag(&tag))
}

/// Text shared by several modules.
#[derive(Debug)]
pub struct Common {
    pub loading: &'static str,
    pub no_data: &'static str,
    pub save: &'static str,
    pub cancel: &'static str,
    pub delete: &'static str,
    pub edit: &'static str,
    pub close: &'static str,
    pub retry: &'static str,
    pub yes: &'static str,
    pub no: &'static str,
    pub enabled: &'static str,
    pub disabled: &'static str,
    pub language: &'static str,
}

const COMMON_EN: Common = Common {
    loading: "Loading…",
    no_data: "no data",
    save: "Save",
    cancel: "Cancel",
    delete: "Delete",
    edit: "Edit",
    close: "Close",
    retry: "Retry",
    yes: "yes",
    no: "no",
    enabled: "Enabled",
    disabled: "Disabled",
    language: "Language",
};

const COMMON_FR: Common = Common {
    loading: "Chargement…",
    no_data: "aucune donnée",
    save: "Enregistrer",
    cancel: "Annuler",
    delete: "Supprimer",
    edit: "Modifier",
    close: "Fermer",
    retry: "Réessayer",
    yes: "oui",
    no: "non",
    enabled: "Activé",
    disabled: "Désactivé",
    language: "Langue",
};

/// Text shared by several modules, in the current language.
pub fn common() -> &'static Common {
    pick(&COMMON_EN, &COMMON_FR)
}

/// A person's name for an alert metric.
pub fn metric_label(m: vigie_api::AlertMetric) -> &'static str {
    use vigie_api::AlertMetric as M;
    match (current(), m) {
        (Lang::En, m) => m.label(),
        (Lang::Fr, M::CpuUsage) => "CPU",
        (Lang::Fr, M::MemoryUsage) => "Mémoire",
        (Lang::Fr, M::DiskUsage) => "Disque",
        (Lang::Fr, M::ResponseTime) => "Temps de réponse",
        (Lang::Fr, M::ErrorRate) => "Taux d’erreur",
        (Lang::Fr, M::P95) => "Temps de réponse p95",
        (Lang::Fr, M::P99) => "Temps de réponse p99",
        (Lang::Fr, M::CacheHitRate) => "Taux de succès du cache",
        (Lang::Fr, M::SlowQueryTime) => "Requête la plus lente (moyenne)",
    }
}

/// A person's name for a severity (the wire's word in English).
pub fn severity_label(s: vigie_api::Severity) -> &'static str {
    use vigie_api::Severity as S;
    match (current(), s) {
        (Lang::En, s) => s.as_str(),
        (Lang::Fr, S::Critical) => "critique",
        (Lang::Fr, S::High) => "haute",
        (Lang::Fr, S::Medium) => "moyenne",
        (Lang::Fr, S::Low) => "basse",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_language_picks_the_entry() {
        set_current(Lang::Fr);
        assert_eq!(common().save, "Enregistrer");
        set_current(Lang::En);
        assert_eq!(common().save, "Save");
    }
}
