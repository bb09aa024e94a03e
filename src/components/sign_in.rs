//! The sign-in banner: shown when the server needs a token and this tab has
//! none that it accepts. The token is kept for this tab only (session
//! storage), and the page reloads with it so every view fetches again.

use leptos::prelude::*;

use crate::SessionInfo;
use crate::api::ApiClient;

#[component]
pub fn SignIn() -> impl IntoView {
    let session = expect_context::<SessionInfo>();
    let client = expect_context::<ApiClient>();
    let token = RwSignal::new(String::new());
    let had_token = client.has_token();
    move || {
        session.needs_sign_in().then(|| {
            let client = client.clone();
            view! {
                <form
                    class="token-prompt sign-in"
                    aria-label="Sign in"
                    on:submit=move |ev| {
                        ev.prevent_default();
                        client.set_token(Some(token.get_untracked()));
                        if let Some(w) = web_sys::window() {
                            let _ = w.location().reload();
                        }
                    }
                >
                    <p class="error" role="alert">
                        {if had_token {
                            "This server did not accept the token of this tab."
                        } else {
                            "This server needs a token to show its measurements."
                        }}
                    </p>
                    <label>
                        "Token "
                        <input type="password" autocomplete="off" bind:value=token />
                    </label>
                    <button type="submit">"Sign in"</button>
                </form>
            }
        })
    }
}
