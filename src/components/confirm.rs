//! A destructive button that asks for a second click: "Remove" becomes
//! "Confirm" and "Keep".

use leptos::prelude::*;

use crate::i18n;

#[derive(Debug)]
struct Text {
    confirm: &'static str,
    keep: &'static str,
    confirm_label: fn(&str, &str) -> String,
}

const EN: Text = Text {
    confirm: "Confirm",
    keep: "Keep",
    confirm_label: |verbing, name| format!("Confirm {verbing} {name}"),
};

const FR: Text = Text {
    confirm: "Confirmer",
    keep: "Garder",
    confirm_label: |verbing, name| format!("Confirmer {verbing} {name}"),
};

#[component]
pub fn ConfirmButton(
    /// What the button does, e.g. `Remove`.
    verb: &'static str,
    /// The same as a noun of action, e.g. `removing`: "Confirm removing {name}";
    /// in French with its article and `de`, e.g. `la suppression de`:
    /// "Confirmer la suppression de {name}".
    verbing: &'static str,
    /// What it acts on, for the buttons' accessible names.
    name: String,
    /// What else happens, shown on the confirm button's tooltip.
    #[prop(optional)]
    consequence: Option<&'static str>,
    on_confirm: Callback<()>,
) -> impl IntoView {
    let confirming = RwSignal::new(false);
    let t = i18n::pick(&EN, &FR);
    move || {
        if confirming.get() {
            view! {
                <button
                    type="button"
                    class="danger"
                    aria-label=(t.confirm_label)(verbing, &name)
                    title=consequence
                    on:click=move |_| on_confirm.run(())
                >
                    {t.confirm}
                </button>
                <button type="button" on:click=move |_| confirming.set(false)>
                    {t.keep}
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
