//! The modal dialog an operator scales through: up or down by the
//! configuration's step, or to a count, showing before → after, with a
//! reason (required) and, on a server without tokens, the operator's name.
//! Each dialog sends one idempotency key, so that a second click (or a
//! retried request) scales once. A refusal stays in the dialog with the
//! server's words; after a cooldown refusal, it offers to force.

use leptos::html;
use leptos::prelude::*;
use vigie_api::{ScalingAction, ScalingConfigSpec, ScalingDirection, ScalingRequest};

use crate::api::{ApiClient, ClientError};
use crate::components::change_error::{ChangeError, unless_field};
use crate::components::form::{
    ActorField, DialogActions, Field, TextAreaField, aria_invalid, modal, remember_actor,
    remembered_actor, signed_in_name,
};
use crate::i18n;

#[derive(Debug)]
struct Text {
    type_count: &'static str,
    no_count: &'static str,
    step_below_min: fn(u32, u32, u32) -> String,
    above_max: fn(u32, u32) -> String,
    below_min: fn(u32, u32) -> String,
    already: fn(u32) -> String,
    scale_up: &'static str,
    scale_down: &'static str,
    set_instances: &'static str,
    instances: &'static str,
    bounds: fn(u32, u32, u32) -> String,
    instances_wanted: &'static str,
    reason: &'static str,
    reason_placeholder: &'static str,
    force: &'static str,
}

const EN: Text = Text {
    type_count: "type the count wanted",
    no_count: "the executor does not report the instance count: set a count instead",
    step_below_min: |n, step, min| format!("{n} − {step} is below the minimum ({min})"),
    above_max: |to, max| format!("{to} is above the maximum ({max})"),
    below_min: |to, min| format!("{to} is below the minimum ({min})"),
    already: |to| format!("the count is already {to}"),
    scale_up: "Scale up",
    scale_down: "Scale down",
    set_instances: "Set instances",
    instances: "Instances: ",
    bounds: |step, min, max| format!(" (step {step}, {min}–{max})"),
    instances_wanted: "Instances wanted",
    reason: "Reason",
    reason_placeholder: "Why, for the audit log",
    force: " Act during the cooldown anyway",
};

const FR: Text = Text {
    type_count: "saisissez le nombre voulu",
    no_count: "l’exécuteur ne donne pas le nombre d’instances : fixez plutôt un nombre",
    step_below_min: |n, step, min| format!("{n} − {step} est sous le minimum ({min})"),
    above_max: |to, max| format!("{to} dépasse le maximum ({max})"),
    below_min: |to, min| format!("{to} est sous le minimum ({min})"),
    already: |to| format!("le nombre est déjà {to}"),
    scale_up: "Augmenter les instances",
    scale_down: "Réduire les instances",
    set_instances: "Fixer les instances",
    instances: "Instances : ",
    bounds: |step, min, max| format!(" (pas de {step}, {min}–{max})"),
    instances_wanted: "Instances voulues",
    reason: "Raison",
    reason_placeholder: "Pourquoi, pour le journal d’audit",
    force: " Agir quand même pendant la stabilisation",
};

/// The count an action would ask for, or why it cannot be asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned {
    /// `before → after`.
    To(u32),
    /// The request would be refused: the reason.
    Refused(String),
}

/// What `direction` would ask for from `current` instances (the desired
/// count, or the running one when the executor knows no other), moving by
/// the step and within the bounds, as the server computes it; `set_to` is
/// the count typed for a set.
pub fn planned(
    spec: &ScalingConfigSpec,
    direction: ScalingDirection,
    current: Option<u32>,
    set_to: Option<u32>,
) -> Planned {
    let t = i18n::pick(&EN, &FR);
    let to = match (direction, current) {
        (ScalingDirection::Set, _) => match set_to {
            Some(n) => n,
            None => return Planned::Refused(t.type_count.into()),
        },
        (_, None) => {
            return Planned::Refused(t.no_count.into());
        }
        (ScalingDirection::Up, Some(n)) => n.saturating_add(spec.step),
        (ScalingDirection::Down, Some(n)) => match n.checked_sub(spec.step) {
            Some(to) => to,
            None => {
                return Planned::Refused((t.step_below_min)(n, spec.step, spec.min_instances));
            }
        },
    };
    if to > spec.max_instances {
        return Planned::Refused((t.above_max)(to, spec.max_instances));
    }
    if to < spec.min_instances {
        return Planned::Refused((t.below_min)(to, spec.min_instances));
    }
    if current == Some(to) {
        return Planned::Refused((t.already)(to));
    }
    Planned::To(to)
}

/// `2 → 3`; `—` for a count nobody knows.
pub fn change_text(before: Option<u32>, after: Option<u32>) -> String {
    let n = |v: Option<u32>| v.map_or_else(|| "—".to_owned(), |v| v.to_string());
    format!("{} → {}", n(before), n(after))
}

fn title(direction: ScalingDirection) -> &'static str {
    let t = i18n::pick(&EN, &FR);
    match direction {
        ScalingDirection::Up => t.scale_up,
        ScalingDirection::Down => t.scale_down,
        ScalingDirection::Set => t.set_instances,
    }
}

/// A key no other dialog sends: random enough that two tabs never share one.
fn idempotency_key() -> String {
    let part = || (js_sys::Math::random() * f64::from(u32::MAX)) as u32;
    format!("ui-{:08x}{:08x}{:08x}", part(), part(), part())
}

/// `current` is the configuration's count as last shown (desired, or
/// current when the executor knows no desired count).
#[component]
pub fn ScaleDialog(
    configuration: i64,
    #[prop(into)] spec: Signal<Option<ScalingConfigSpec>>,
    #[prop(into)] current: Signal<Option<u32>>,
    direction: ScalingDirection,
    /// Called when the dialog closes without acting (Cancel, Escape).
    on_close: Callback<()>,
    /// Called with the action as the server recorded it.
    on_done: Callback<ScalingAction>,
) -> impl IntoView {
    let client = expect_context::<ApiClient>();
    let t = i18n::pick(&EN, &FR);
    let dialog = NodeRef::<html::Dialog>::new();
    let reason = RwSignal::new(String::new());
    let actor = RwSignal::new(remembered_actor());
    let set_to = RwSignal::new(
        current
            .get_untracked()
            .map(|n| n.to_string())
            .unwrap_or_default(),
    );
    let force = RwSignal::new(false);
    let key = StoredValue::new(idempotency_key());
    let signed_in = signed_in_name();
    let error = RwSignal::new(None::<ClientError>);
    modal(dialog);

    let typed = move || set_to.with(|t| t.trim().parse::<u32>().ok());
    let plan = Memo::new(move |_| {
        spec.with(|s| {
            s.as_ref()
                .map(|s| planned(s, direction, current.get(), typed()))
        })
    });
    let act = Action::new_local(move |body: &ScalingRequest| {
        let client = client.clone();
        let body = body.clone();
        async move {
            match client.execute_scaling_action(&body).await {
                Ok(action) => on_done.run(action),
                Err(e) => {
                    // The executor failed: that action is recorded, and a new
                    // attempt is a new action with a key of its own.
                    if matches!(e, ClientError::Api { status: 502, .. }) {
                        key.set_value(idempotency_key());
                    }
                    error.set(Some(e));
                }
            }
        }
    });
    let blank_reason = move || reason.with(|r| r.trim().is_empty());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if blank_reason() || act.pending().get_untracked() {
            return;
        }
        let actor = actor.get_untracked().trim().to_owned();
        remember_actor(&actor);
        error.set(None);
        act.dispatch(ScalingRequest {
            configuration,
            action: direction,
            instances: (direction == ScalingDirection::Set).then(typed).flatten(),
            reason: reason.get_untracked().trim().to_owned(),
            force: force.get_untracked(),
            idempotency_key: Some(key.get_value()),
            actor: Some(actor).filter(|a| !a.is_empty() && signed_in().is_none()),
        });
    };
    let error_signal: Signal<Option<ClientError>> = error.into();
    // Refused for the cooldown: offer to act anyway.
    let cooling = move || error.with(|e| e.as_ref().and_then(ClientError::field) == Some("force"));
    let refused = move || match plan.get() {
        Some(Planned::Refused(why)) => Some(why),
        _ => None,
    };
    let name = move || spec.with(|s| s.as_ref().map(|s| s.name.clone()).unwrap_or_default());

    view! {
        <dialog
            class="alert-dialog scale-dialog"
            node_ref=dialog
            aria-labelledby="scale-dialog-title"
            on:close=move |_| on_close.run(())
        >
            <form on:submit=submit novalidate>
                <h2 id="scale-dialog-title">{title(direction)}</h2>
                <p class="dialog-subject"><strong>{name}</strong></p>
                <p class="dialog-figures" data-testid="planned-change">
                    {t.instances}
                    {move || {
                        let after = match plan.get() {
                            Some(Planned::To(n)) => Some(n),
                            _ => None,
                        };
                        change_text(current.get(), after)
                    }}
                    {move || spec.with(|s| s.as_ref().map(|s| (t.bounds)(s.step, s.min_instances, s.max_instances)))}
                </p>
                {move || refused().map(|why| view! { <p class="warning" data-testid="plan-refused">{why}</p> })}
                {(direction == ScalingDirection::Set).then(|| view! {
                    <Field label=t.instances_wanted error=error_signal field="instances" id="scale-instances-error">
                        <input
                            type="number"
                            min="0"
                            step="1"
                            bind:value=set_to
                            aria-invalid=aria_invalid(error_signal, "instances")
                            aria-describedby="scale-instances-error"
                        />
                    </Field>
                })}
                <TextAreaField
                    label=t.reason
                    value=reason
                    error=error_signal
                    field="reason"
                    id="scale-reason-error"
                    placeholder=t.reason_placeholder
                    required=true
                    autofocus=true
                />
                <ActorField value=actor error=error_signal prefix="scale" />
                <div data-testid="scale-refusal">
                    <ChangeError error=unless_field(error_signal, &["reason", "actor", "instances"]) />
                </div>
                {move || (cooling() || force.get()).then(|| view! {
                    <label class="force">
                        <input type="checkbox" bind:checked=force />
                        {t.force}
                    </label>
                })}
                <DialogActions
                    dialog=dialog
                    label=title(direction)
                    class="primary"
                    disabled=Signal::derive(move || blank_reason() || refused().is_some() || act.pending().get())
                />
            </form>
        </dialog>
    }
}

#[cfg(test)]
mod tests {
    use vigie_api::{Executor, ScalingMode, ScalingScope, ScalingType, TriggerType};

    use super::*;

    fn spec() -> ScalingConfigSpec {
        ScalingConfigSpec {
            name: "web".into(),
            scaling_type: ScalingType::Horizontal,
            trigger_type: TriggerType::Cpu,
            scope: ScalingScope::Host,
            min_instances: 2,
            max_instances: 5,
            scale_up_threshold: 80.0,
            scale_down_threshold: 20.0,
            for_seconds: 60,
            cooldown_seconds: 300,
            step: 2,
            window_seconds: 60,
            mode: ScalingMode::Manual,
            executor: Executor::DryRun,
        }
    }

    #[test]
    fn actions_move_by_the_step_within_the_bounds() {
        let s = spec();
        let up = ScalingDirection::Up;
        let down = ScalingDirection::Down;
        let set = ScalingDirection::Set;
        assert_eq!(planned(&s, up, Some(2), None), Planned::To(4));
        assert_eq!(
            planned(&s, up, Some(4), None),
            Planned::Refused("6 is above the maximum (5)".into())
        );
        assert_eq!(planned(&s, down, Some(5), None), Planned::To(3));
        assert_eq!(
            planned(&s, down, Some(3), None),
            Planned::Refused("1 is below the minimum (2)".into())
        );
        assert_eq!(
            planned(&s, down, Some(1), None),
            Planned::Refused("1 − 2 is below the minimum (2)".into())
        );
        assert!(matches!(planned(&s, up, None, None), Planned::Refused(_)));
        // A set needs no known count, only one within the bounds.
        assert_eq!(planned(&s, set, None, Some(5)), Planned::To(5));
        assert_eq!(
            planned(&s, set, Some(5), Some(5)),
            Planned::Refused("the count is already 5".into())
        );
        assert!(matches!(
            planned(&s, set, Some(2), None),
            Planned::Refused(_)
        ));
    }

    #[test]
    fn refusals_read_in_french() {
        crate::i18n::set_current(crate::i18n::Lang::Fr);
        let refused = planned(&spec(), ScalingDirection::Up, Some(4), None);
        crate::i18n::set_current(crate::i18n::Lang::En);
        assert_eq!(refused, Planned::Refused("6 dépasse le maximum (5)".into()));
    }

    #[test]
    fn changes_read_before_then_after() {
        assert_eq!(change_text(Some(2), Some(3)), "2 → 3");
        assert_eq!(change_text(None, Some(3)), "— → 3");
    }
}
