//! DOM tests of the dashboard's pieces, run by `wasm-bindgen-test` in headless
//! Chromium (`cargo xtask test`).
#![cfg(target_arch = "wasm32")]

use std::time::Duration;

use leptos::prelude::*;
use vigie::components::chart::{Line, TimeSeriesChart};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{HtmlCanvasElement, HtmlElement};

wasm_bindgen_test_configure!(run_in_browser);

fn document() -> web_sys::Document {
    web_sys::window()
        .and_then(|w| w.document())
        .expect("a document")
}

/// A fixed-size box in the page to mount a component into.
fn host(width_px: u32) -> HtmlElement {
    let el: HtmlElement = document()
        .create_element("div")
        .expect("div")
        .unchecked_into();
    el.set_attribute("style", &format!("width: {width_px}px"))
        .expect("style");
    document()
        .body()
        .expect("body")
        .append_child(&el)
        .expect("append");
    el
}

async fn until(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..100 {
        if check() {
            return;
        }
        vigie::api::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

fn canvas_in(el: &HtmlElement) -> HtmlCanvasElement {
    el.query_selector("canvas[role=img]")
        .expect("query")
        .expect("a canvas")
        .unchecked_into()
}

#[wasm_bindgen_test]
async fn chart_draws_at_device_pixel_size_and_redraws_on_resize() {
    let el = host(600);
    let points: Vec<(i64, f64)> = (0..=300).map(|i| (i * 1000, (i % 50) as f64)).collect();
    let lines = RwSignal::new(vec![Line {
        name: "CPU",
        color_var: "--series-1",
        points,
    }]);
    let _handle = leptos::mount::mount_to(el.clone(), move || {
        view! {
            <TimeSeriesChart
                label="test chart"
                lines=lines
                window=Signal::derive(|| Some(0..300_000))
                y_range=0.0..100.0
                y_unit=" %"
                gap_ms=2500
            />
        }
    });
    let canvas = canvas_in(&el);
    until("the first draw", || {
        canvas.get_attribute("data-last-ts").is_some()
    })
    .await;
    assert_eq!(
        canvas.get_attribute("data-last-ts").as_deref(),
        Some("300000")
    );
    assert_eq!(canvas.get_attribute("role").as_deref(), Some("img"));

    let dpr = web_sys::window()
        .expect("window")
        .device_pixel_ratio()
        .max(1.0);
    let css = canvas.get_bounding_client_rect();
    assert_eq!(canvas.width(), (css.width() * dpr).round() as u32);
    assert_eq!(canvas.height(), (css.height() * dpr).round() as u32);

    // Something was drawn: the plot area is not a single colour.
    let ctx: web_sys::CanvasRenderingContext2d = canvas
        .get_context("2d")
        .expect("ctx")
        .expect("2d")
        .unchecked_into();
    let data = ctx
        .get_image_data(
            0.0,
            0.0,
            f64::from(canvas.width()),
            f64::from(canvas.height()),
        )
        .expect("pixels")
        .data();
    let first = &data[0..4];
    assert!(
        data.chunks(4).any(|px| px != first),
        "the canvas holds a drawing"
    );

    // New data is drawn.
    lines.update(|l| l[0].points.push((301_000, 10.0)));
    until("the redraw with new data", || {
        canvas.get_attribute("data-last-ts").as_deref() == Some("301000")
    })
    .await;

    // A narrower box gives a narrower canvas.
    let before = canvas.width();
    el.set_attribute("style", "width: 300px").expect("style");
    until("the resize", || canvas.width() < before).await;
    let css = canvas.get_bounding_client_rect();
    assert_eq!(canvas.width(), (css.width() * dpr).round() as u32);
    el.remove();
}

#[wasm_bindgen_test]
fn clock_uses_the_browsers_time_zone() {
    // Worked out by hand: 1_700_000_000 s = 19_675 days of 86_400 s
    // (1_699_920_000 s, 2023-11-14 00:00 UTC) + 80_000 s, and 80_000 s is
    // 22 h 13 min 20 s; one day later, + 123 s is 00:02:03 UTC (two digits
    // each, even when small).
    for (ts_ms, utc_time_of_day_s) in [
        (1_700_000_000_000_i64, 22 * 3600 + 13 * 60 + 20),
        (1_700_006_523_000, 2 * 60 + 3),
    ] {
        // Minutes from local time to UTC at that instant, in the browser's
        // time zone (0 when it is UTC, -60 in Paris in winter).
        let offset_min =
            js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ts_ms as f64)).get_timezone_offset();
        let local = (utc_time_of_day_s - offset_min as i64 * 60).rem_euclid(86_400);
        let expected = format!(
            "{:02}:{:02}:{:02}",
            local / 3600,
            local % 3600 / 60,
            local % 60
        );
        assert_eq!(
            vigie::format::clock(ts_ms),
            expected,
            "offset {offset_min} min"
        );
    }
}

#[wasm_bindgen_test]
async fn a_refused_change_asks_for_a_token_and_keeps_it_for_the_tab() {
    use vigie::api::{ApiClient, ClientError};
    use vigie::components::change_error::ChangeError;
    use vigie_api::ErrorBody;

    let storage = web_sys::window()
        .expect("window")
        .session_storage()
        .expect("ok")
        .expect("storage");
    let _ = storage.remove_item("vigie.operator_token");
    let el = host(400);
    let error = RwSignal::new(Some(ClientError::Api {
        status: 401,
        body: ErrorBody {
            error: "needs a token".into(),
            field: Some("Authorization".into()),
            required_role: None,
        },
    }));
    let _handle = leptos::mount::mount_to(el.clone(), move || {
        provide_context(ApiClient::new("http://127.0.0.1:9"));
        view! { <ChangeError error=error /> }
    });
    let input: web_sys::HtmlInputElement = el
        .query_selector("input[type=password]")
        .expect("query")
        .expect("a password field")
        .unchecked_into();
    input.set_value("operator-token-0123456789");
    input
        .dispatch_event(&web_sys::Event::new("input").expect("event"))
        .expect("dispatch");
    let button: HtmlElement = el
        .query_selector("button")
        .expect("query")
        .expect("button")
        .unchecked_into();
    button.click();
    until("the token is kept", || {
        storage
            .get_item("vigie.operator_token")
            .ok()
            .flatten()
            .as_deref()
            == Some("operator-token-0123456789")
    })
    .await;

    // Any other failure is shown as it is.
    error.set(Some(ClientError::Network("gone".into())));
    until("the plain message", || {
        el.text_content()
            .unwrap_or_default()
            .contains("cannot reach the server")
    })
    .await;
    assert!(
        el.query_selector("input[type=password]")
            .expect("query")
            .is_none()
    );
    let _ = storage.remove_item("vigie.operator_token");
    el.remove();
}

#[wasm_bindgen_test]
async fn alert_markers_stand_where_their_time_is_drawn() {
    use vigie::components::chart::{Marker, MarkerKind};
    use vigie_api::Severity;

    let el = host(600);
    let marker = |kind, at_ms| Marker {
        alert_id: 7,
        kind,
        at_ms,
        title: "Memory above 85 %".into(),
        severity: Severity::High,
    };
    let markers = RwSignal::new(vec![
        marker(MarkerKind::Start, 150_000),
        marker(MarkerKind::End, 400_000),
    ]);
    let _handle = leptos::mount::mount_to(el.clone(), move || {
        view! {
            <TimeSeriesChart
                label="test chart"
                lines=Vec::new()
                window=Signal::derive(|| Some(0..300_000))
                y_range=0.0..100.0
                y_unit=" %"
                gap_ms=2500
                markers=markers
            />
        }
    });
    let shown = || el.get_elements_by_class_name("chart-marker").length();
    until("the marker inside the window", || shown() == 1).await;
    let start: HtmlElement = el
        .query_selector("[data-testid=alert-marker]")
        .expect("query")
        .expect("a marker")
        .unchecked_into();
    assert_eq!(start.get_attribute("data-kind").as_deref(), Some("start"));
    assert!(
        start
            .get_attribute("title")
            .is_some_and(|t| t.contains("Memory above 85 %"))
    );
    let width = el
        .query_selector(".chart")
        .expect("query")
        .expect("the chart")
        .get_bounding_client_rect()
        .width();
    assert_eq!(width, 600.0, "the chart fills its 600 px box");
    // The plot runs from 8 px of margin and 48 px of value labels to 8 px
    // before the right edge: 56 px to 592 px, 536 px for 300 s. 150 s is
    // half way: 56 + 268 = 324 px.
    let left = |m: &HtmlElement| m.style().get_property_value("left").expect("left");
    assert_eq!(left(&start), "324px");

    // Moved into the window, the end shows too; the start keeps its element.
    markers.update(|m| m[1].at_ms = 250_000);
    until("both markers", || shown() == 2).await;
    assert!(start.is_connected());
    // 250 s of 300: 56 + 536 × 5/6 = 502.67 px, written to a tenth.
    let end: HtmlElement = el
        .query_selector("[data-testid=alert-marker][data-kind=end]")
        .expect("query")
        .expect("the end marker")
        .unchecked_into();
    assert_eq!(left(&end), "502.7px");
    el.remove();
}

#[wasm_bindgen_test]
async fn thresholds_stand_across_the_plot_at_their_value() {
    use vigie::components::chart::{Threshold, ThresholdSide};

    let el = host(600);
    // The stylesheet's chart box, which these tests do not load: 280 px high.
    el.set_class_name("threshold-test");
    let style = document().create_element("style").expect("style");
    style.set_text_content(Some(
        ".threshold-test .chart { position: relative; height: 280px; }\n\
         .threshold-test .chart canvas { position: absolute; inset: 0; width: 100%; height: 100%; }",
    ));
    document()
        .head()
        .expect("head")
        .append_child(&style)
        .expect("append");
    let thresholds = RwSignal::new(vec![
        Threshold {
            label: "scale up above 80 %".into(),
            value: 80.0,
            side: ThresholdSide::Above,
        },
        Threshold {
            label: "scale down below 20 %".into(),
            value: 20.0,
            side: ThresholdSide::Below,
        },
    ]);
    let _handle = leptos::mount::mount_to(el.clone(), move || {
        view! {
            <TimeSeriesChart
                label="test chart"
                lines=Vec::new()
                window=Signal::derive(|| Some(0..300_000))
                y_range=0.0..100.0
                y_unit=" %"
                gap_ms=2500
                thresholds=thresholds
            />
        }
    });
    let shown = || el.get_elements_by_class_name("chart-threshold").length();
    until("both thresholds", || shown() == 2).await;
    let line = |side: &str| -> HtmlElement {
        el.query_selector(&format!("[data-testid=threshold-line][data-side={side}]"))
            .expect("query")
            .expect("a threshold line")
            .unchecked_into()
    };
    let top = |l: &HtmlElement| l.style().get_property_value("top").expect("top");
    // 280 px high: the plot runs from 8 px of margin at the top to 8 px of
    // margin and 22 px of time labels at the bottom, 242 px for 100 %. 80 %
    // is a fifth down: 8 + 48.4 = 56.4 px; 20 %: 8 + 193.6 = 201.6 px.
    assert_eq!(top(&line("above")), "56.4px");
    assert_eq!(top(&line("below")), "201.6px");
    assert_eq!(
        line("above").get_attribute("title").as_deref(),
        Some("scale up above 80 %")
    );

    // Outside the value range, a threshold is not drawn.
    thresholds.update(|t| t[0].value = 150.0);
    until("one threshold", || shown() == 1).await;
    el.remove();
    style.remove();
}

#[wasm_bindgen_test]
async fn resolving_warns_while_the_condition_holds_and_needs_a_note() {
    use vigie::api::ApiClient;
    use vigie::components::alert_dialog::{AlertAction, AlertDialog};
    use vigie_api::{Alert, AlertMetric, AlertState, Comparison, Severity};

    let alert = Alert {
        id: 3,
        alert_type: "resource".into(),
        severity: Severity::Critical,
        title: "Disk above 90 %".into(),
        description: String::new(),
        metric_type: AlertMetric::DiskUsage,
        threshold_value: 90.0,
        current_value: Some(93.04),
        is_resolved: false,
        rule_id: 3,
        state: AlertState::Firing,
        comparison: Comparison::Above,
        condition_holds: true,
        for_seconds: 60,
        started_at: 0,
        fired_at: Some(60_000),
        acknowledged_by: None,
        acknowledged_at: None,
        resolved_by: None,
        resolved_at: None,
        note: None,
        history: Vec::new(),
    };
    let el = host(600);
    let _handle = leptos::mount::mount_to(el.clone(), move || {
        provide_context(ApiClient::new("http://127.0.0.1:9"));
        let alert = alert.clone();
        view! {
            <AlertDialog
                alert=Signal::derive(move || Some(alert.clone()))
                action=AlertAction::Resolve
                on_close=Callback::new(|_| ())
                on_done=Callback::new(|_| ())
            />
        }
    });
    let dialog: web_sys::HtmlDialogElement = el
        .query_selector("dialog")
        .expect("query")
        .expect("a dialog")
        .unchecked_into();
    until("the dialog opens as a modal", || dialog.open()).await;
    let warning = el
        .query_selector("[data-testid=still-holds]")
        .expect("query")
        .expect("a warning")
        .text_content()
        .unwrap_or_default();
    assert_eq!(
        warning,
        "The condition still holds (value 93.0 % vs threshold > 90 %): resolving it now means a new alert will fire after 1 min."
    );
    let confirm: web_sys::HtmlButtonElement = el
        .query_selector("button[type=submit]")
        .expect("query")
        .expect("the confirm button")
        .unchecked_into();
    assert!(confirm.disabled(), "no note yet");
    let note: web_sys::HtmlTextAreaElement = el
        .query_selector("textarea")
        .expect("query")
        .expect("the note")
        .unchecked_into();
    note.set_value("Old logs removed");
    note.dispatch_event(&web_sys::Event::new("input").expect("event"))
        .expect("dispatch");
    until("the confirm button is enabled", || !confirm.disabled()).await;
    dialog.close();
    el.remove();
}
