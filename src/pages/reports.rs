//! `/reports`: generate a report over a period (the last day, 7 or 31 days,
//! or from and to), of some or all HTTP targets and services, with the
//! sections picked; follow its progress (pushed on the stream as `report`
//! events, polled while the stream is not live) and cancel it; then the
//! reports, paged, each with its period, status, who asked, its size and a
//! link per format; and the schedules that generate reports by themselves.

use std::time::Duration;

use leptos::prelude::*;
use vigie_api::{ReportFile, ReportFormat, ReportInfo, ReportRequest, ReportStatus};

use crate::api::{ApiClient, ClientError, Connection};
use crate::components::change_error::{ChangeError, FieldError, LoadError, unless_field};
use crate::components::confirm::ConfirmButton;
use crate::components::form::{Field, Select, aria_invalid};
use crate::components::pager::Pager;
use crate::components::report_schedules::ReportSchedules;
use crate::components::report_scope::{ReportScope, ScopeFields, ScopeLists};
use crate::lists::{action_error, last_answer, refetching_action};
use crate::live::{LiveHost, furthest, ticker, unix_now_ms};
use crate::{format, i18n};

#[derive(Debug)]
struct Text {
    /// A period's name in the form's choice (its `value` keeps the word).
    period: fn(Period) -> &'static str,
    /// A report's status as a person reads it (`data-status` keeps the wire's word).
    status: fn(ReportStatus) -> &'static str,
    /// A status with the server's reason for it.
    status_because: fn(&str, &str) -> String,
    report_name: fn(i64) -> String,
    cancel_label: fn(i64) -> String,
    deleting: &'static str,
    delete_consequence: &'static str,
    title: &'static str,
    subtitle: &'static str,
    generated: &'static str,
    no_report: &'static str,
    col_requested: &'static str,
    col_period: &'static str,
    col_status: &'static str,
    col_requested_by: &'static str,
    col_size: &'static str,
    col_download: &'static str,
    col_actions: &'static str,
    pages: &'static str,
    generate_a_report: &'static str,
    period_field: &'static str,
    from: &'static str,
    to: &'static str,
    generate: &'static str,
    report_heading: fn(i64) -> String,
    progress_label: fn(i64) -> String,
    file_title: fn(&str, &str) -> String,
}

const EN: Text = Text {
    period: |p| match p {
        Period::Day => "Last day",
        Period::Week => "Last 7 days",
        Period::Month => "Last 31 days",
        Period::Custom => "From and to…",
    },
    status: ReportStatus::as_str,
    status_because: |status, e| format!("{status}: {e}"),
    report_name: |id| format!("report {id}"),
    cancel_label: |id| format!("Cancel report {id}"),
    deleting: "deleting",
    delete_consequence: "Its files are deleted with it",
    title: "Reports",
    subtitle: "A period's measurements in one file to send to the team: HTML with charts (prints to PDF), CSV or JSON",
    generated: "Generated reports",
    no_report: "No report yet: generate one above.",
    col_requested: "Requested",
    col_period: "Period",
    col_status: "Status",
    col_requested_by: "Requested by",
    col_size: "Size",
    col_download: "Download",
    col_actions: "Actions",
    pages: "Report pages",
    generate_a_report: "Generate a report",
    period_field: "Period",
    from: "From",
    to: "To",
    generate: "Generate",
    report_heading: |id| format!("Report {id}"),
    progress_label: |id| format!("Report {id} progress"),
    file_title: |format, size| format!("{format} file, {size}"),
};

const FR: Text = Text {
    period: |p| match p {
        Period::Day => "Dernier jour",
        Period::Week => "7 derniers jours",
        Period::Month => "31 derniers jours",
        Period::Custom => "Du… au…",
    },
    status: |s| match s {
        ReportStatus::Queued => "en file d’attente",
        ReportStatus::Running => "en cours",
        ReportStatus::Succeeded => "terminé",
        ReportStatus::Failed => "échoué",
        ReportStatus::Cancelled => "annulé",
        ReportStatus::Interrupted => "interrompu",
    },
    status_because: |status, e| format!("{status} : {e}"),
    report_name: |id| format!("rapport {id}"),
    cancel_label: |id| format!("Annuler le rapport {id}"),
    // Before `rapport {id}`: "Confirmer la suppression du rapport 3".
    deleting: "la suppression du",
    delete_consequence: "Ses fichiers sont supprimés avec lui",
    title: "Rapports",
    subtitle: "Les mesures d’une période dans un seul fichier à envoyer à l’équipe : HTML avec graphiques (imprimable en PDF), CSV ou JSON",
    generated: "Rapports générés",
    no_report: "Aucun rapport pour l’instant : générez-en un ci-dessus.",
    col_requested: "Demandé le",
    col_period: "Période",
    col_status: "État",
    col_requested_by: "Demandé par",
    col_size: "Taille",
    col_download: "Téléchargement",
    col_actions: "Actions",
    pages: "Pages des rapports",
    generate_a_report: "Générer un rapport",
    period_field: "Période",
    from: "Du",
    to: "Au",
    generate: "Générer",
    report_heading: |id| format!("Rapport {id}"),
    progress_label: |id| format!("Progression du rapport {id}"),
    file_title: |format, size| format!("Fichier {format}, {size}"),
};

/// Reports per page of the list.
const PAGE: u32 = 20;
const DAY_MS: i64 = 86_400_000;

/// The period a report covers, as picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day,
    Week,
    Month,
    Custom,
}

impl Period {
    pub const ALL: [Period; 4] = [Period::Day, Period::Week, Period::Month, Period::Custom];

    pub fn word(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
            Period::Custom => "custom",
        }
    }

    pub fn label(self) -> String {
        (i18n::pick(&EN, &FR).period)(self).to_owned()
    }

    /// Days ending now; `None` for a custom period.
    fn days(self) -> Option<i64> {
        match self {
            Period::Day => Some(1),
            Period::Week => Some(7),
            Period::Month => Some(31),
            Period::Custom => None,
        }
    }
}

pub fn format_label(f: ReportFormat) -> &'static str {
    match f {
        ReportFormat::Html => "HTML",
        ReportFormat::Csv => "CSV",
        ReportFormat::Json => "JSON",
    }
}

/// What the form asks for, as typed: the request, or nothing while a
/// custom period is not filled in. `now` ends the preset periods; the
/// server judges the rest (and names the field it refuses).
pub fn report_request(
    period: Period,
    now: i64,
    (from, to): (&str, &str),
    (targets, services, sections): ScopeLists,
) -> Option<ReportRequest> {
    let (from, to) = match period.days() {
        Some(days) => (now - days * DAY_MS, now),
        None => (
            format::parse_datetime_input(from)?,
            format::parse_datetime_input(to)?,
        ),
    };
    Some(ReportRequest {
        from: Some(from),
        to: Some(to),
        targets,
        services,
        sections,
    })
}

/// `running · 40 % · probes of shop`
pub fn status_text(r: &ReportInfo) -> String {
    let t = i18n::pick(&EN, &FR);
    let status = (t.status)(r.status);
    match r.status {
        ReportStatus::Queued | ReportStatus::Succeeded => status.to_owned(),
        ReportStatus::Running => format!("{status} · {} %", r.progress),
        ReportStatus::Failed | ReportStatus::Cancelled | ReportStatus::Interrupted => {
            match &r.error {
                // Not `cancelled: cancelled`.
                Some(e) if e != r.status.as_str() => (t.status_because)(status, e),
                _ => status.to_owned(),
            }
        }
    }
}

/// What the generation is doing, with how far along it is.
pub fn step_text(r: &ReportInfo) -> String {
    if r.step.is_empty() {
        format!("{} %", r.progress)
    } else {
        format!("{} % · {}", r.progress, r.step)
    }
}

/// The size of all of a report's files; `—` before they are written.
pub fn size_text(files: &[ReportFile]) -> String {
    if files.is_empty() {
        return "—".into();
    }
    format::bytes(files.iter().map(|f| f.bytes as f64).sum())
}

pub fn period_text(r: &ReportInfo) -> String {
    format!(
        "{} – {}",
        format::date_time(r.from),
        format::date_time(r.to)
    )
}

/// Fields of the form the server may name in a refusal.
const FIELDS: &[&str] = &["from", "to", "targets", "services", "sections"];

/// What the generate form holds.
#[derive(Debug, Clone, Copy)]
struct ReportForm {
    period: RwSignal<Period>,
    from: RwSignal<String>,
    to: RwSignal<String>,
    scope: ReportScope,
    error: RwSignal<Option<ClientError>>,
}

impl ReportForm {
    fn new() -> Self {
        ReportForm {
            period: RwSignal::new(Period::Day),
            from: RwSignal::new(String::new()),
            to: RwSignal::new(String::new()),
            scope: ReportScope::new(),
            error: RwSignal::new(None),
        }
    }

    /// The request as typed, at `now`.
    fn request(&self, now: i64) -> Option<ReportRequest> {
        let (from, to) = (self.from.get(), self.to.get());
        report_request(self.period.get(), now, (&from, &to), self.scope.lists())
    }

    /// Picks `period`; a custom one starts as the last day, to be changed.
    fn pick(&self, period: Period) {
        if period == Period::Custom && self.from.with_untracked(String::is_empty) {
            let now = unix_now_ms();
            self.from.set(format::datetime_input(now - DAY_MS));
            self.to.set(format::datetime_input(now));
        }
        self.period.set(period);
    }
}

#[component]
pub fn Reports() -> impl IntoView {
    let client = expect_context::<ApiClient>();
    let live = expect_context::<LiveHost>();
    let t = i18n::pick(&EN, &FR);
    let common = i18n::common();
    // Moved by this page's own changes: the list refetches at once.
    let changed = RwSignal::new(0_u32);
    let offset = RwSignal::new(0_u32);
    let fetched = LocalResource::new({
        let client = client.clone();
        move || {
            live.reports_seen.get();
            changed.get();
            let offset = offset.get();
            let client = client.clone();
            async move { client.reports(offset, PAGE).await }
        }
    });
    let page = last_answer(fetched);
    let listed = Memo::new(move |_| page.get().map(|p| p.reports).unwrap_or_default());
    let total = Memo::new(move |_| page.get().map_or(0, |p| p.total));
    let next_offset = Memo::new(move |_| page.get().and_then(|p| p.next_offset));

    // The report this tab generated last, and what the server answered then.
    let active = RwSignal::new(None::<ReportInfo>);
    let tick = ticker(Duration::from_secs(1));

    // The furthest state known of report `id`: listed, pushed, answered, or
    // polled. What was polled is filled in below: when to poll depends on
    // what is known, polls included (it stops once one says the end).
    let polled_slot = StoredValue::new(None::<Memo<Option<ReportInfo>>>);
    let latest = move |id: i64| {
        let listed = listed.with(|l| l.iter().find(|r| r.id == id).cloned());
        let pushed = crate::live::pushed_report(&live, id);
        let answered = active.get().filter(|r| r.id == id);
        let polled = polled_slot
            .get_value()
            .and_then(|m| m.get())
            .filter(|r| r.id == id);
        furthest(furthest(furthest(listed, pushed), answered), polled)
    };
    // The report the progress panel follows: this tab's, else the one
    // running, else the newest waiting.
    let shown_id = Memo::new(move |_| {
        active.with(|a| a.as_ref().map(|r| r.id)).or_else(|| {
            // As they stand now: the list may be older than what was pushed.
            let now: Vec<ReportInfo> =
                listed.with(|l| l.iter().filter_map(|r| latest(r.id)).collect());
            now.iter()
                .find(|r| r.status == ReportStatus::Running)
                .or_else(|| now.iter().find(|r| !r.status.is_done()))
                .map(|r| r.id)
        })
    });
    let shown = Memo::new(move |_| shown_id.get().and_then(latest));

    // While the stream is not live, the shown report is polled once a second
    // until it ends.
    let poll_key = Memo::new(move |_| {
        let live_now = live.connection.get() == Connection::Live;
        shown
            .with(|r| r.as_ref().filter(|r| !r.status.is_done()).map(|r| r.id))
            .filter(|_| !live_now)
            .map(|id| (id, tick.get()))
    });
    let polled = LocalResource::new({
        let client = client.clone();
        move || {
            let key = poll_key.get();
            let client = client.clone();
            async move {
                match key {
                    Some((id, _)) => client.report(id).await.map(Some),
                    None => Ok(None),
                }
            }
        }
    });
    let polled_info = Memo::new(
        move |prev: Option<&Option<ReportInfo>>| match polled.get() {
            Some(Ok(Some(r))) => Some(r),
            _ => prev.cloned().flatten(),
        },
    );
    polled_slot.set_value(Some(polled_info));

    let form = ReportForm::new();
    let generate = Action::new_local({
        let client = client.clone();
        move |req: &ReportRequest| {
            let (client, req) = (client.clone(), req.clone());
            async move {
                match client.generate_report(&req).await {
                    Ok(info) => {
                        active.set(Some(info));
                        changed.update(|n| *n += 1);
                    }
                    Err(e) => form.error.set(Some(e)),
                }
            }
        }
    });
    let cancel = refetching_action(changed, &client, |client, id: &i64| {
        let id = *id;
        async move { client.cancel_report(id).await }
    });
    let remove = refetching_action(changed, &client, |client, id: &i64| {
        let id = *id;
        async move { client.delete_report(id).await }
    });
    let download_error = RwSignal::new(None::<ClientError>);

    let row = move |id: i64| {
        let current = Memo::new(move |_| latest(id));
        let text = move |f: fn(&ReportInfo) -> String| {
            move || current.with(|r| r.as_ref().map(f).unwrap_or_default())
        };
        // Memos: the button and the links are built again only when these
        // change, not at each step of the generation.
        let running =
            Memo::new(move |_| current.with(|r| r.as_ref().is_some_and(|r| !r.status.is_done())));
        let files = Memo::new(move |_| {
            current.with(|r| r.as_ref().map(|r| r.files.clone()).unwrap_or_default())
        });
        let name = (t.report_name)(id);
        view! {
            <tr
                data-testid="report-row"
                data-report-id=id
                data-status=move || current.with(|r| r.as_ref().map(|r| r.status.as_str()))
            >
                <td class="num">{text(|r| format::date_time(r.created_at))}</td>
                <td class="num" data-testid="period">{text(period_text)}</td>
                <td data-testid="status">{text(status_text)}</td>
                <td data-testid="requested-by">{text(|r| r.requested_by.clone())}</td>
                <td class="num" data-testid="size">{move || size_text(&files.get())}</td>
                <td class="downloads">
                    <Downloads id=id files=files error=download_error />
                </td>
                <td class="actions">
                    {move || running.get().then(|| view! {
                        <button type="button" aria-label=(t.cancel_label)(id)
                            disabled=move || cancel.pending().get()
                            on:click=move |_| { cancel.dispatch(id); }>
                            {common.cancel}
                        </button>
                    })}
                    <ConfirmButton
                        verb=common.delete
                        verbing=t.deleting
                        name=name.clone()
                        consequence=t.delete_consequence
                        on_confirm=Callback::new(move |()| {
                            if active.with_untracked(|a| a.as_ref().is_some_and(|r| r.id == id)) {
                                active.set(None);
                            }
                            remove.dispatch(id);
                        })
                    />
                </td>
            </tr>
        }
    };
    let none_yet =
        Memo::new(move |_| page.with(|p| p.as_ref().is_some_and(|p| p.reports.is_empty())));

    view! {
        <section class="page reports-page">
            <header class="page-header">
                <h1>{t.title}</h1>
                <p class="subtitle">{t.subtitle}</p>
            </header>
            <GenerateForm form=form pending=generate.pending() on_generate=Callback::new(move |req| {
                generate.dispatch(req);
            }) />
            {move || shown_id.get().map(|id| view! {
                <Progress
                    id=id
                    report=shown
                    on_cancel=Callback::new(move |()| { cancel.dispatch(id); })
                    cancelling=cancel.pending()
                    download_error=download_error
                />
            })}
            <section class="reports-list" aria-labelledby="reports-heading">
                <h2 id="reports-heading">{t.generated}</h2>
                <LoadError fetched=fetched />
                <ChangeError error=Signal::derive(move || {
                    action_error(cancel).or_else(|| action_error(remove)).or_else(|| download_error.get())
                }) />
                <Show
                    when=move || !none_yet.get()
                    fallback=move || view! { <p class="empty" data-testid="no-report">{t.no_report}</p> }
                >
                    <table class="targets reports">
                        <thead>
                            <tr>
                                <th scope="col">{t.col_requested}</th>
                                <th scope="col">{t.col_period}</th>
                                <th scope="col">{t.col_status}</th>
                                <th scope="col">{t.col_requested_by}</th>
                                <th scope="col" class="num">{t.col_size}</th>
                                <th scope="col">{t.col_download}</th>
                                <th scope="col"><span class="visually-hidden">{t.col_actions}</span></th>
                            </tr>
                        </thead>
                        <tbody>
                            <For each=move || listed.get() key=|r| r.id children=move |r| row(r.id) />
                        </tbody>
                    </table>
                </Show>
                <Pager
                    offset=offset
                    page=PAGE
                    count=Signal::derive(move || listed.with(Vec::len) as u32)
                    total=total
                    next=next_offset
                    label=t.pages
                    range_testid="reports-range"
                />
            </section>
            <ReportSchedules />
        </section>
    }
}

/// The form that generates a report.
#[component]
fn GenerateForm(
    form: ReportForm,
    pending: Memo<bool>,
    on_generate: Callback<ReportRequest>,
) -> impl IntoView {
    let error: Signal<Option<ClientError>> = form.error.into();
    let invalid = move |field| aria_invalid(error, field);
    let custom = move || form.period.get() == Period::Custom;
    let ready = Memo::new(move |_| form.request(0).is_some());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if let Some(req) = form.request(unix_now_ms()) {
            form.error.set(None);
            on_generate.run(req);
        }
    };
    let ReportForm { from, to, .. } = form;
    let t = i18n::pick(&EN, &FR);

    view! {
        <form class="panel new-target report-form" novalidate on:submit=submit aria-label=t.generate_a_report>
            <h2>{t.generate_a_report}</h2>
            <div class="fields">
                <div class="field">
                    <Field label=t.period_field>
                        <Select
                            options=Period::ALL.to_vec()
                            value=form.period
                            word=Period::word
                            text=Period::label
                            on_pick=Callback::new(move |p| form.pick(p))
                        />
                    </Field>
                    {move || (!custom()).then(|| view! {
                        <FieldError error=error field="from" id="report-period-from-error" />
                        <FieldError error=error field="to" id="report-period-to-error" />
                    })}
                </div>
                {move || custom().then(|| view! {
                    <Field label=t.from error=error field="from" id="report-from-error">
                        <input type="datetime-local" required bind:value=from
                            aria-invalid=invalid("from") aria-describedby="report-from-error" />
                    </Field>
                    <Field label=t.to error=error field="to" id="report-to-error">
                        <input type="datetime-local" required bind:value=to
                            aria-invalid=invalid("to") aria-describedby="report-to-error" />
                    </Field>
                })}
            </div>
            <div class="fields choices">
                <ScopeFields scope=form.scope error=error id="report" />
            </div>
            <button type="submit" class="primary" disabled=move || pending.get() || !ready.get()>
                {t.generate}
            </button>
            <ChangeError error=unless_field(error, FIELDS) />
        </form>
    }
}

/// How the followed report's generation stands: a progress bar, the step,
/// Cancel while it runs; its files once done.
#[component]
fn Progress(
    id: i64,
    report: Memo<Option<ReportInfo>>,
    on_cancel: Callback<()>,
    cancelling: Memo<bool>,
    download_error: RwSignal<Option<ClientError>>,
) -> impl IntoView {
    let t = i18n::pick(&EN, &FR);
    let cancel = i18n::common().cancel;
    let progress = move || report.with(|r| r.as_ref().map_or(0, |r| r.progress));
    let status = move || report.with(|r| r.as_ref().map_or("queued", |r| r.status.as_str()));
    let status_shown =
        move || report.with(|r| (t.status)(r.as_ref().map_or(ReportStatus::Queued, |r| r.status)));
    // Memos: the button and the links are built again only when these
    // change, not at each step of the generation.
    let running =
        Memo::new(move |_| report.with(|r| r.as_ref().is_none_or(|r| !r.status.is_done())));
    let files = Memo::new(move |_| {
        report.with(|r| r.as_ref().map(|r| r.files.clone()).unwrap_or_default())
    });
    let period = move || report.with(|r| r.as_ref().map(period_text).unwrap_or_default());
    let error = move || report.with(|r| r.as_ref().and_then(|r| r.error.clone()));
    view! {
        <section class="panel report-progress" aria-labelledby="report-progress-heading"
            data-testid="report-panel" data-report-id=id data-status=status>
            <h2 id="report-progress-heading">{(t.report_heading)(id)}</h2>
            <p class="subtitle">{period}</p>
            <div class="progress-line">
                <progress
                    max="100"
                    value=move || progress().to_string()
                    data-value=move || progress().to_string()
                    data-testid="report-progress"
                    aria-label=(t.progress_label)(id)
                ></progress>
                <span class="progress-status" data-testid="report-status">{status_shown}</span>
            </div>
            <p class="progress-step" data-testid="report-step" aria-live="polite">
                {move || report.with(|r| r.as_ref().map(step_text).unwrap_or_default())}
            </p>
            {move || error().map(|e| view! { <p class="error" data-testid="report-error">{e}</p> })}
            <div class="actions">
                {move || running.get().then(|| view! {
                    <button type="button" class="danger" disabled=move || cancelling.get()
                        on:click=move |_| on_cancel.run(())>
                        {cancel}
                    </button>
                })}
                {move || (!running.get()).then(|| view! {
                    <Downloads id=id files=files error=download_error />
                })}
            </div>
        </section>
    }
}

/// A link per file of report `id`. Without a token, plain links the
/// browser downloads; with one, fetched with it (a link sends no
/// `Authorization` header) and handed to the browser as a file.
#[component]
fn Downloads(
    id: i64,
    #[prop(into)] files: Signal<Vec<ReportFile>>,
    error: RwSignal<Option<ClientError>>,
) -> impl IntoView {
    let client = expect_context::<ApiClient>();
    let t = i18n::pick(&EN, &FR);
    move || {
        files
            .get()
            .into_iter()
            .map(|file| {
                let client = client.clone();
                let url = client.report_download_url(id, file.format);
                let name = format!("vigie-report-{id}.{}", file.format.as_str());
                let title =
                    (t.file_title)(format_label(file.format), &format::bytes(file.bytes as f64));
                let click = {
                    let (url, name) = (url.clone(), name.clone());
                    move |ev: leptos::ev::MouseEvent| {
                        if !client.has_token() {
                            return;
                        }
                        ev.prevent_default();
                        let (client, url, name) = (client.clone(), url.clone(), name.clone());
                        error.set(None);
                        leptos::task::spawn_local(async move {
                            if let Err(e) = client.download_with_token(&url, &name).await {
                                error.set(Some(e));
                            }
                        });
                    }
                };
                view! {
                    <a class="download" href=url download=name title=title
                        data-format=file.format.as_str() on:click=click>
                        {format_label(file.format)}
                    </a>
                }
            })
            .collect_view()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::report_scope::scope_lists;
    use vigie_api::ReportSection;

    fn info(status: ReportStatus) -> ReportInfo {
        ReportInfo {
            id: 3,
            status,
            progress: 40,
            step: "probes of shop".into(),
            from: 1_714_485_802_000,
            to: 1_714_572_202_000,
            request: ReportRequest::default(),
            requested_by: "ana".into(),
            created_at: 1_714_572_202_000,
            finished_at: None,
            error: None,
            files: Vec::new(),
        }
    }

    #[test]
    fn presets_end_now_and_custom_periods_need_both_ends() {
        let now = 1_714_572_202_000;
        let all = ReportSection::ALL;
        let req = report_request(Period::Week, now, ("", ""), scope_lists(&[], &[], &all))
            .expect("a request");
        assert_eq!(req.from, Some(now - 7 * DAY_MS));
        assert_eq!(req.to, Some(now));
        assert_eq!(
            (req.targets, req.services, req.sections),
            (None, None, None)
        );
        assert!(
            report_request(
                Period::Custom,
                now,
                ("2024-05-01T10:00", ""),
                scope_lists(&[], &[], &all)
            )
            .is_none()
        );
        let custom = report_request(
            Period::Custom,
            now,
            ("2024-05-01T10:00", "2024-05-01T12:30"),
            scope_lists(
                &[2, 5],
                &["shop".into()],
                &[ReportSection::Alerts, ReportSection::Summary],
            ),
        )
        .expect("a request");
        assert_eq!(
            custom.to.zip(custom.from).map(|(t, f)| t - f),
            Some(150 * 60_000)
        );
        assert_eq!(custom.targets, Some(vec![2, 5]));
        assert_eq!(custom.services, Some(vec!["shop".to_owned()]));
        // In the server's order, whatever order they were ticked in.
        assert_eq!(
            custom.sections,
            Some(vec![ReportSection::Summary, ReportSection::Alerts])
        );
        // None ticked is sent as such: the server says why it refuses.
        let none = report_request(Period::Day, now, ("", ""), scope_lists(&[], &[], &[]))
            .expect("a request");
        assert_eq!(none.sections, Some(Vec::new()));
    }

    #[test]
    fn reports_read_in_their_row() {
        assert_eq!(status_text(&info(ReportStatus::Running)), "running · 40 %");
        assert_eq!(
            step_text(&info(ReportStatus::Running)),
            "40 % · probes of shop"
        );
        let failed = ReportInfo {
            error: Some("disk full".into()),
            ..info(ReportStatus::Failed)
        };
        assert_eq!(status_text(&failed), "failed: disk full");
        let cancelled = ReportInfo {
            error: Some("cancelled".into()),
            ..info(ReportStatus::Cancelled)
        };
        assert_eq!(status_text(&cancelled), "cancelled");
        assert_eq!(size_text(&[]), "—");
        let files = [
            ReportFile {
                format: ReportFormat::Html,
                bytes: 1024,
            },
            ReportFile {
                format: ReportFormat::Csv,
                bytes: 1024,
            },
        ];
        assert_eq!(size_text(&files), "2.0 KiB");
        assert_eq!(
            period_text(&info(ReportStatus::Queued)),
            "2024-04-30 14:03:22 – 2024-05-01 14:03:22"
        );
    }

    #[test]
    fn reports_read_in_french() {
        crate::i18n::set_current(crate::i18n::Lang::Fr);
        let running = status_text(&info(ReportStatus::Running));
        let failed = status_text(&ReportInfo {
            error: Some("disk full".into()),
            ..info(ReportStatus::Failed)
        });
        let label = Period::Week.label();
        crate::i18n::set_current(crate::i18n::Lang::En);
        assert_eq!(running, "en cours · 40 %");
        assert_eq!(failed, "échoué : disk full");
        assert_eq!(label, "7 derniers jours");
    }
}
