//! What a failed change shows. When the server wants an operator token, a
//! field to give it (kept for this tab only) instead of a bare error.

use leptos::prelude::*;

use crate::api::{ApiClient, ClientError};

#[component]
pub fn ChangeError(#[prop(into)] error: Signal<Option<ClientError>>) -> impl IntoView {
    let client = expect_context::<ApiClient>();
    let token = RwSignal::new(String::new());
    let saved = RwSignal::new(false);
    move || {
        error.get().map(|e| {
            if e.needs_token() {
                let client = client.clone();
                view! {
                    <div class="token-prompt" role="group" aria-label="Operator token">
                        <p class="error" role="alert">
                            "This server asks for an operator token to make changes."
                        </p>
                        <label>
                            "Operator token "
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
                            "Use token"
                        </button>
                        {move || saved.get().then(|| view! { <span>"Kept for this tab: try again."</span> })}
                    </div>
                }
                .into_any()
            } else {
                view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any()
            }
        })
    }
}
