//! Vigie's chart, exactly as the dashboard draws it (`vigie_charts::canvas`),
//! exported to JavaScript so that the benchmark page can time it beside uPlot
//! on the same data in the same browser. Built by `cargo xtask bench`.

use std::cell::RefCell;

use vigie_charts::Point;
use vigie_charts::canvas::{Frame, Line, draw_axes, draw_lines};
use wasm_bindgen::prelude::*;
use web_sys::HtmlCanvasElement;

/// Colour variables of the lines, in series order (the page defines them).
const COLORS: [&str; 4] = ["--series-0", "--series-1", "--series-2", "--series-3"];

thread_local! {
    static LINES: RefCell<Vec<Line>> = const { RefCell::new(Vec::new()) };
}

/// Numbers copied out of JavaScript at a time: the data is read in slices
/// of this many straight into the series, not copied whole into wasm memory
/// first (twice 8 MB at a million points, and as much memory grown).
const SLICE: u32 = 16_384;

/// Keeps `series` series of `ts.length` points: `values` is series-major.
#[wasm_bindgen]
pub fn set_data(
    ts: &js_sys::Float64Array,
    values: &js_sys::Float64Array,
    series: usize,
) -> Result<(), JsError> {
    let n = ts.length();
    if series == 0 || values.length() as usize != n as usize * series {
        return Err(JsError::new(
            "values must hold `series` × ts.length numbers",
        ));
    }
    let (mut t_buf, mut v_buf) = (vec![0.0; SLICE as usize], vec![0.0; SLICE as usize]);
    let lines = (0..series)
        .map(|i| {
            let mut points = Vec::with_capacity(n as usize);
            let offset = i as u32 * n;
            for from in (0..n).step_by(SLICE as usize) {
                let to = (from + SLICE).min(n);
                let len = (to - from) as usize;
                ts.subarray(from, to).copy_to(&mut t_buf[..len]);
                values
                    .subarray(offset + from, offset + to)
                    .copy_to(&mut v_buf[..len]);
                points.extend(
                    t_buf[..len]
                        .iter()
                        .zip(&v_buf[..len])
                        .map(|(&t, &v)| (t as i64, v)),
                );
            }
            Line {
                name: "series",
                color_var: COLORS[i % COLORS.len()],
                points,
            }
        })
        .collect();
    LINES.with_borrow_mut(|l| *l = lines);
    Ok(())
}

/// `HH:MM:SS` in UTC.
fn clock(ts_ms: i64) -> String {
    let s = ts_ms.div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

fn bounds(lines: &[Line]) -> Option<(std::ops::Range<i64>, std::ops::Range<f64>)> {
    // Times are in order within a series: its ends are its first and last.
    let (t0, t1) = lines
        .iter()
        .filter_map(|l| Some((l.points.first()?.0, l.points.last()?.0)))
        .fold((i64::MAX, i64::MIN), |(a, b), (first, last)| {
            (a.min(first), b.max(last))
        });
    let (y0, y1) = lines
        .iter()
        .flat_map(|l| l.points.iter())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p: &Point| {
            (a.min(p.1), b.max(p.1))
        });
    (t1 > t0 && y1 >= y0).then(|| (t0..t1, y0.min(0.0)..(y1 * 1.1).max(1.0)))
}

fn with_frame(
    css_width: f64,
    css_height: f64,
    f: impl FnOnce(&Frame<'_>, &[Line]) -> Result<(), String>,
) -> Result<(), JsError> {
    LINES.with_borrow(|data| {
        let (window, y_range) = bounds(data).ok_or_else(|| JsError::new("no data"))?;
        let frame = Frame {
            css_size: (css_width, css_height),
            window,
            y_range,
            y_unit: " ms",
            gap_ms: 5_000,
            x_label: &clock,
            decimal_comma: false,
        };
        f(&frame, data).map_err(|e| JsError::new(&e))
    })
}

/// Draws the axes on `axes` and the series on `lines`, both `css_width` ×
/// `css_height` CSS pixels, as the dashboard does on a range change.
#[wasm_bindgen]
pub fn draw(
    axes: &HtmlCanvasElement,
    lines: &HtmlCanvasElement,
    css_width: f64,
    css_height: f64,
) -> Result<(), JsError> {
    with_frame(css_width, css_height, |frame, data| {
        draw_axes(axes, frame)?;
        draw_lines(lines, frame, data).map(|_| ())
    })
}

/// The axes alone: what a range or size change costs.
#[wasm_bindgen]
pub fn draw_axes_only(
    axes: &HtmlCanvasElement,
    css_width: f64,
    css_height: f64,
) -> Result<(), JsError> {
    with_frame(css_width, css_height, |frame, _| draw_axes(axes, frame))
}

/// The series alone: what a live update costs.
#[wasm_bindgen]
pub fn draw_lines_only(
    lines: &HtmlCanvasElement,
    css_width: f64,
    css_height: f64,
) -> Result<(), JsError> {
    with_frame(css_width, css_height, |frame, data| {
        draw_lines(lines, frame, data).map(|_| ())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_is_utc_hours_minutes_seconds() {
        assert_eq!(clock(3_723_000), "01:02:03");
        assert_eq!(clock(86_400_000 + 59_000), "00:00:59");
    }

    #[test]
    fn bounds_span_every_series_and_start_at_zero() {
        let line = |points: Vec<Point>| Line {
            name: "s",
            color_var: COLORS[0],
            points,
        };
        let (x, y) = bounds(&[line(vec![(1000, 5.0), (2000, 7.0)]), line(vec![(500, 2.0)])])
            .expect("bounds");
        assert_eq!(x, 500..2000);
        assert_eq!(y.start, 0.0);
        assert!((y.end - 7.7).abs() < 1e-9);
        assert!(bounds(&[]).is_none());
    }
}
