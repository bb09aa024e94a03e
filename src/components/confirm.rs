//! A destructive button that asks for a second click: "Remove" becomes
//! "Confirm" and "Keep".

use leptos::prelude::*;

#[component]
pub fn ConfirmButton(
    /// What the button does, e.g. `Remove`.
    verb: &'static str,
    /// The same as a noun of action, e.g. `removing`: "Confirm removing {name}".
    verbing: &'static str,
    /// What it acts on, for the buttons' accessible names.
    name: String,
    /// What else happens, shown on the confirm button's tooltip.
    #[prop(optional)]
    consequence: Option<&'static str>,
    on_confirm: Callback<()>,
) -> impl IntoView {
    let confirming = RwSignal::new(false);
    move || {
        if confirming.get() {
            view! {
                <button
                    type="button"
                    class="danger"
                    aria-label=format!("Confirm {verbing} {name}")
                    title=consequence
                    on:click=move |_| on_confirm.run(())
                >
                    "Confirm"
                </button>
                <button type="button" on:click=move |_| confirming.set(false)>
                    "Keep"
                </button>
            }
            .into_any()
        } else {
            view! {
                <button
                    type="button"
                    class="danger"
                    aria-label=format!("{verb} {name}")
                    on:click=move |_| confirming.set(true)
                >
                    {verb}
                </button>
            }
            .into_any()
        }
    }
}
