//! What the forms and dialogs share: a labelled field with the server's
//! message about it next to it, a select over a list of choices, a text area,
//! the field an operator gives their name in (remembered in the browser's
//! local storage for the next time), the footer of a dialog and the end of
//! a form that adds or edits an item.

use leptos::html;
use leptos::prelude::*;

use crate::api::ClientError;
use crate::components::change_error::{ChangeError, FieldError, unless_field};
use crate::i18n;

#[derive(Debug)]
struct Text {
    recorded_as: &'static str,
    your_name: &'static str,
    save_changes: &'static str,
}

const EN: Text = Text {
    recorded_as: "Recorded as ",
    your_name: "Your name",
    save_changes: "Save changes",
};

const FR: Text = Text {
    recorded_as: "Enregistré au nom de ",
    your_name: "Votre nom",
    save_changes: "Enregistrer les modifications",
};

/// Where the operator's name is kept between visits.
const ACTOR_KEY: &str = "vigie.actor";

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The name given last time, or nothing.
pub fn remembered_actor() -> String {
    local_storage()
        .and_then(|s| s.get_item(ACTOR_KEY).ok().flatten())
        .unwrap_or_default()
}

pub fn remember_actor(name: &str) {
    if let Some(storage) = local_storage() {
        let _ = storage.set_item(ACTOR_KEY, name.trim());
    }
}

/// The token's name, which the server records, when tokens are configured.
/// Absent outside the app's shell (a dialog mounted alone): no name known.
pub fn signed_in_name() -> impl Fn() -> Option<String> + Copy + Send + Sync + 'static {
    let session = use_context::<crate::SessionInfo>();
    move || session.and_then(|s| s.name())
}

/// `"true"` while the last answer names `field`, else `"false"`: the
/// field's `aria-invalid`.
pub fn aria_invalid(
    error: Signal<Option<ClientError>>,
    field: &'static str,
) -> impl Fn() -> String + Copy + Send + Sync + 'static {
    move || {
        error
            .with(|e| e.as_ref().and_then(ClientError::field) == Some(field))
            .to_string()
    }
}

/// A labelled field: `label`, the control (`children`), then, with `error`
/// and `field`, the server's message about `field` (whose element is `id`,
/// which the control points at with `aria-describedby`).
#[component]
pub fn Field(
    #[prop(into)] label: TextProp,
    #[prop(optional)] error: Option<Signal<Option<ClientError>>>,
    #[prop(optional)] field: Option<&'static str>,
    #[prop(optional, into)] id: String,
    #[prop(optional)] wide: bool,
    children: Children,
) -> impl IntoView {
    let message = error
        .zip(field)
        .map(|(error, field)| view! { <FieldError error=error field=field id=id /> });
    view! {
        <div class="field" class:wide=wide>
            <label>
                {move || label.get().to_string()}
                {children()}
            </label>
            {message}
        </div>
    }
}

/// A select of `options` showing `value`, each option `word(o)` saying
/// `text(o)`. Picking one calls `on_pick`, else sets `value`. With `error`
/// and `field`, its `aria-invalid`; with `described_by`, the id of what
/// describes it.
#[component]
pub fn Select<T>(
    #[prop(into)] options: Signal<Vec<T>>,
    value: RwSignal<T>,
    word: fn(T) -> &'static str,
    text: fn(T) -> String,
    #[prop(optional)] on_pick: Option<Callback<T>>,
    #[prop(optional)] error: Option<Signal<Option<ClientError>>>,
    #[prop(optional)] field: Option<&'static str>,
    #[prop(optional)] described_by: Option<String>,
) -> impl IntoView
where
    T: Copy + PartialEq + Send + Sync + 'static,
{
    let invalid = error.zip(field).map(|(e, f)| aria_invalid(e, f));
    let pick = move |ev| {
        let v = event_target_value(&ev);
        if let Some(o) = options.with_untracked(|os| os.iter().copied().find(|o| word(*o) == v)) {
            match on_pick {
                Some(on_pick) => on_pick.run(o),
                None => value.set(o),
            }
        }
    };
    view! {
        <select aria-invalid=move || invalid.map(|f| f()) aria-describedby=described_by on:change=pick>
            {move || {
                options
                    .get()
                    .into_iter()
                    .map(|o| view! { <option value=word(o) selected=move || value.get() == o>{text(o)}</option> })
                    .collect_view()
            }}
        </select>
    }
}

/// A labelled text area of three lines bound to `value`, with the server's
/// message about `field` (element `id`) next to it.
#[component]
pub fn TextAreaField(
    #[prop(into)] label: TextProp,
    value: RwSignal<String>,
    error: Signal<Option<ClientError>>,
    field: &'static str,
    #[prop(into)] id: String,
    placeholder: &'static str,
    #[prop(optional)] required: bool,
    #[prop(optional)] autofocus: bool,
    #[prop(optional)] wide: bool,
) -> impl IntoView {
    view! {
        <Field label=label error=error field=field id=id.clone() wide=wide>
            <textarea
                rows="3"
                required=required
                autofocus=autofocus
                placeholder=placeholder
                prop:value=value
                on:input=move |ev| value.set(event_target_value(&ev))
                aria-invalid=aria_invalid(error, field)
                aria-describedby=id
            ></textarea>
        </Field>
    }
}

/// Who acts: with tokens, the name the server records; without, a field for
/// the operator's name (the server's message about it is `{prefix}-actor-error`).
#[component]
pub fn ActorField(
    value: RwSignal<String>,
    error: Signal<Option<ClientError>>,
    prefix: &'static str,
    #[prop(optional)] autofocus: bool,
) -> impl IntoView {
    let signed_in = signed_in_name();
    let id = format!("{prefix}-actor-error");
    let t = i18n::pick(&EN, &FR);
    move || match signed_in() {
        Some(name) => {
            view! { <p class="field">{t.recorded_as} <strong>{name}</strong></p> }.into_any()
        }
        None => {
            let id = id.clone();
            view! {
                <Field label=t.your_name error=error field="actor" id=id.clone()>
                    <input
                        type="text"
                        required
                        autocomplete="name"
                        autofocus=autofocus
                        bind:value=value
                        aria-invalid=aria_invalid(error, "actor")
                        aria-describedby=id
                    />
                </Field>
            }
            .into_any()
        }
    }
}

/// Opens `dialog` as a modal once it is mounted (the browser's business: an
/// Effect).
pub fn modal(dialog: NodeRef<html::Dialog>) {
    Effect::new(move |_| {
        if let Some(d) = dialog.get()
            && !d.open()
        {
            let _ = d.show_modal();
        }
    });
}

/// Closing (by Cancel, or by Escape) fires the dialog's `close` event.
fn close(dialog: NodeRef<html::Dialog>) {
    if let Some(d) = dialog.get_untracked() {
        d.close();
    }
}

/// A dialog's Cancel, which closes it, and its submit button.
#[component]
pub fn DialogActions(
    dialog: NodeRef<html::Dialog>,
    label: &'static str,
    class: &'static str,
    #[prop(into)] disabled: Signal<bool>,
) -> impl IntoView {
    let cancel = i18n::common().cancel;
    view! {
        <div class="dialog-actions">
            <button type="button" on:click=move |_| close(dialog)>{cancel}</button>
            <button type="submit" class=class disabled=disabled>
                {label}
            </button>
        </div>
    }
}

/// The end of a form that adds an item (`add` says how) or saves the one
/// being edited: its submit button, Cancel while editing, and the server's
/// refusal unless it names one of `fields` (shown next to them).
#[component]
pub fn EditorActions(
    add: &'static str,
    #[prop(into)] editing: Signal<bool>,
    #[prop(into)] disabled: Signal<bool>,
    on_cancel: Callback<()>,
    error: Signal<Option<ClientError>>,
    fields: &'static [&'static str],
) -> impl IntoView {
    let t = i18n::pick(&EN, &FR);
    let cancel = i18n::common().cancel;
    view! {
        <button type="submit" class="primary" disabled=disabled>
            {move || if editing.get() { t.save_changes } else { add }}
        </button>
        {move || editing.get().then(|| view! {
            <button type="button" on:click=move |_| on_cancel.run(())>{cancel}</button>
        })}
        <ChangeError error=unless_field(error, fields) />
    }
}
