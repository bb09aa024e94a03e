//! The modal dialog an operator acts on an alert through: resolve it with a
//! note (warned first when its condition still holds, since a new alert will
//! follow), or acknowledge it. Both ask for the operator's name, remembered in
//! the browser's local storage for the next time.

use leptos::html;
use leptos::prelude::*;
use vigie_api::{AcknowledgeAlert, Alert, ResolveAlert};

use crate::api::{ApiClient, ClientError};
use crate::components::change_error::{ChangeError, unless_field};
use crate::components::form::{
    ActorField, DialogActions, TextAreaField, modal, remember_actor, remembered_actor,
};
use crate::components::severity::SeverityChip;
use crate::{format, i18n};

#[derive(Debug)]
struct Text {
    acknowledge: &'static str,
    resolve: &'static str,
    right_away: &'static str,
    after: fn(&str) -> String,
    /// The value, the threshold with its comparison and unit, and when the
    /// next alert fires.
    still_holds: fn(&str, &str, &str) -> String,
    /// The metric, the value and the threshold with its comparison and unit.
    figures: fn(&str, &str, &str) -> String,
    note: &'static str,
    note_optional: &'static str,
    note_placeholder: &'static str,
}

const EN: Text = Text {
    acknowledge: "Acknowledge alert",
    resolve: "Resolve alert",
    right_away: "right away",
    after: |d| format!("after {d}"),
    still_holds: |value, threshold, again| {
        format!(
            "The condition still holds (value {value} vs threshold {threshold}): resolving it now means a new alert will fire {again}."
        )
    },
    figures: |metric, value, threshold| format!("{metric}: value {value} vs threshold {threshold}"),
    note: "Note",
    note_optional: "Note (optional)",
    note_placeholder: "What was done, or why it needs nothing",
};

const FR: Text = Text {
    acknowledge: "Acquitter l’alerte",
    resolve: "Résoudre l’alerte",
    right_away: "immédiatement",
    after: |d| format!("dans {d}"),
    still_holds: |value, threshold, again| {
        format!(
            "La condition est toujours remplie (valeur {value} pour un seuil {threshold}) : si vous résolvez l’alerte maintenant, une nouvelle se déclenchera {again}."
        )
    },
    figures: |metric, value, threshold| {
        format!("{metric} : valeur {value} pour un seuil {threshold}")
    },
    note: "Note",
    note_optional: "Note (facultative)",
    note_placeholder: "Ce qui a été fait, ou pourquoi rien n’est nécessaire",
};

fn text() -> &'static Text {
    i18n::pick(&EN, &FR)
}

/// What the operator does to the alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertAction {
    Acknowledge,
    Resolve,
}

impl AlertAction {
    fn title(self) -> &'static str {
        let t = text();
        match self {
            AlertAction::Acknowledge => t.acknowledge,
            AlertAction::Resolve => t.resolve,
        }
    }
}

/// The warning shown before resolving an alert whose condition still holds.
pub fn still_holds_warning(a: &Alert) -> String {
    let t = text();
    let unit = a.metric_type.unit();
    let again = match a.for_seconds {
        0 => t.right_away.to_owned(),
        s => (t.after)(&format::duration(s)),
    };
    (t.still_holds)(
        &format::measured(a.current_value, unit),
        &threshold_text(a),
        &again,
    )
}

/// `> 85 %`
fn threshold_text(a: &Alert) -> String {
    format!(
        "{} {} {}",
        a.comparison.symbol(),
        format::number(a.threshold_value),
        a.metric_type.unit()
    )
}

/// `alert` is the alert as last fetched; the dialog keeps the last one it
/// saw if the alert leaves the list while it is open (the server then says
/// why the action is refused).
#[component]
pub fn AlertDialog(
    #[prop(into)] alert: Signal<Option<Alert>>,
    action: AlertAction,
    /// Called when the dialog closes without acting (Cancel, Escape).
    on_close: Callback<()>,
    /// Called with the alert as the server returned it after acting.
    on_done: Callback<Alert>,
) -> impl IntoView {
    let client = expect_context::<ApiClient>();
    let t = text();
    let dialog = NodeRef::<html::Dialog>::new();
    let shown = Memo::new(move |prev: Option<&Option<Alert>>| {
        alert.get().or_else(|| prev.cloned().flatten())
    });
    let note = RwSignal::new(String::new());
    let actor = RwSignal::new(remembered_actor());
    let error = RwSignal::new(None::<ClientError>);
    modal(dialog);

    let act = Action::new_local(move |id: &i64| {
        let client = client.clone();
        let id = *id;
        let note = note.get_untracked().trim().to_owned();
        let actor = actor.get_untracked().trim().to_owned();
        async move {
            let done = match action {
                AlertAction::Resolve => {
                    client
                        .resolve_alert(&ResolveAlert {
                            alert_id: id,
                            note,
                            actor: Some(actor).filter(|a| !a.is_empty()),
                        })
                        .await
                }
                AlertAction::Acknowledge => {
                    client
                        .acknowledge_alert(&AcknowledgeAlert {
                            alert_id: id,
                            actor: Some(actor).filter(|a| !a.is_empty()),
                            note: Some(note).filter(|n| !n.is_empty()),
                        })
                        .await
                }
            };
            match done {
                Ok(alert) => on_done.run(alert),
                Err(e) => error.set(Some(e)),
            }
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(a) = shown.get_untracked() else {
            return;
        };
        remember_actor(&actor.get_untracked());
        error.set(None);
        act.dispatch(a.id);
    };
    let blank_note = move || action == AlertAction::Resolve && note.with(|n| n.trim().is_empty());
    let warning = move || {
        shown.get().filter(|a| action == AlertAction::Resolve && a.condition_holds).map(|a| {
            view! { <p class="warning" id="alert-dialog-warning" data-testid="still-holds">{still_holds_warning(&a)}</p> }
        })
    };
    let error_signal: Signal<Option<ClientError>> = error.into();

    view! {
        <dialog
            class="alert-dialog"
            node_ref=dialog
            aria-labelledby="alert-dialog-title"
            aria-describedby=move || {
                let warned = action == AlertAction::Resolve
                    && shown.with(|a| a.as_ref().is_some_and(|a| a.condition_holds));
                warned.then_some("alert-dialog-warning")
            }
            on:close=move |_| on_close.run(())
        >
            <form on:submit=submit novalidate>
                <h2 id="alert-dialog-title">{action.title()}</h2>
                {move || shown.get().map(|a| {
                    let unit = a.metric_type.unit();
                    view! {
                        <p class="dialog-subject">
                            <SeverityChip severity=a.severity />
                            <strong>{a.title.clone()}</strong>
                        </p>
                        <p class="dialog-figures">
                            {(t.figures)(
                                i18n::metric_label(a.metric_type),
                                &format::measured(a.current_value, unit),
                                &threshold_text(&a),
                            )}
                        </p>
                    }
                })}
                {warning}
                <TextAreaField
                    label={if action == AlertAction::Resolve { t.note } else { t.note_optional }}
                    value=note
                    error=error_signal
                    field="note"
                    id="alert-note-error"
                    placeholder=t.note_placeholder
                    required={action == AlertAction::Resolve}
                    autofocus={action == AlertAction::Resolve}
                />
                <ActorField
                    value=actor
                    error=error_signal
                    prefix="alert"
                    autofocus={action == AlertAction::Acknowledge}
                />
                <ChangeError error=unless_field(error_signal, &["note", "actor"]) />
                <DialogActions
                    dialog=dialog
                    label=action.title()
                    class={if action == AlertAction::Resolve { "primary" } else { "" }}
                    disabled=Signal::derive(move || blank_note() || act.pending().get())
                />
            </form>
        </dialog>
    }
}

#[cfg(test)]
mod tests {
    use vigie_api::{AlertMetric, AlertState, Comparison, Severity};

    use super::*;

    #[test]
    fn the_warning_says_value_threshold_and_when_the_next_alert_fires() {
        let mut a = Alert {
            id: 1,
            alert_type: "resource".into(),
            severity: Severity::Critical,
            title: "Memory".into(),
            description: String::new(),
            metric_type: AlertMetric::MemoryUsage,
            threshold_value: 85.0,
            current_value: Some(91.26),
            is_resolved: false,
            rule_id: 2,
            state: AlertState::Firing,
            comparison: Comparison::Above,
            condition_holds: true,
            for_seconds: 300,
            started_at: 0,
            fired_at: Some(300_000),
            acknowledged_by: None,
            acknowledged_at: None,
            resolved_by: None,
            resolved_at: None,
            note: None,
            history: Vec::new(),
        };
        assert_eq!(
            still_holds_warning(&a),
            "The condition still holds (value 91.3 % vs threshold > 85 %): resolving it now means a new alert will fire after 5 min."
        );
        a.for_seconds = 0;
        a.metric_type = AlertMetric::P99;
        a.current_value = Some(1250.0);
        a.threshold_value = 1000.0;
        assert!(still_holds_warning(&a).ends_with("(value 1250 ms vs threshold > 1000 ms): resolving it now means a new alert will fire right away."));
        a.for_seconds = 300;
        a.metric_type = AlertMetric::MemoryUsage;
        a.current_value = Some(91.26);
        a.threshold_value = 85.0;
        crate::i18n::set_current(crate::i18n::Lang::Fr);
        let french = still_holds_warning(&a);
        crate::i18n::set_current(crate::i18n::Lang::En);
        assert_eq!(
            french,
            "La condition est toujours remplie (valeur 91,3 % pour un seuil > 85 %) : si vous résolvez l’alerte maintenant, une nouvelle se déclenchera dans 5 min."
        );
    }
}
