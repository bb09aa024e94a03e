//! The time range a page shows: a preset ending now (5 min … 7 days) or a span
//! zoomed into by dragging across a chart. [`TimeView`] holds it for every
//! chart of a page; [`RangePicker`] is its toolbar. A page opened from a
//! link to a chart (a recommendation's, [`chart_href`]) starts zoomed to the
//! link's range, on its target or endpoint ([`Linked`]).

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::Serialize;
use vigie_api::ChartLink;
use vigie_charts::steady_window;

use crate::api::{Range, Span, Window};
use crate::live::LiveHost;
use crate::{format, i18n};

#[derive(Debug)]
struct Text {
    range: &'static str,
    reset_zoom: &'static str,
    /// A preset's button text.
    preset: fn(Range) -> &'static str,
}

const EN: Text = Text {
    range: "Range",
    reset_zoom: "Reset zoom",
    preset: Range::as_str,
};

const FR: Text = Text {
    range: "Période",
    reset_zoom: "Annuler le zoom",
    // Compact like the English, hours as the English writes them (the
    // portal's end-to-end test picks `1h` and `24h` in French).
    preset: |r| match r {
        Range::M5 => "5min",
        Range::M15 => "15min",
        Range::H1 => "1h",
        Range::H6 => "6h",
        Range::H24 => "24h",
        Range::D7 => "7j",
    },
};

#[derive(Debug, Clone, Copy)]
pub struct TimeView {
    pub range: RwSignal<Range>,
    pub zoom: RwSignal<Option<(i64, i64)>>,
}

impl Default for TimeView {
    fn default() -> Self {
        TimeView {
            range: app_range(),
            zoom: RwSignal::new(None),
        }
    }
}

/// The app's range ([`crate::AppRange`]), shared by every page; a range of
/// its own outside the app.
fn app_range() -> RwSignal<Range> {
    use_context::<crate::AppRange>().map_or_else(|| RwSignal::new(Range::M5), |r| r.0)
}

/// What a link to a chart asks a page for: `?from=&to=` (Unix ms), and
/// `target`, or `service` and `endpoint`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Linked {
    pub zoom: Option<(i64, i64)>,
    pub target: Option<i64>,
    pub service: Option<String>,
    pub endpoint: Option<String>,
}

impl Linked {
    /// Read through `get` (a query parameter by name); what is missing or
    /// malformed is left out, a range that ends before it starts too.
    pub fn parse(get: impl Fn(&str) -> Option<String>) -> Linked {
        let int = |name: &str| get(name).and_then(|v| v.trim().parse::<i64>().ok());
        let text = |name: &str| get(name).filter(|v| !v.is_empty());
        Linked {
            zoom: int("from").zip(int("to")).filter(|(from, to)| from < to),
            target: int("target"),
            service: text("service"),
            endpoint: text("endpoint"),
        }
    }

    /// What the current page's address asks for (read once, as it opens).
    pub fn from_url() -> Linked {
        let query = use_query_map().get_untracked();
        Linked::parse(|name| query.get(name))
    }
}

/// The query string of a [`ChartLink`], in [`Linked`]'s names.
#[derive(Serialize)]
struct LinkQuery<'a> {
    from: i64,
    to: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    endpoint: Option<&'a str>,
}

/// The dashboard address a chart link points at, from the app's root:
/// `page?from=&to=…` (a link's `href` is this under [`crate::app_path`]).
pub fn chart_href(link: &ChartLink) -> String {
    let query = serde_urlencoded::to_string(LinkQuery {
        from: link.from,
        to: link.to,
        target: link.target,
        service: link.service.as_deref(),
        endpoint: link.endpoint.as_deref(),
    })
    .unwrap_or_default();
    format!("{}?{query}", link.page)
}

impl TimeView {
    /// The app's range, zoomed to the range a link asked for.
    pub fn linked(linked: &Linked) -> Self {
        TimeView {
            range: app_range(),
            zoom: RwSignal::new(linked.zoom),
        }
    }

    /// What to ask the server for, with `points` buckets at most.
    pub fn window(&self, points: u32) -> Window {
        let span = match self.zoom.get() {
            Some((from, to)) => Span::Between(from, to),
            None => Span::Last(self.range.get()),
        };
        Window { span, points }
    }

    /// The last five minutes, live: what the stream alone can draw.
    pub fn is_live_default(&self) -> bool {
        self.zoom.get().is_none() && self.range.get() == Range::M5
    }

    /// A key that changes when data for this view should be fetched again:
    /// when the live stream has pushed something new (`pushed` moved), at
    /// most once per period that suits the range; never while zoomed or
    /// paused, when nothing new can appear. `tick` counts seconds.
    pub fn refresh_key(
        &self,
        live: &LiveHost,
        tick: ReadSignal<u64>,
        pushed: Signal<u64>,
    ) -> Memo<(u64, u64)> {
        let view = *self;
        let live = *live;
        Memo::new(move |prev: Option<&(u64, u64)>| {
            let measuring = live.monitoring.get().is_none_or(|m| m.monitoring);
            let seen = pushed.get();
            let every = match view.range.get() {
                Range::M5 | Range::M15 => 1,
                Range::H1 => 5,
                Range::H6 | Range::H24 => 30,
                Range::D7 => 120,
            };
            let period = tick.get() / every;
            match prev {
                None => (seen, period),
                Some(&held) if view.zoom.get().is_some() || !measuring => held,
                // Nothing new, or already fetched in this period: wait.
                Some(&(s, p)) if s == seen || p == period => (s, p),
                Some(_) => (seen, period),
            }
        })
    }

    /// The window a chart draws for data fetched over `[from, to]`: exact when
    /// zoomed, steady (see [`steady_window`]) when it ends now and moves.
    pub fn chart_window(&self, from_ms: i64, to_ms: i64) -> std::ops::Range<i64> {
        if self.zoom.get().is_some() {
            from_ms..to_ms
        } else {
            steady_window(to_ms, to_ms - from_ms)
        }
    }

    pub fn zoom_to(&self) -> Callback<(i64, i64)> {
        let zoom = self.zoom;
        Callback::new(move |(from, to)| zoom.set(Some((from, to))))
    }
}

#[component]
pub fn RangePicker(view: TimeView) -> impl IntoView {
    let TimeView { range, zoom } = view;
    let t = i18n::pick(&EN, &FR);
    view! {
        <div class="ranges" role="group" aria-label=t.range>
            {Range::ALL
                .into_iter()
                .map(|r| {
                    view! {
                        <button
                            type="button"
                            aria-pressed=move || (zoom.get().is_none() && range.get() == r).to_string()
                            on:click=move |_| {
                                zoom.set(None);
                                range.set(r);
                            }
                        >
                            {(t.preset)(r)}
                        </button>
                    }
                })
                .collect_view()}
        </div>
        {move || zoom.get().map(|(from, to)| view! {
            <span class="zoomed" data-testid="zoomed" data-from=from data-to=to>
                {format!("{} – {}", format::clock(from), format::clock(to))}
                <button type="button" on:click=move |_| zoom.set(None)>{t.reset_zoom}</button>
            </span>
        })}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_link_opens_the_page_at_its_range() {
        let link = ChartLink {
            page: "/endpoints".into(),
            from: 1_000,
            to: 61_000,
            target: None,
            service: Some("=shop & co".into()),
            endpoint: Some("/orders?id".into()),
        };
        let href = chart_href(&link);
        assert_eq!(
            href,
            "/endpoints?from=1000&to=61000&service=%3Dshop+%26+co&endpoint=%2Forders%3Fid"
        );
        let query: Vec<(String, String)> =
            serde_urlencoded::from_str(href.split_once('?').map_or("", |(_, q)| q))
                .expect("a query");
        let linked = Linked::parse(|name| {
            query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        });
        assert_eq!(
            linked,
            Linked {
                zoom: Some((1_000, 61_000)),
                target: None,
                service: Some("=shop & co".into()),
                endpoint: Some("/orders?id".into()),
            }
        );
        let on_target = ChartLink {
            page: "/".into(),
            target: Some(4),
            service: None,
            endpoint: None,
            ..link
        };
        assert_eq!(chart_href(&on_target), "/?from=1000&to=61000&target=4");
    }

    #[test]
    fn a_malformed_link_asks_for_nothing() {
        let get = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert_eq!(Linked::parse(get(&[])), Linked::default());
        let reversed = Linked::parse(get(&[("from", "20"), ("to", "10"), ("target", "x")]));
        assert_eq!(reversed, Linked::default());
        let half = Linked::parse(get(&[("from", "20"), ("service", "")]));
        assert_eq!(half, Linked::default());
    }
}
