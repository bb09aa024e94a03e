//! What a report covers, picked the same way wherever a report is asked
//! for (the generate form, a schedule): the HTTP targets, the services of
//! the ingested requests (none ticked: all of them) and the sections.

use leptos::prelude::*;
use vigie_api::{ReportSection, TargetKind};

use crate::api::{ApiClient, ClientError, Range, Span, Window};
use crate::components::change_error::FieldError;
use crate::components::form::aria_invalid;
use crate::i18n;

#[derive(Debug)]
struct Text {
    section: fn(ReportSection) -> &'static str,
    targets: &'static str,
    targets_hint: &'static str,
    removed_target: fn(i64) -> String,
    no_target: &'static str,
    services: &'static str,
    services_hint: &'static str,
    no_service: &'static str,
    sections: &'static str,
}

const EN: Text = Text {
    section: |s| match s {
        ReportSection::Summary => "Summary against the SLI targets",
        ReportSection::ResponseTimes => "Response-time charts",
        ReportSection::Resources => "This host's CPU and memory",
        ReportSection::Cache => "Cache sources",
        ReportSection::SlowQueries => "Slow queries",
        ReportSection::Endpoints => "Worst endpoints",
        ReportSection::Alerts => "Alerts",
        ReportSection::Scaling => "Scaling actions",
        ReportSection::Recommendations => "Recommendations",
    },
    targets: "Targets ",
    targets_hint: "(none ticked: every HTTP target)",
    removed_target: |id| format!("target {id} (removed)"),
    no_target: "No HTTP target.",
    services: "Services ",
    services_hint: "(none ticked: every service)",
    no_service: "No ingested request in the last 7 days.",
    sections: "Sections",
};

const FR: Text = Text {
    section: |s| match s {
        ReportSection::Summary => "Synthèse au regard des objectifs SLI",
        ReportSection::ResponseTimes => "Graphiques des temps de réponse",
        ReportSection::Resources => "CPU et mémoire de cet hôte",
        ReportSection::Cache => "Sources de cache",
        ReportSection::SlowQueries => "Requêtes lentes",
        ReportSection::Endpoints => "Points d’accès les moins performants",
        ReportSection::Alerts => "Alertes",
        ReportSection::Scaling => "Actions de mise à l’échelle",
        ReportSection::Recommendations => "Recommandations",
    },
    targets: "Cibles ",
    targets_hint: "(aucune cochée : toutes les cibles HTTP)",
    removed_target: |id| format!("cible {id} (supprimée)"),
    no_target: "Aucune cible HTTP.",
    services: "Services ",
    services_hint: "(aucun coché : tous les services)",
    no_service: "Aucune requête ingérée ces 7 derniers jours.",
    sections: "Sections",
};

pub fn section_label(s: ReportSection) -> &'static str {
    (i18n::pick(&EN, &FR).section)(s)
}

fn section_word(s: ReportSection) -> &'static str {
    match s {
        ReportSection::Summary => "summary",
        ReportSection::ResponseTimes => "response_times",
        ReportSection::Resources => "resources",
        ReportSection::Cache => "cache",
        ReportSection::SlowQueries => "slow_queries",
        ReportSection::Endpoints => "endpoints",
        ReportSection::Alerts => "alerts",
        ReportSection::Scaling => "scaling",
        ReportSection::Recommendations => "recommendations",
    }
}

/// Adds `item` to `list` when `on`, else takes it out.
pub fn toggle<T: PartialEq>(list: &mut Vec<T>, item: T, on: bool) {
    list.retain(|x| *x != item);
    if on {
        list.push(item);
    }
}

/// The scope as the wire says it: `None` for "every target", "every
/// service" and "every section"; the sections in their report order.
pub type ScopeLists = (
    Option<Vec<i64>>,
    Option<Vec<String>>,
    Option<Vec<ReportSection>>,
);

pub fn scope_lists(targets: &[i64], services: &[String], sections: &[ReportSection]) -> ScopeLists {
    let all = ReportSection::ALL.iter().all(|s| sections.contains(s));
    (
        (!targets.is_empty()).then(|| targets.to_vec()),
        (!services.is_empty()).then(|| services.to_vec()),
        (!all).then(|| {
            ReportSection::ALL
                .into_iter()
                .filter(|s| sections.contains(s))
                .collect()
        }),
    )
}

/// The ticked targets, services and sections.
#[derive(Debug, Clone, Copy)]
pub struct ReportScope {
    pub targets: RwSignal<Vec<i64>>,
    pub services: RwSignal<Vec<String>>,
    pub sections: RwSignal<Vec<ReportSection>>,
}

impl ReportScope {
    /// Every target, every service, every section.
    pub fn new() -> Self {
        ReportScope {
            targets: RwSignal::new(Vec::new()),
            services: RwSignal::new(Vec::new()),
            sections: RwSignal::new(ReportSection::ALL.to_vec()),
        }
    }

    /// Ticks what `lists` holds (`None`: nothing ticked, or every section).
    pub fn load(&self, (targets, services, sections): ScopeLists) {
        self.targets.set(targets.unwrap_or_default());
        self.services.set(services.unwrap_or_default());
        self.sections
            .set(sections.unwrap_or_else(|| ReportSection::ALL.to_vec()));
    }

    /// What is ticked, as the wire says it: see [`scope_lists`].
    pub fn lists(&self) -> ScopeLists {
        self.targets.with(|t| {
            self.services
                .with(|s| self.sections.with(|l| scope_lists(t, s, l)))
        })
    }
}

impl Default for ReportScope {
    fn default() -> Self {
        ReportScope::new()
    }
}

/// The three fieldsets; `id` prefixes their error ids (`{id}-targets-error`).
#[component]
pub fn ScopeFields(
    scope: ReportScope,
    error: Signal<Option<ClientError>>,
    id: &'static str,
) -> impl IntoView {
    let client = expect_context::<ApiClient>();
    let t = i18n::pick(&EN, &FR);
    let targets = LocalResource::new({
        let client = client.clone();
        move || {
            let client = client.clone();
            async move { client.targets().await }
        }
    });
    let http_targets = Memo::new(move |_| match targets.get() {
        Some(Ok(list)) => list
            .targets
            .into_iter()
            .filter(|t| t.spec.kind == TargetKind::Http)
            .map(|t| (t.id, t.spec.name))
            .collect::<Vec<_>>(),
        _ => Vec::new(),
    });
    let targets_loaded = Memo::new(move |_| matches!(targets.get(), Some(Ok(_))));
    // The services that sent requests within the retention.
    let services = LocalResource::new(move || {
        let client = client.clone();
        let window = Window {
            span: Span::Last(Range::D7),
            points: 1,
        };
        async move { client.services(&window).await }
    });
    let known_services = Memo::new(move |_| match services.get() {
        Some(Ok(list)) => list,
        _ => Vec::new(),
    });
    let invalid = move |field| aria_invalid(error, field);
    let error_id = move |field: &str| format!("{id}-{field}-error");

    view! {
        <div class="fields choices">
            <fieldset aria-describedby=error_id("targets") aria-invalid=invalid("targets")>
                <legend>{t.targets} <span class="hint">{t.targets_hint}</span></legend>
                {move || {
                    let mut list = http_targets.get();
                    // A target ticked earlier (a schedule's) and removed
                    // since: shown, so that it can be unticked.
                    if targets_loaded.get() {
                        scope.targets.with(|ticked| {
                            for &id in ticked {
                                if !list.iter().any(|(i, _)| *i == id) {
                                    list.push((id, (t.removed_target)(id)));
                                }
                            }
                        });
                    }
                    if list.is_empty() {
                        return view! { <p class="empty">{t.no_target}</p> }.into_any();
                    }
                    list.into_iter()
                        .map(|(id, name)| view! {
                            <label class="check">
                                <input type="checkbox"
                                    prop:checked=move || scope.targets.with(|t| t.contains(&id))
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        scope.targets.update(|t| toggle(t, id, on));
                                    } />
                                {name}
                            </label>
                        })
                        .collect_view()
                        .into_any()
                }}
                <FieldError error=error field="targets" id=error_id("targets") />
            </fieldset>
            <fieldset aria-describedby=error_id("services") aria-invalid=invalid("services")>
                <legend>{t.services} <span class="hint">{t.services_hint}</span></legend>
                {move || {
                    let mut list = known_services.get();
                    // A service ticked earlier (a schedule's) stays shown
                    // when it sent nothing lately.
                    scope.services.with(|ticked| {
                        for s in ticked {
                            if !list.contains(s) {
                                list.push(s.clone());
                            }
                        }
                    });
                    if list.is_empty() {
                        return view! { <p class="empty">{t.no_service}</p> }.into_any();
                    }
                    list.into_iter()
                        .map(|service| {
                            let name = service.clone();
                            let checked = service.clone();
                            view! {
                                <label class="check">
                                    <input type="checkbox"
                                        prop:checked=move || scope.services.with(|s| s.contains(&checked))
                                        on:change=move |ev| {
                                            let on = event_target_checked(&ev);
                                            scope.services.update(|s| toggle(s, service.clone(), on));
                                        } />
                                    {name}
                                </label>
                            }
                        })
                        .collect_view()
                        .into_any()
                }}
                <FieldError error=error field="services" id=error_id("services") />
            </fieldset>
            <fieldset aria-describedby=error_id("sections") aria-invalid=invalid("sections")>
                <legend>{t.sections}</legend>
                {ReportSection::ALL
                    .into_iter()
                    .map(|s| view! {
                        <label class="check" data-section=section_word(s)>
                            <input type="checkbox"
                                prop:checked=move || scope.sections.with(|l| l.contains(&s))
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    scope.sections.update(|l| toggle(l, s, on));
                                } />
                            {section_label(s)}
                        </label>
                    })
                    .collect_view()}
                <FieldError error=error field="sections" id=error_id("sections") />
            </fieldset>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_ticked_or_nothing_ticked_is_sent_as_absent() {
        assert_eq!(
            scope_lists(&[], &[], &ReportSection::ALL),
            (None, None, None)
        );
        let (t, s, l) = scope_lists(
            &[5, 2],
            &["shop".to_owned()],
            &[ReportSection::Alerts, ReportSection::Summary],
        );
        assert_eq!(t, Some(vec![5, 2]));
        assert_eq!(s, Some(vec!["shop".to_owned()]));
        // In the report's order, not the order ticked.
        assert_eq!(l, Some(vec![ReportSection::Summary, ReportSection::Alerts]));
        assert_eq!(scope_lists(&[], &[], &[]).2, Some(Vec::new()));
    }

    #[test]
    fn ticking_adds_once_and_unticking_removes() {
        let mut list = vec![1];
        toggle(&mut list, 2, true);
        toggle(&mut list, 3, true);
        toggle(&mut list, 2, true);
        toggle(&mut list, 1, false);
        assert_eq!(list, vec![3, 2]);
    }
}
