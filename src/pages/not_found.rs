//! What an unknown path shows.

use crate::app_path;
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <section class="page">
            <h1>"Page not found"</h1>
            <p>"This address is not part of Vigie. " <A href=app_path("/")>"Back to the overview"</A></p>
        </section>
    }
}
