//! The reports page's schedules: reports generated daily or weekly at an
//! hour and minute (UTC) without anyone asking. The list (when each runs
//! next, what it ran last, a switch to enable or disable it), a form to add
//! one or edit it, with the server's refusals next to their fields, and
//! removal after a confirmation.

use leptos::prelude::*;
use vigie_api::{ReportSchedule, ReportScheduleSpec, ScheduleFrequency};

use crate::api::{ApiClient, ClientError};
use crate::components::change_error::{ChangeError, LoadError};
use crate::components::confirm::ConfirmButton;
use crate::components::form::{EditorActions, Field, Select, aria_invalid};
use crate::components::report_scope::{ReportScope, ScopeFields, ScopeLists};
use crate::lists::{Saved, action_error, last_list, refetching_action, save_action};
use crate::live::LiveHost;
use crate::{format, i18n};

#[derive(Debug)]
struct Text {
    /// Monday first, as the form's choice shows them.
    weekdays: [&'static str; 7],
    frequency: fn(ScheduleFrequency) -> &'static str,
    /// `daily at 06:05 UTC`: the frequency and the time.
    runs_at: fn(ScheduleFrequency, &str) -> String,
    /// `weekly on Monday at 06:05 UTC`: the day and the time.
    weekly_on: fn(&str, &str) -> String,
    last_report: fn(&str, i64) -> String,
    never: &'static str,
    enabled_label: fn(&str) -> String,
    edit_label: fn(&str) -> String,
    deleting: &'static str,
    delete_consequence: &'static str,
    no_schedule: &'static str,
    col_name: &'static str,
    col_runs: &'static str,
    col_next_run: &'static str,
    col_last_run: &'static str,
    col_enabled: &'static str,
    col_actions: &'static str,
    title: &'static str,
    edit_a_schedule: &'static str,
    add_a_schedule: &'static str,
    edit_schedule: &'static str,
    name: &'static str,
    runs: &'static str,
    weekday: &'static str,
    hour: &'static str,
    minute: &'static str,
    enabled: &'static str,
    add_schedule: &'static str,
}

const EN: Text = Text {
    weekdays: [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ],
    frequency: |f| match f {
        ScheduleFrequency::Daily => "Daily (the day before)",
        ScheduleFrequency::Weekly => "Weekly (the week before)",
    },
    runs_at: |f, at| format!("{} at {at}", f.as_str()),
    weekly_on: |day, at| format!("weekly on {day} at {at}"),
    last_report: |at, report| format!("{at} · report {report}"),
    never: "never",
    enabled_label: |name| format!("{name} enabled"),
    edit_label: |name| format!("Edit {name}"),
    deleting: "deleting",
    delete_consequence: "The reports it made stay",
    no_schedule: "No schedule: reports are generated only when asked.",
    col_name: "Name",
    col_runs: "Runs",
    col_next_run: "Next run",
    col_last_run: "Last run",
    col_enabled: "Enabled",
    col_actions: "Actions",
    title: "Schedules",
    edit_a_schedule: "Edit a schedule",
    add_a_schedule: "Add a schedule",
    edit_schedule: "Edit schedule",
    name: "Name",
    runs: "Runs",
    weekday: "Weekday",
    hour: "Hour (UTC)",
    minute: "Minute",
    enabled: "Enabled",
    add_schedule: "Add schedule",
};

const FR: Text = Text {
    weekdays: [
        "Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi", "Dimanche",
    ],
    frequency: |f| match f {
        ScheduleFrequency::Daily => "Quotidienne (la veille)",
        ScheduleFrequency::Weekly => "Hebdomadaire (la semaine précédente)",
    },
    runs_at: |f, at| match f {
        ScheduleFrequency::Daily => format!("chaque jour à {at}"),
        ScheduleFrequency::Weekly => format!("chaque semaine à {at}"),
    },
    // French writes the day in lower case within a sentence.
    weekly_on: |day, at| format!("chaque semaine le {} à {at}", day.to_ascii_lowercase()),
    last_report: |at, report| format!("{at} · rapport {report}"),
    never: "jamais",
    enabled_label: |name| format!("{name} activée"),
    edit_label: |name| format!("Modifier {name}"),
    deleting: "la suppression de",
    delete_consequence: "Les rapports qu’elle a générés restent",
    no_schedule: "Aucune planification : les rapports ne sont générés que sur demande.",
    col_name: "Nom",
    col_runs: "Exécution",
    col_next_run: "Prochaine exécution",
    col_last_run: "Dernière exécution",
    col_enabled: "Activée",
    col_actions: "Actions",
    title: "Planifications",
    edit_a_schedule: "Modifier une planification",
    add_a_schedule: "Ajouter une planification",
    edit_schedule: "Modifier la planification",
    name: "Nom",
    runs: "Exécution",
    weekday: "Jour de la semaine",
    hour: "Heure (UTC)",
    minute: "Minute",
    enabled: "Activée",
    add_schedule: "Ajouter la planification",
};

/// `Monday` for 1 … `Sunday` for 7.
pub fn weekday_name(day: u8) -> &'static str {
    i18n::pick(&EN, &FR)
        .weekdays
        .get(usize::from(day.max(1)) - 1)
        .copied()
        .unwrap_or("?")
}

fn weekday_word(day: u8) -> &'static str {
    ["1", "2", "3", "4", "5", "6", "7"]
        .get(usize::from(day.max(1)) - 1)
        .copied()
        .unwrap_or("1")
}

fn frequency_label(f: ScheduleFrequency) -> String {
    (i18n::pick(&EN, &FR).frequency)(f).to_owned()
}

/// `daily at 06:05 UTC`, `weekly on Monday at 06:05 UTC`
pub fn schedule_text(spec: &ReportScheduleSpec) -> String {
    let t = i18n::pick(&EN, &FR);
    let at = format!("{:02}:{:02} UTC", spec.hour, spec.minute);
    match (spec.frequency, spec.weekday) {
        (ScheduleFrequency::Weekly, Some(day)) => (t.weekly_on)(weekday_name(day), &at),
        (f, _) => (t.runs_at)(f, &at),
    }
}

/// Fields of the form the server may name in a refusal.
const FIELDS: &[&str] = &[
    "name",
    "frequency",
    "hour",
    "minute",
    "weekday",
    "enabled",
    "targets",
    "services",
    "sections",
];

#[component]
pub fn ReportSchedules() -> impl IntoView {
    let client = expect_context::<ApiClient>();
    let live = expect_context::<LiveHost>();
    let t = i18n::pick(&EN, &FR);
    let common = i18n::common();
    let changed = RwSignal::new(0_u32);
    let form = ScheduleForm::new();
    let fetched = LocalResource::new({
        let client = client.clone();
        move || {
            // A run records its report: queued reports move the last run.
            live.reports_seen.get();
            changed.get();
            let client = client.clone();
            async move { client.report_schedules().await }
        }
    });
    let list = last_list(fetched, |l| l.schedules);
    let loaded = Memo::new(move |_| fetched.get().is_some());
    let empty = Memo::new(move |_| list.with(Vec::is_empty));
    let remove = refetching_action(changed, &client, |client, id: &i64| {
        let id = *id;
        async move { client.delete_report_schedule(id).await }
    });
    let toggle = refetching_action(changed, &client, |client, s: &ReportSchedule| {
        let (id, mut spec) = (s.id, s.spec.clone());
        spec.enabled = !spec.enabled;
        async move { client.replace_report_schedule(id, &spec).await }
    });

    let row = move |id: i64| {
        let current = Memo::new(move |_| list.with(|l| l.iter().find(|s| s.id == id).cloned()));
        let text = move |f: fn(&ReportSchedule) -> String| {
            move || current.with(|s| s.as_ref().map(f).unwrap_or_default())
        };
        let enabled = move || current.with(|s| s.as_ref().is_some_and(|s| s.spec.enabled));
        let name = current
            .get_untracked()
            .map(|s| s.spec.name)
            .unwrap_or_default();
        view! {
            <tr data-testid="schedule-row" data-schedule-id=id data-name=name.clone()
                data-enabled=move || enabled().to_string()>
                <th scope="row">{text(|s| s.spec.name.clone())}</th>
                <td data-testid="when">{text(|s| schedule_text(&s.spec))}</td>
                <td class="num" data-testid="next-run">
                    {text(|s| s.next_run_at.map_or_else(|| "—".into(), format::date_time))}
                </td>
                <td class="num" data-testid="last-run">
                    {text(|s| match (s.last_run_at, s.last_report_id) {
                        (Some(at), Some(report)) => {
                            (i18n::pick(&EN, &FR).last_report)(&format::date_time(at), report)
                        }
                        (Some(at), None) => format::date_time(at),
                        _ => i18n::pick(&EN, &FR).never.into(),
                    })}
                </td>
                <td>
                    <input
                        type="checkbox"
                        role="switch"
                        aria-label=(t.enabled_label)(&name)
                        prop:checked=enabled
                        disabled=move || toggle.pending().get()
                        on:change=move |_| {
                            if let Some(s) = current.get_untracked() {
                                toggle.dispatch(s);
                            }
                        }
                    />
                </td>
                <td class="actions">
                    <button type="button" aria-label=(t.edit_label)(&name)
                        on:click=move |_| {
                            if let Some(s) = current.get_untracked() {
                                form.load(&s);
                            }
                        }>
                        {common.edit}
                    </button>
                    <ConfirmButton
                        verb=common.delete
                        verbing=t.deleting
                        name=name.clone()
                        consequence=t.delete_consequence
                        on_confirm=Callback::new(move |()| {
                            remove.dispatch(id);
                        })
                    />
                </td>
            </tr>
        }
    };
    let rows = move || {
        if !loaded.get() {
            return view! { <p>{common.loading}</p> }.into_any();
        }
        if empty.get() {
            return view! { <p class="empty" data-testid="no-schedule">{t.no_schedule}</p> }
                .into_any();
        }
        view! {
            <table class="targets schedules">
                <thead>
                    <tr>
                        <th scope="col">{t.col_name}</th>
                        <th scope="col">{t.col_runs}</th>
                        <th scope="col">{t.col_next_run}</th>
                        <th scope="col">{t.col_last_run}</th>
                        <th scope="col">{t.col_enabled}</th>
                        <th scope="col"><span class="visually-hidden">{t.col_actions}</span></th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || list.get() key=|s| s.id children=move |s| row(s.id) />
                </tbody>
            </table>
        }
        .into_any()
    };

    view! {
        <section class="report-schedules" aria-labelledby="schedules-heading">
            <h2 id="schedules-heading">{t.title}</h2>
            <LoadError fetched=fetched />
            <ChangeError error=Signal::derive(move || action_error(remove).or_else(|| action_error(toggle))) />
            {rows}
            <ScheduleEditor form=form on_saved=Callback::new(move |_| changed.update(|n| *n += 1)) />
        </section>
    }
}

/// What the schedule form holds: text as typed, what its reports cover,
/// and the schedule being edited.
#[derive(Debug, Clone, Copy)]
struct ScheduleForm {
    name: RwSignal<String>,
    frequency: RwSignal<ScheduleFrequency>,
    hour: RwSignal<String>,
    minute: RwSignal<String>,
    weekday: RwSignal<u8>,
    enabled: RwSignal<bool>,
    scope: ReportScope,
    editing: RwSignal<Option<ReportSchedule>>,
    error: RwSignal<Option<ClientError>>,
}

impl ScheduleForm {
    fn new() -> Self {
        ScheduleForm {
            name: RwSignal::new(String::new()),
            frequency: RwSignal::new(ScheduleFrequency::Daily),
            hour: RwSignal::new("6".into()),
            minute: RwSignal::new("0".into()),
            weekday: RwSignal::new(1),
            enabled: RwSignal::new(true),
            scope: ReportScope::new(),
            editing: RwSignal::new(None),
            error: RwSignal::new(None),
        }
    }

    fn load(&self, s: &ReportSchedule) {
        self.name.set(s.spec.name.clone());
        self.frequency.set(s.spec.frequency);
        self.hour.set(s.spec.hour.to_string());
        self.minute.set(s.spec.minute.to_string());
        self.weekday.set(s.spec.weekday.unwrap_or(1));
        self.enabled.set(s.spec.enabled);
        self.scope.load((
            s.spec.targets.clone(),
            s.spec.services.clone(),
            s.spec.sections.clone(),
        ));
        self.editing.set(Some(s.clone()));
        self.error.set(None);
    }

    fn clear(&self) {
        let blank = ScheduleForm::new();
        self.name.set(String::new());
        self.frequency.set(ScheduleFrequency::Daily);
        self.hour.set(blank.hour.get_untracked());
        self.minute.set(blank.minute.get_untracked());
        self.weekday.set(1);
        self.enabled.set(true);
        self.scope.load((None, None, None));
        self.editing.set(None);
        self.error.set(None);
    }

    /// The spec as typed: see [`schedule_spec`].
    fn spec(&self) -> Option<ReportScheduleSpec> {
        schedule_spec(
            &self.name.get_untracked(),
            self.frequency.get_untracked(),
            (&self.hour.get_untracked(), &self.minute.get_untracked()),
            self.weekday.get_untracked(),
            self.enabled.get_untracked(),
            untrack(|| self.scope.lists()),
        )
    }
}

/// A schedule spec from the form's text: nothing without a whole hour. An
/// empty minute is 0; numbers past what the wire holds are sent as its
/// largest, so that the server's own refusal (naming the field) says what
/// is allowed.
pub fn schedule_spec(
    name: &str,
    frequency: ScheduleFrequency,
    (hour, minute): (&str, &str),
    weekday: u8,
    enabled: bool,
    (targets, services, sections): ScopeLists,
) -> Option<ReportScheduleSpec> {
    let number = |s: &str| {
        s.trim()
            .parse::<u64>()
            .ok()
            .map(|v| u8::try_from(v).unwrap_or(u8::MAX))
    };
    let hour = number(hour)?;
    let minute = if minute.trim().is_empty() {
        0
    } else {
        number(minute)?
    };
    Some(ReportScheduleSpec {
        name: name.trim().to_owned(),
        frequency,
        hour,
        minute,
        weekday: (frequency == ScheduleFrequency::Weekly).then_some(weekday),
        targets,
        services,
        sections,
        enabled,
    })
}

impl Saved for ReportScheduleSpec {
    const PATH: &'static str = vigie_api::paths::REPORT_SCHEDULES;
}

#[component]
fn ScheduleEditor(form: ScheduleForm, on_saved: Callback<()>) -> impl IntoView {
    let client = expect_context::<ApiClient>();
    let save = save_action::<ReportScheduleSpec>(client, form.error, move || {
        form.clear();
        on_saved.run(());
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(spec) = form.spec() else { return };
        form.error.set(None);
        let id = form.editing.get_untracked().map(|s| s.id);
        save.dispatch((id, spec));
    };
    let error: Signal<Option<ClientError>> = form.error.into();
    let invalid = move |field| aria_invalid(error, field);
    let editing = move || form.editing.with(Option::is_some);
    let weekly = move || form.frequency.get() == ScheduleFrequency::Weekly;
    let complete = move || form.hour.with(|h| h.trim().parse::<u64>().is_ok());
    let ScheduleForm {
        name,
        hour,
        minute,
        enabled,
        ..
    } = form;
    let t = i18n::pick(&EN, &FR);

    view! {
        <form
            class="panel new-target schedule-form"
            novalidate
            on:submit=submit
            aria-label=move || if editing() { t.edit_a_schedule } else { t.add_a_schedule }
        >
            <h3>{move || if editing() { t.edit_schedule } else { t.add_a_schedule }}</h3>
            <div class="fields">
                <Field label=t.name error=error field="name" id="schedule-name-error" wide=true>
                    <input type="text" required bind:value=name
                        aria-invalid=invalid("name") aria-describedby="schedule-name-error" />
                </Field>
                <Field label=t.runs error=error field="frequency" id="schedule-frequency-error">
                    <Select
                        options=vec![ScheduleFrequency::Daily, ScheduleFrequency::Weekly]
                        value=form.frequency
                        word=ScheduleFrequency::as_str
                        text=frequency_label
                        error=error
                        field="frequency"
                        described_by="schedule-frequency-error".to_owned()
                    />
                </Field>
                {move || weekly().then(|| view! {
                    <Field label=t.weekday error=error field="weekday" id="schedule-weekday-error">
                        <Select
                            options=vec![1_u8, 2, 3, 4, 5, 6, 7]
                            value=form.weekday
                            word=weekday_word
                            text=|d| weekday_name(d).to_owned()
                            error=error
                            field="weekday"
                            described_by="schedule-weekday-error".to_owned()
                        />
                    </Field>
                })}
                <Field label=t.hour error=error field="hour" id="schedule-hour-error">
                    <input type="number" min="0" max="23" step="1" required bind:value=hour
                        aria-invalid=invalid("hour") aria-describedby="schedule-hour-error" />
                </Field>
                <Field label=t.minute error=error field="minute" id="schedule-minute-error">
                    <input type="number" min="0" max="59" step="1" bind:value=minute
                        aria-invalid=invalid("minute") aria-describedby="schedule-minute-error" />
                </Field>
                <label class="check">
                    <input type="checkbox" bind:checked=enabled />
                    {t.enabled}
                </label>
            </div>
            <ScopeFields scope=form.scope error=error id="schedule" />
            <EditorActions
                add=t.add_schedule
                editing=Signal::derive(editing)
                disabled=Signal::derive(move || save.pending().get() || !complete())
                on_cancel=Callback::new(move |()| form.clear())
                error=error
                fields=FIELDS
            />
        </form>
    }
}

#[cfg(test)]
mod tests {
    use vigie_api::ReportSection;

    use super::*;

    /// Every target, service and section.
    const ALL: ScopeLists = (None, None, None);

    #[test]
    fn schedules_read_as_when_they_run() {
        let daily =
            schedule_spec("d", ScheduleFrequency::Daily, ("6", "5"), 3, true, ALL).expect("a spec");
        assert_eq!(daily.weekday, None);
        assert_eq!(schedule_text(&daily), "daily at 06:05 UTC");
        let weekly = schedule_spec("w", ScheduleFrequency::Weekly, ("23", ""), 7, true, ALL)
            .expect("a spec");
        assert_eq!((weekly.minute, weekly.weekday), (0, Some(7)));
        assert_eq!(schedule_text(&weekly), "weekly on Sunday at 23:00 UTC");
        crate::i18n::set_current(crate::i18n::Lang::Fr);
        let (daily_fr, weekly_fr) = (schedule_text(&daily), schedule_text(&weekly));
        let day = weekday_name(7);
        crate::i18n::set_current(crate::i18n::Lang::En);
        assert_eq!(daily_fr, "chaque jour à 06:05 UTC");
        assert_eq!(weekly_fr, "chaque semaine le dimanche à 23:00 UTC");
        assert_eq!(day, "Dimanche");
    }

    #[test]
    fn the_form_leaves_the_judging_to_the_server() {
        assert!(schedule_spec("x", ScheduleFrequency::Daily, ("", "0"), 1, true, ALL).is_none());
        let past = schedule_spec("x", ScheduleFrequency::Daily, ("300", "75"), 1, true, ALL)
            .expect("a spec");
        assert_eq!((past.hour, past.minute), (255, 75));
        let edited = schedule_spec(
            " y ",
            ScheduleFrequency::Daily,
            ("1", "2"),
            1,
            false,
            (Some(vec![4]), None, Some(vec![ReportSection::Summary])),
        )
        .expect("a spec");
        assert_eq!(edited.name, "y");
        assert_eq!(edited.targets, Some(vec![4]));
        assert_eq!(edited.services, None);
        assert_eq!(edited.sections, Some(vec![ReportSection::Summary]));
        assert!(!edited.enabled);
    }
}
