//! `/recommendations`: advice the server draws from the measurements of a
//! period (the last day, 7 or 31 days), most severe first: each with what
//! it is about, the figures that make it hold, what acting on it gains, and
//! a link to the chart that shows it, at its range. Fetched again every
//! 30 s and on each alert transition.

use std::time::Duration;

use leptos::prelude::*;
use leptos_router::components::A;
use vigie_api::{Evidence, Recommendation, RecommendationRule, RecommendationSeverity};

use crate::api::ApiClient;
use crate::app_path;
use crate::components::change_error::LoadError;
use crate::components::range_picker::chart_href;
use crate::lists::last_answer;
use crate::live::{LiveHost, ticker, unix_now_ms};
use crate::{format, i18n};

const DAY_MS: i64 = 86_400_000;

#[derive(Debug)]
struct Text {
    endpoint_charts: &'static str,
    endpoints: &'static str,
    chart: &'static str,
    /// A severity as a person reads it (`data-severity` keeps the wire's word).
    severity: fn(RecommendationSeverity) -> &'static str,
    add_scaling: &'static str,
    evidence: &'static str,
    nothing: &'static str,
    title: &'static str,
    subtitle: &'static str,
    period: &'static str,
    /// The period's choices, in days ending now.
    periods: [(i64, &'static str); 3],
}

const EN: Text = Text {
    endpoint_charts: "Open the endpoint's charts",
    endpoints: "Open the endpoints",
    chart: "Open the chart",
    severity: RecommendationSeverity::as_str,
    add_scaling: "Add a scaling configuration",
    evidence: "Evidence",
    nothing: "Nothing needs attention over this period: no rule's condition held.",
    title: "Recommendations",
    subtitle: "Advice drawn from the measurements, most severe first",
    period: "Period ",
    periods: [(1, "Last day"), (7, "Last 7 days"), (31, "Last 31 days")],
};

const FR: Text = Text {
    endpoint_charts: "Ouvrir les graphiques du point d’accès",
    endpoints: "Ouvrir les points d’accès",
    chart: "Ouvrir le graphique",
    severity: |s| match s {
        RecommendationSeverity::Critical => "critique",
        RecommendationSeverity::Warning => "avertissement",
        RecommendationSeverity::Info => "info",
    },
    add_scaling: "Ajouter une configuration de mise à l’échelle",
    evidence: "Éléments à l’appui",
    nothing: "Rien ne demande d’attention sur cette période : aucune condition de règle n’a été remplie.",
    title: "Recommandations",
    subtitle: "Conseils tirés des mesures, les plus graves d’abord",
    period: "Période ",
    periods: [
        (1, "Dernier jour"),
        (7, "7 derniers jours"),
        (31, "31 derniers jours"),
    ],
};

/// A figure in its unit: `1250 ms`, `3`, `45 s`, `1.23 %/day`, `0.93`.
pub fn evidence_value(e: &Evidence) -> String {
    let two = |v: f64| format::number((v * 100.0).round() / 100.0);
    match e.unit.as_str() {
        "count" => format::fixed(e.value.round(), 0),
        "%" | "ms" => format::measured(Some(e.value), &e.unit),
        "s" => format::duration(e.value.max(0.0).round() as u32),
        "" | "ratio" => two(e.value),
        unit => format!("{} {unit}", two(e.value)),
    }
}

/// Where a recommendation's chart is, in words.
fn link_text(r: &Recommendation) -> &'static str {
    let t = i18n::pick(&EN, &FR);
    match r.link.page.as_str() {
        "/endpoints" if r.link.endpoint.is_some() => t.endpoint_charts,
        "/endpoints" => t.endpoints,
        _ => t.chart,
    }
}

#[component]
pub fn Recommendations() -> impl IntoView {
    let client = expect_context::<ApiClient>();
    let live = expect_context::<LiveHost>();
    let t = i18n::pick(&EN, &FR);
    let refresh = ticker(Duration::from_secs(30));
    // Days of the period, ending now.
    let days = RwSignal::new(1_i64);
    let fetched = LocalResource::new(move || {
        refresh.get();
        live.alerts_seen.get();
        let to = unix_now_ms();
        let from = to - days.get() * DAY_MS;
        let client = client.clone();
        async move { client.recommendations(Some(from), Some(to)).await }
    });
    let answer = last_answer(fetched);
    let list = Memo::new(move |_| answer.get().map(|a| a.recommendations).unwrap_or_default());
    let loaded = Memo::new(move |_| answer.with(Option::is_some));
    let empty = Memo::new(move |_| list.with(Vec::is_empty));
    let period = move || {
        answer.with(|a| {
            a.as_ref().map(|a| {
                format!(
                    "{} – {}",
                    format::date_time(a.from),
                    format::date_time(a.to)
                )
            })
        })
    };

    let card = move |key: String| {
        let current = Memo::new({
            let key = key.clone();
            move |_| list.with(|l| l.iter().find(|r| r.key == key).cloned())
        });
        let text = move |f: fn(&Recommendation) -> String| {
            move || current.with(|r| r.as_ref().map(f).unwrap_or_default())
        };
        let severity_of = move || {
            current.with(|r| {
                r.as_ref()
                    .map_or(RecommendationSeverity::Info, |r| r.severity)
            })
        };
        let severity = move || severity_of().as_str();
        let severity_shown = move || (t.severity)(severity_of());
        let evidence =
            move || {
                current.with(|r| {
                    r.as_ref()
                    .map(|r| r.evidence.clone())
                    .unwrap_or_default()
                    .into_iter()
                    .map(|e| view! {
                        <li data-testid="evidence" data-label=e.label.clone()>
                            <span class="label">{e.label.clone()}</span>
                            " "
                            <strong data-testid="evidence-value">{evidence_value(&e)}</strong>
                        </li>
                    })
                    .collect_view()
                })
            };
        let link = move || {
            current.get().map(|r| {
                let label = format!("{} · {}", link_text(&r), r.title);
                // What the advice asks for, beside the chart that shows why.
                let act = (r.rule == RecommendationRule::CpuWithoutScaling).then(|| {
                    view! {
                        " "
                        <A href=app_path("/scaling") attr:class="chart-link" attr:data-testid="act-link">
                            {t.add_scaling}
                        </A>
                    }
                });
                view! {
                    <A href=app_path(&chart_href(&r.link)) attr:class="chart-link" attr:aria-label=label
                        attr:data-testid="chart-link">
                        {link_text(&r)}
                    </A>
                    {act}
                }
            })
        };
        view! {
            <li class="recommendation" data-testid="recommendation" data-key=key.clone()
                data-rule=move || current.with(|r| r.as_ref().map(|r| r.rule.as_str()))
                data-severity=severity>
                <div class="alert-main">
                    <span class="severity" data-severity=severity>{severity_shown}</span>
                    <strong class="alert-title" data-testid="title">{text(|r| r.title.clone())}</strong>
                    <span class="subject" data-testid="subject">{text(|r| r.subject.clone())}</span>
                </div>
                <p class="alert-description" data-testid="detail">{text(|r| r.detail.clone())}</p>
                <ul class="evidence" aria-label=t.evidence>{evidence}</ul>
                <p class="gain" data-testid="gain">{text(|r| r.gain.clone())}</p>
                <p class="alert-facts">
                    {text(|r| format!("{} – {}", format::date_time(r.from), format::date_time(r.to)))}
                    " · "
                    {link}
                </p>
            </li>
        }
    };

    let body = move || {
        if !loaded.get() {
            return view! { <p>{i18n::common().loading}</p> }.into_any();
        }
        if empty.get() {
            return view! {
                <p class="empty" data-testid="no-recommendation">
                    {t.nothing}
                </p>
            }
            .into_any();
        }
        view! {
            <ul class="alert-list recommendations">
                <For each=move || list.get() key=|r| r.key.clone() children=move |r| card(r.key) />
            </ul>
        }
        .into_any()
    };

    view! {
        <section class="page recommendations-page">
            <header class="page-header">
                <h1>{t.title}</h1>
                <p class="subtitle">{t.subtitle}</p>
            </header>
            <div class="toolbar">
                <label>
                    {t.period}
                    <select on:change=move |ev| {
                        if let Ok(d) = event_target_value(&ev).parse() {
                            days.set(d);
                        }
                    }>
                        {t.periods
                            .into_iter()
                            .map(|(d, label)| view! {
                                <option value=d.to_string() selected=move || days.get() == d>{label}</option>
                            })
                            .collect_view()}
                    </select>
                </label>
                <span class="subtitle" data-testid="period">{period}</span>
            </div>
            <LoadError fetched=fetched />
            {body}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(label: &str, value: f64, unit: &str) -> Evidence {
        Evidence {
            label: label.into(),
            value,
            unit: unit.into(),
        }
    }

    #[test]
    fn figures_read_in_their_unit() {
        assert_eq!(evidence_value(&ev("p95", 1250.4, "ms")), "1250 ms");
        assert_eq!(evidence_value(&ev("mean CPU", 73.26, "%")), "73.3 %");
        assert_eq!(evidence_value(&ev("down episodes", 3.0, "count")), "3");
        assert_eq!(evidence_value(&ev("longest down", 90.0, "s")), "1 min 30 s");
        assert_eq!(evidence_value(&ev("growth", 1.234, "%/day")), "1.23 %/day");
        assert_eq!(evidence_value(&ev("fit r²", 0.9349, "ratio")), "0.93");
        assert_eq!(evidence_value(&ev("requests", 12345.0, "count")), "12345");
        crate::i18n::set_current(crate::i18n::Lang::Fr);
        let ratio = evidence_value(&ev("fit r²", 0.9349, "ratio"));
        let count = evidence_value(&ev("requests", 12345.0, "count"));
        crate::i18n::set_current(crate::i18n::Lang::En);
        assert_eq!(ratio, "0,93");
        assert_eq!(count, "12\u{202f}345");
    }
}
