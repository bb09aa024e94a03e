//! The time range a page shows: a preset ending now (5 min … 7 days) or a span
//! zoomed into by dragging across a chart. [`TimeView`] holds it for every
//! chart of a page; [`RangePicker`] is its toolbar.

use leptos::prelude::*;

use vigie_charts::steady_window;

use crate::api::{Range, Span, Window};
use crate::format;
use crate::live::LiveHost;

#[derive(Debug, Clone, Copy)]
pub struct TimeView {
    pub range: RwSignal<Range>,
    pub zoom: RwSignal<Option<(i64, i64)>>,
}

impl Default for TimeView {
    fn default() -> Self {
        TimeView {
            range: RwSignal::new(Range::M5),
            zoom: RwSignal::new(None),
        }
    }
}

impl TimeView {
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
    view! {
        <div class="ranges" role="group" aria-label="Range">
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
                            {r.as_str()}
                        </button>
                    }
                })
                .collect_view()}
        </div>
        {move || zoom.get().map(|(from, to)| view! {
            <span class="zoomed" data-testid="zoomed" data-from=from data-to=to>
                {format!("{} – {}", format::clock(from), format::clock(to))}
                <button type="button" on:click=move |_| zoom.set(None)>"Reset zoom"</button>
            </span>
        })}
    }
}
