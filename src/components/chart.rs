//! A live time-series chart on a `<canvas>`, drawn by `vigie-charts` through
//! plotters-canvas. The canvas is sized in device pixels (CSS size ×
//! `devicePixelRatio`) and everything drawn is scaled with it, so it stays
//! sharp on HiDPI screens; a `ResizeObserver` redraws it when its box changes.
//! Colours come from the stylesheet's CSS variables. Hovering shows the exact
//! values under the pointer; dragging across selects a time span to zoom into
//! (when the page offers zoom). Alert markers, when given, stand over the
//! canvases as elements of their own, where each alert started and ended;
//! so do thresholds, as horizontal lines at their value.

use std::ops::Range;

use leptos::html;
use leptos::prelude::*;
use vigie_api::Severity;
use vigie_charts::canvas::{Frame, draw_axes, draw_lines};
use vigie_charts::{MARGIN, Point, X_LABEL_AREA, time_at, x_at};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{ResizeObserver, ResizeObserverEntry};

use crate::{format, i18n};

pub use vigie_charts::canvas::Line;

#[derive(Debug)]
struct Text {
    alert_started: &'static str,
    alert_ended: &'static str,
}

const EN: Text = Text {
    alert_started: "Alert started",
    alert_ended: "Alert ended",
};

const FR: Text = Text {
    alert_started: "Début de l’alerte",
    alert_ended: "Fin de l’alerte",
};

/// A hovered value as the readout shows it: whole from 10 up (and at 0), to
/// a tenth below, in the current language's notation.
fn readout_value(v: f64) -> String {
    let places = if v.abs() >= 10.0 || v == 0.0 { 0 } else { 1 };
    format::fixed(v, places)
}

/// User-timing mark set the first time any chart draws real data: what the
/// "time to first live chart" benchmark reads.
const FIRST_CHART_MARK: &str = "vigie:first-chart";

fn mark_first_chart() {
    thread_local! { static MARKED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) }; }
    if !MARKED.replace(true)
        && let Some(perf) = web_sys::window().and_then(|w| w.performance())
    {
        let _ = perf.mark(FIRST_CHART_MARK);
    }
}

/// Which end of an alert's life a marker shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MarkerKind {
    Start,
    End,
}

impl MarkerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MarkerKind::Start => "start",
            MarkerKind::End => "end",
        }
    }
}

/// A moment to mark on a chart: where an alert started or ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub alert_id: i64,
    pub kind: MarkerKind,
    pub at_ms: i64,
    /// The alert's title, shown when the marker is hovered.
    pub title: String,
    pub severity: Severity,
}

/// Which side of a threshold is the one it warns about: how its line looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThresholdSide {
    /// Values above the line cross it (a maximum, a scale-up threshold).
    Above,
    /// Values below the line cross it (a minimum, a scale-down threshold).
    Below,
}

impl ThresholdSide {
    pub fn as_str(self) -> &'static str {
        match self {
            ThresholdSide::Above => "above",
            ThresholdSide::Below => "below",
        }
    }
}

/// A value to mark across the chart as a horizontal line.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// Said when the line is hovered, e.g. `scale up above 80 %`.
    pub label: String,
    pub value: f64,
    pub side: ThresholdSide,
}

/// Where `value` lies, in CSS pixels from the top edge of a chart `height`
/// CSS pixels high showing `y_range`: inside the plot area, between the top
/// margin and the time labels, as `vigie-charts` draws it; `None` outside
/// the range.
pub fn y_at(value: f64, height: f64, y_range: &Range<f64>) -> Option<f64> {
    let span = y_range.end - y_range.start;
    if !value.is_finite() || span <= 0.0 || value < y_range.start || value > y_range.end {
        return None;
    }
    let plot = (height - 2.0 * MARGIN - X_LABEL_AREA).max(1.0);
    Some(MARGIN + (y_range.end - value) / span * plot)
}

/// What the axes depend on: drawn again only when it changes.
#[derive(Debug, Clone, PartialEq)]
struct Shape {
    css_size: (f64, f64),
    window: Range<i64>,
    y_range: Range<f64>,
    gap_ms: i64,
    /// The theme drawn with: a change of theme draws again.
    dark: bool,
}

#[component]
pub fn TimeSeriesChart(
    /// Accessible description of what the chart shows.
    label: &'static str,
    #[prop(into)] lines: Signal<Vec<Line>>,
    /// Time window shown; nothing is drawn while it is `None`.
    #[prop(into)]
    window: Signal<Option<Range<i64>>>,
    #[prop(into)] y_range: Signal<Range<f64>>,
    y_unit: &'static str,
    /// Points further apart than this are not joined.
    #[prop(into)]
    gap_ms: Signal<i64>,
    /// Called with the span dragged across, Unix ms; without it, no zoom.
    #[prop(optional)]
    on_zoom: Option<Callback<(i64, i64)>>,
    /// Alert starts and ends to mark; those outside the window are not shown.
    #[prop(optional, into)]
    markers: Option<Signal<Vec<Marker>>>,
    /// Values to mark across the plot; those outside `y_range` are not shown.
    #[prop(optional, into)]
    thresholds: Option<Signal<Vec<Threshold>>>,
) -> impl IntoView {
    let t = i18n::pick(&EN, &FR);
    let no_data = i18n::common().no_data;
    let container = NodeRef::<html::Div>::new();
    let canvas = NodeRef::<html::Canvas>::new();
    let axes = NodeRef::<html::Canvas>::new();
    let size = RwSignal::new((0.0_f64, 0.0_f64));
    // Pointer position (CSS px from the left) while hovering, and where a drag began.
    let hover_x = RwSignal::new(None::<f64>);
    let drag_from = RwSignal::new(None::<f64>);
    let time_under = move |x: f64| window.get().map(|w| time_at(x, size.get_untracked().0, &w));

    // Watch the box's size: the outside world, hence an Effect.
    type Observer = (ResizeObserver, Closure<dyn FnMut(js_sys::Array)>);
    let observer = StoredValue::new_local(None::<Observer>);
    Effect::new(move |_| {
        let Some(el) = container.get() else { return };
        let on_resize = Closure::<dyn FnMut(js_sys::Array)>::new(move |entries: js_sys::Array| {
            if let Ok(entry) = entries.get(0).dyn_into::<ResizeObserverEntry>() {
                let rect = entry.content_rect();
                size.set((rect.width(), rect.height()));
            }
        });
        if let Ok(obs) = ResizeObserver::new(on_resize.as_ref().unchecked_ref()) {
            obs.observe(&el);
            observer.set_value(Some((obs, on_resize)));
        }
    });
    on_cleanup(move || {
        observer.update_value(|o| {
            if let Some((obs, _)) = o.take() {
                obs.disconnect();
            }
        });
    });

    // Two stacked canvases: the axes are drawn when the window, the value
    // range or the size changes; the lines when they change. Both read memos,
    // so that a refresh bringing the same values draws nothing.
    let shape = Memo::new(move |_| {
        let (w, h) = size.get();
        let window = window.get()?;
        (w >= 1.0 && h >= 1.0).then(|| Shape {
            css_size: (w, h),
            window,
            y_range: y_range.get(),
            gap_ms: gap_ms.get(),
            dark: crate::theme::is_dark(),
        })
    });
    let drawn_lines = Memo::new(move |_| lines.get());
    let frame = move |s: &Shape| Frame {
        css_size: s.css_size,
        window: s.window.clone(),
        y_range: s.y_range.clone(),
        y_unit,
        gap_ms: s.gap_ms,
        x_label: &format::clock,
        decimal_comma: i18n::current() == i18n::Lang::Fr,
    };
    Effect::new(move |_| {
        shape.with(|s| {
            let (Some(s), Some(canvas)) = (s, axes.get()) else {
                return;
            };
            if let Err(e) = draw_axes(&canvas, &frame(s)) {
                web_sys::console::warn_1(&format!("chart axes not drawn: {e}").into());
            }
        });
    });
    Effect::new(move |_| {
        shape.with(|s| {
            let (Some(s), Some(canvas)) = (s, canvas.get()) else {
                return;
            };
            drawn_lines.with(|lines| match draw_lines(&canvas, &frame(s), lines) {
                Ok(Some(ts)) => {
                    let _ = canvas.set_attribute("data-last-ts", &ts.to_string());
                    mark_first_chart();
                }
                Ok(None) => {}
                Err(e) => web_sys::console::warn_1(&format!("chart not drawn: {e}").into()),
            });
        });
    });

    let readout = move || {
        let t = time_under(hover_x.get()?)?;
        let values = lines.with(|lines| {
            lines
                .iter()
                .filter_map(|l| {
                    let v = nearest(&l.points, t, gap_ms.get())?;
                    Some(format!("{} {}{}", l.name, readout_value(v), y_unit))
                })
                .collect::<Vec<_>>()
                .join(" · ")
        });
        Some(format!(
            "{} · {}",
            format::clock(t),
            if values.is_empty() { no_data } else { &values }
        ))
    };
    let selection = move || {
        let (a, b) = (drag_from.get()?, hover_x.get()?);
        ((a - b).abs() > 2.0).then(|| (format!("{}px", a.min(b)), format!("{}px", (a - b).abs())))
    };
    // From the box's edge rather than the event target's: the pointer may be
    // over a marker.
    let offset_x = move |ev: &web_sys::MouseEvent| {
        let left = container
            .get_untracked()
            .map_or(0.0, |el| el.get_bounding_client_rect().left());
        f64::from(ev.client_x()) - left
    };
    // The markers inside the window, with their horizontal position.
    let placed = Memo::new(move |_| {
        let (Some(markers), Some(window)) = (markers, window.get()) else {
            return Vec::new();
        };
        let width = size.get().0;
        if width < 1.0 {
            return Vec::new();
        }
        markers.with(|all| {
            all.iter()
                .filter_map(|m| x_at(m.at_ms, width, &window).map(|x| (m.clone(), x)))
                .collect::<Vec<_>>()
        })
    });
    let marker = move |(m, _): (Marker, f64)| {
        let key = (m.alert_id, m.kind);
        let left = move || {
            placed.with(|p| {
                p.iter()
                    .find(|(o, _)| (o.alert_id, o.kind) == key)
                    .map(|(_, x)| format!("{x:.1}px"))
                    .unwrap_or_default()
            })
        };
        let what = match m.kind {
            MarkerKind::Start => t.alert_started,
            MarkerKind::End => t.alert_ended,
        };
        view! {
            <div
                class="chart-marker"
                data-testid="alert-marker"
                data-kind=m.kind.as_str()
                data-severity=m.severity.as_str()
                data-alert-id=m.alert_id
                title=format!("{what} {}: {}", format::clock(m.at_ms), m.title)
                // Through the CSSOM (`style:`), which the CSP allows; a
                // `style` attribute would need 'unsafe-inline'.
                style:left=left
            ></div>
        }
    };

    // The thresholds inside the value range, with their vertical position.
    let levels = Memo::new(move |_| {
        let Some(thresholds) = thresholds else {
            return Vec::new();
        };
        let height = size.get().1;
        if height < 1.0 {
            return Vec::new();
        }
        let range = y_range.get();
        thresholds.with(|all| {
            all.iter()
                .filter_map(|t| y_at(t.value, height, &range).map(|y| (t.clone(), y)))
                .collect::<Vec<_>>()
        })
    });
    // A few lines, drawn again when they move (not keyed: the markers'
    // keyed list is the one worth its code).
    let level = |(t, y): (Threshold, f64)| {
        view! {
            <div
                class="chart-threshold"
                data-testid="threshold-line"
                data-side=t.side.as_str()
                data-value=t.value.to_string()
                title=t.label
                style:top=format!("{y:.1}px")
            ></div>
        }
    };

    view! {
        <div
            class="chart"
            class:zoomable=on_zoom.is_some()
            node_ref=container
            on:pointermove=move |ev| hover_x.set(Some(offset_x(&ev)))
            on:pointerleave=move |_| {
                hover_x.set(None);
                drag_from.set(None);
            }
            on:pointerdown=move |ev| {
                if on_zoom.is_some() {
                    drag_from.set(Some(offset_x(&ev)));
                }
            }
            on:pointerup=move |ev| {
                let (Some(from), Some(zoom)) = (drag_from.get_untracked(), on_zoom) else {
                    return;
                };
                drag_from.set(None);
                let to = offset_x(&ev);
                if (from - to).abs() < 5.0 {
                    return;
                }
                if let (Some(a), Some(b)) = (time_under(from.min(to)), time_under(from.max(to)))
                    && b > a
                {
                    zoom.run((a, b));
                }
            }
        >
            <canvas class="chart-axes" node_ref=axes aria-hidden="true"></canvas>
            <canvas class="chart-lines" node_ref=canvas role="img" aria-label=label></canvas>
            <For each=move || placed.get() key=|(m, _)| (m.alert_id, m.kind) children=marker />
            {move || levels.get().into_iter().map(level).collect_view()}
            {move || selection().map(|(left, width)| view! { <div class="chart-selection" style:left=left style:width=width></div> })}
            {move || readout().map(|text| view! { <div class="chart-readout" data-testid="chart-readout">{text}</div> })}
        </div>
    }
}

/// The value of the point nearest to `t`, if one lies within `gap_ms` of it.
fn nearest(points: &[Point], t: i64, gap_ms: i64) -> Option<f64> {
    let i = points.partition_point(|p| p.0 < t);
    [i.checked_sub(1), Some(i)]
        .into_iter()
        .flatten()
        .filter_map(|i| points.get(i))
        .min_by_key(|p| (p.0 - t).abs())
        .filter(|p| (p.0 - t).abs() <= gap_ms)
        .map(|p| p.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_stand_at_their_value_inside_the_plot_area() {
        // 140 px high: the plot runs from the top margin (8) to above the
        // time labels (140 − 8 − 22 = 110).
        let range = 0.0..100.0;
        assert_eq!(y_at(100.0, 140.0, &range), Some(MARGIN));
        assert_eq!(
            y_at(0.0, 140.0, &range),
            Some(140.0 - MARGIN - X_LABEL_AREA)
        );
        assert_eq!(y_at(80.0, 140.0, &range), Some(8.0 + 0.2 * 102.0));
        assert_eq!(y_at(120.0, 140.0, &range), None);
        assert_eq!(y_at(f64::NAN, 140.0, &range), None);
        assert_eq!(y_at(1.0, 140.0, &(5.0..5.0)), None);
    }

    #[test]
    fn readout_values_follow_the_language() {
        for v in [0.0, 4.94, 12.6, -3.25, 1234.0] {
            assert_eq!(readout_value(v), vigie_charts::format_value(v));
        }
        i18n::set_current(i18n::Lang::Fr);
        assert_eq!(readout_value(4.94), "4,9");
        assert_eq!(readout_value(1234.0), "1\u{202f}234");
        i18n::set_current(i18n::Lang::En);
    }
}
