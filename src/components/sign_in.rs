//! The sign-in banner: shown when the server needs a token and this tab has
//! none that it accepts. Stand-alone, the token is kept for this tab only
//! (session storage), and the page reloads with it so every view fetches
//! again. In a portal, the portal hands over the token: the banner says
//! so and has no form.

use leptos::prelude::*;

use crate::SessionInfo;
use crate::api::ApiClient;
use crate::{bridge, i18n};

#[derive(Debug)]
struct Text {
    form: &'static str,
    refused: &'static str,
    needed: &'static str,
    from_portal: &'static str,
    token: &'static str,
    sign_in: &'static str,
}

const EN: Text = Text {
    form: "Sign in",
    refused: "This server did not accept the token of this tab.",
    needed: "This server needs a token to show its measurements.",
    from_portal: "The portal's token was not accepted; Vigie has asked it for a new one.",
    token: "Token ",
    sign_in: "Sign in",
};

const FR: Text = Text {
    form: "Connexion",
    refused: "Ce serveur n’a pas accepté le jeton de cet onglet.",
    needed: "Ce serveur demande un jeton pour montrer ses mesures.",
    from_portal: "Le jeton du portail n’a pas été accepté ; Vigie lui en a demandé un nouveau.",
    token: "Jeton ",
    sign_in: "Se connecter",
};

#[component]
pub fn SignIn() -> impl IntoView {
    let session = expect_context::<SessionInfo>();
    let client = expect_context::<ApiClient>();
    let token = RwSignal::new(String::new());
    let had_token = client.has_token();
    let t = i18n::pick(&EN, &FR);
    move || {
        session.needs_sign_in().then(|| {
            if bridge::is_active() {
                return view! {
                    <p class="token-prompt error" role="alert">{t.from_portal}</p>
                }
                .into_any();
            }
            let client = client.clone();
            view! {
                <form
                    class="token-prompt sign-in"
                    aria-label=t.form
                    on:submit=move |ev| {
                        ev.prevent_default();
                        client.set_token(Some(token.get_untracked()));
                        if let Some(w) = web_sys::window() {
                            let _ = w.location().reload();
                        }
                    }
                >
                    <p class="error" role="alert">
                        {if had_token { t.refused } else { t.needed }}
                    </p>
                    <label>
                        {t.token}
                        <input type="password" autocomplete="off" bind:value=token />
                    </label>
                    <button type="submit">{t.sign_in}</button>
                </form>
            }
            .into_any()
        })
    }
}
