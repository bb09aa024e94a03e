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
    let ts = 1_700_000_000_000_i64;
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ts as f64));
    let expected = format!(
        "{:02}:{:02}:{:02}",
        d.get_hours(),
        d.get_minutes(),
        d.get_seconds()
    );
    assert_eq!(vigie::format::clock(ts), expected);
}
