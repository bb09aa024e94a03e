//! What an unknown path shows.

use crate::app_path;
use crate::i18n;
use leptos::prelude::*;
use leptos_router::components::A;

#[derive(Debug)]
struct Text {
    title: &'static str,
    body: &'static str,
    back: &'static str,
}

const EN: Text = Text {
    title: "Page not found",
    body: "This address is not part of Vigie. ",
    back: "Back to the overview",
};

const FR: Text = Text {
    title: "Page introuvable",
    body: "Cette adresse ne fait pas partie de Vigie. ",
    back: "Retour à la vue d’ensemble",
};

#[component]
pub fn NotFound() -> impl IntoView {
    let t = i18n::pick(&EN, &FR);
    view! {
        <section class="page">
            <h1>{t.title}</h1>
            <p>{t.body} <A href=app_path("/")>{t.back}</A></p>
        </section>
    }
}
