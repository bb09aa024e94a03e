//! What a failed change shows. When the server wants a token, a
//! field to give it (kept for this tab only) instead of a bare error; when it
//! refused one field of a form, its message next to that field.

use leptos::prelude::*;

use crate::api::{ApiClient, ClientError};
use crate::i18n;
use crate::lists::load_error;

#[derive(Debug)]
struct Text {
    token_group: &'static str,
    asks_token: &'static str,
    token: &'static str,
    use_token: &'static str,
    kept: &'static str,
}

const EN: Text = Text {
    token_group: "Token",
    asks_token: "This server asks for a token to make changes.",
    token: "Token ",
    use_token: "Use token",
    kept: "Kept for this tab: try again.",
};

const FR: Text = Text {
    token_group: "Jeton",
    asks_token: "Ce serveur demande un jeton pour faire des changements.",
    token: "Jeton ",
    use_token: "Utiliser le jeton",
    kept: "Gardé pour cet onglet : réessayez.",
};

#[component]
pub fn ChangeError(#[prop(into)] error: Signal<Option<ClientError>>) -> impl IntoView {
    let client = expect_context::<ApiClient>();
    let token = RwSignal::new(String::new());
    let saved = RwSignal::new(false);
    let t = i18n::pick(&EN, &FR);
    move || {
        error.get().map(|e| {
            if e.needs_token() {
                let client = client.clone();
                view! {
                    <div class="token-prompt" role="group" aria-label=t.token_group>
                        <p class="error" role="alert">
                            {t.asks_token}
                        </p>
                        <label>
                            {t.token}
                            <input type="password" autocomplete="off" bind:value=token />
                        </label>
                        <button
                            type="button"
                            on:click=move |_| {
                                client.set_token(Some(token.get_untracked()));
                                token.set(String::new());
                                saved.set(true);
                            }
                        >
                            {t.use_token}
                        </button>
                        {move || saved.get().then(|| view! { <span>{t.kept}</span> })}
                    </div>
                }
                .into_any()
            } else {
                view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any()
            }
        })
    }
}

/// The server's message about `field`, shown next to that field when the last
/// answer named it. The field points at it with `aria-describedby=id`.
#[component]
pub fn FieldError(
    #[prop(into)] error: Signal<Option<ClientError>>,
    field: &'static str,
    #[prop(into)] id: String,
) -> impl IntoView {
    let message = move || {
        error.with(|e| {
            e.as_ref()
                .filter(|e| e.field() == Some(field))
                .map(ClientError::message)
        })
    };
    move || {
        let id = id.clone();
        message().map(|text| view! { <span class="field-error" id=id>{text}</span> })
    }
}

/// `error` unless it names one of `fields` (which [`FieldError`]s show next
/// to their fields): what a form's [`ChangeError`] shows.
pub fn unless_field(
    error: Signal<Option<ClientError>>,
    fields: &'static [&'static str],
) -> Signal<Option<ClientError>> {
    Signal::derive(move || {
        error
            .get()
            .filter(|e| e.field().is_none_or(|f| !fields.contains(&f)))
    })
}

/// Why the last request of `fetched` failed, as a banner; nothing while it
/// has not.
#[component]
pub fn LoadError<T>(fetched: LocalResource<Result<T, ClientError>>) -> impl IntoView
where
    T: Clone + 'static,
{
    let error = load_error(fetched);
    move || error().map(|e| view! { <p class="banner error" role="alert">{e}</p> })
}
