//! Drawing on a browser `<canvas>` (feature `canvas`): the dashboard's charts
//! and the chart benchmark call these same functions, so what is measured is
//! what users get.
//!
//! A chart is two stacked canvases: the axes (background, grid, labels) are
//! drawn when the window, the value range or the size changes; the lines on
//! every new point. Each canvas is sized in device pixels (CSS size ×
//! `devicePixelRatio`) and everything drawn is scaled with it, so it stays
//! sharp on HiDPI screens. Colours come from the stylesheet's CSS variables.

use std::ops::Range;

use plotters::prelude::IntoDrawingArea;
use plotters::style::RGBColor;
use plotters_canvas::CanvasBackend;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, CssStyleDeclaration, HtmlCanvasElement};

use crate::{Point, Series, Theme, TimeChart, parse_hex_color};

/// One line: its name, the CSS variable holding its colour, its points.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub name: &'static str,
    pub color_var: &'static str,
    pub points: Vec<Point>,
}

/// Colour of a line whose CSS variable is missing or unreadable.
const FALLBACK_LINE: RGBColor = RGBColor(0x38, 0xbd, 0xf8);

/// What one surface of the chart needs to be drawn.
pub struct Frame<'a> {
    /// Size of the canvas's box in CSS pixels.
    pub css_size: (f64, f64),
    pub window: Range<i64>,
    pub y_range: Range<f64>,
    pub y_unit: &'a str,
    pub gap_ms: i64,
    /// Formats a time label.
    pub x_label: &'a dyn Fn(i64) -> String,
    /// Value labels with a decimal comma (French).
    pub decimal_comma: bool,
}

impl std::fmt::Debug for Frame<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frame")
            .field("css_size", &self.css_size)
            .field("window", &self.window)
            .field("y_range", &self.y_range)
            .finish_non_exhaustive()
    }
}

fn css_color(style: &CssStyleDeclaration, var: &str) -> Option<RGBColor> {
    style
        .get_property_value(var)
        .ok()
        .as_deref()
        .and_then(parse_hex_color)
}

fn theme_of(style: &CssStyleDeclaration) -> Theme {
    let d = Theme::DARK;
    Theme {
        background: css_color(style, "--chart-bg").unwrap_or(d.background),
        text: css_color(style, "--chart-text").unwrap_or(d.text),
        grid: css_color(style, "--chart-grid").unwrap_or(d.grid),
        axis: css_color(style, "--chart-axis").unwrap_or(d.axis),
    }
}

/// Sizes `canvas` to the box in device pixels and returns the pixel ratio
/// and the computed style (for the theme's colours).
fn prepare(
    canvas: &HtmlCanvasElement,
    css_size: (f64, f64),
) -> Result<(f64, CssStyleDeclaration), String> {
    let window = web_sys::window().ok_or("no window")?;
    let dpr = window.device_pixel_ratio().max(1.0);
    let (w, h) = (
        (css_size.0 * dpr).round() as u32,
        (css_size.1 * dpr).round() as u32,
    );
    if canvas.width() != w {
        canvas.set_width(w);
    }
    if canvas.height() != h {
        canvas.set_height(h);
    }
    let style = window
        .get_computed_style(canvas)
        .ok()
        .flatten()
        .ok_or("no computed style")?;
    Ok((dpr, style))
}

fn with_chart<T>(
    canvas: &HtmlCanvasElement,
    frame: &Frame<'_>,
    f: impl FnOnce(&TimeChart<'_>, &CssStyleDeclaration, CanvasBackend) -> Result<T, String>,
) -> Result<T, String> {
    let (dpr, style) = prepare(canvas, frame.css_size)?;
    let chart = TimeChart {
        x_range: frame.window.clone(),
        y_range: frame.y_range.clone(),
        y_unit: frame.y_unit,
        scale: dpr,
        theme: theme_of(&style),
        gap_ms: frame.gap_ms,
        x_label: frame.x_label,
        decimal_comma: frame.decimal_comma,
    };
    let backend = CanvasBackend::with_canvas_object(canvas.clone()).ok_or("no 2d context")?;
    f(&chart, &style, backend)
}

/// Background, grid and labels on the lower canvas.
pub fn draw_axes(canvas: &HtmlCanvasElement, frame: &Frame<'_>) -> Result<(), String> {
    with_chart(canvas, frame, |chart, _, backend| {
        chart
            .draw_axes(&backend.into_drawing_area())
            .map_err(|e| e.to_string())
    })
}

/// `lines` on the upper, transparent canvas; returns the newest time drawn.
pub fn draw_lines(
    canvas: &HtmlCanvasElement,
    frame: &Frame<'_>,
    lines: &[Line],
) -> Result<Option<i64>, String> {
    with_chart(canvas, frame, |chart, style, backend| {
        let ctx: CanvasRenderingContext2d = canvas
            .get_context("2d")
            .ok()
            .flatten()
            .and_then(|c| c.dyn_into().ok())
            .ok_or("no 2d context")?;
        ctx.clear_rect(
            0.0,
            0.0,
            f64::from(canvas.width()),
            f64::from(canvas.height()),
        );
        let colors: Vec<RGBColor> = lines
            .iter()
            .map(|l| css_color(style, l.color_var).unwrap_or(FALLBACK_LINE))
            .collect();
        let series: Vec<Series<'_>> = lines
            .iter()
            .zip(&colors)
            .map(|(l, c)| Series {
                name: l.name,
                color: *c,
                points: &l.points,
            })
            .collect();
        chart
            .draw_lines(&backend.into_drawing_area(), &series)
            .map_err(|e| e.to_string())?;
        Ok(lines
            .iter()
            .filter_map(|l| l.points.last().map(|p| p.0))
            .max())
    })
}
