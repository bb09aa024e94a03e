//! Vigie's charts, drawn once for every target: the dashboard draws them on a
//! `<canvas>` through plotters-canvas, the server renders the same charts to SVG
//! for reports, and the tests here check them through plotters' SVG backend.
//!
//! This crate knows nothing of Leptos or the DOM: it takes points, ranges and a
//! theme, and draws on any [`DrawingBackend`]. It also owns the reduction of a
//! series to what the pixels can show ([`decimate`]), because that decides both
//! what a chart looks like and how long it takes to draw.

#[cfg(feature = "canvas")]
pub mod canvas;

use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::types::{RangedCoordf64, RangedCoordi64};
use plotters::prelude::*;

/// Width of a series' line, CSS pixels.
pub const LINE_WIDTH: f64 = 1.0;

/// One point of a time series: Unix time in milliseconds, value.
pub type Point = (i64, f64);

/// Colours of a chart. The dashboard reads them from CSS variables so that the
/// stylesheet stays the one place that defines the theme.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Theme {
    pub background: RGBColor,
    pub text: RGBColor,
    pub grid: RGBColor,
    pub axis: RGBColor,
}

impl Theme {
    pub const DARK: Theme = Theme {
        background: RGBColor(0x11, 0x18, 0x27),
        text: RGBColor(0xcb, 0xd5, 0xe1),
        grid: RGBColor(0x1f, 0x29, 0x37),
        axis: RGBColor(0x47, 0x55, 0x69),
    };
    pub const LIGHT: Theme = Theme {
        background: RGBColor(0xff, 0xff, 0xff),
        text: RGBColor(0x33, 0x41, 0x55),
        grid: RGBColor(0xe5, 0xe7, 0xeb),
        axis: RGBColor(0x94, 0xa3, 0xb8),
    };
}

/// One line on a chart.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    pub name: &'a str,
    pub color: RGBColor,
    /// Points in increasing time order.
    pub points: &'a [Point],
}

/// Everything a time chart needs besides its series.
pub struct TimeChart<'a> {
    /// Time window shown, Unix milliseconds.
    pub x_range: Range<i64>,
    pub y_range: Range<f64>,
    /// Appended to each value label, e.g. `" %"`.
    pub y_unit: &'a str,
    /// Device pixels per CSS pixel: fonts, margins and line widths are multiplied
    /// by it so that a chart drawn at `devicePixelRatio` size stays crisp.
    pub scale: f64,
    pub theme: Theme,
    /// Two consecutive points further apart than this are not joined: a missed
    /// measurement shows as a gap, never as a line through it.
    pub gap_ms: i64,
    /// Formats a time label (the app uses the browser's local time, the server UTC).
    pub x_label: &'a dyn Fn(i64) -> String,
    /// Value labels with a decimal comma (`2,5`), as French writes them.
    pub decimal_comma: bool,
}

impl std::fmt::Debug for TimeChart<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimeChart")
            .field("x_range", &self.x_range)
            .field("y_range", &self.y_range)
            .field("scale", &self.scale)
            .finish_non_exhaustive()
    }
}

/// A drawing failed in the backend (canvas context lost, SVG writer error...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartError(pub String);

impl std::fmt::Display for ChartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "chart drawing failed: {}", self.0)
    }
}

impl std::error::Error for ChartError {}

fn draw_err(e: impl std::fmt::Display) -> ChartError {
    ChartError(e.to_string())
}

/// Space around the plot, in CSS pixels (multiplied by `scale` when drawn).
pub const MARGIN: f64 = 8.0;
/// Height of the time labels under the plot, CSS pixels.
pub const X_LABEL_AREA: f64 = 22.0;
/// Width of the value labels left of the plot, CSS pixels.
pub const Y_LABEL_AREA: f64 = 48.0;

/// The time under horizontal position `x` (CSS pixels from the chart's left
/// edge) of a chart `width` CSS pixels wide showing `range`; clamped to it.
/// This is the inverse of where [`TimeChart::draw`] puts a time.
pub fn time_at(x: f64, width: f64, range: &Range<i64>) -> i64 {
    let (left, plot) = plot_span(width);
    let f = ((x - left) / plot).clamp(0.0, 1.0);
    range.start + ((range.end - range.start) as f64 * f).round() as i64
}

/// Where time `t` lies, in CSS pixels from the left edge of a chart `width`
/// CSS pixels wide showing `range`; `None` outside it. The inverse of [`time_at`].
pub fn x_at(t: i64, width: f64, range: &Range<i64>) -> Option<f64> {
    if t < range.start || t > range.end {
        return None;
    }
    let (left, plot) = plot_span(width);
    let span = (range.end - range.start).max(1) as f64;
    Some(left + (t - range.start) as f64 / span * plot)
}

/// Left edge and width of the plotting area, CSS pixels: after the value
/// labels, before the right margin.
fn plot_span(width: f64) -> (f64, f64) {
    let left = MARGIN + Y_LABEL_AREA;
    (left, (width - left - MARGIN).max(1.0))
}

impl TimeChart<'_> {
    /// Draws axes, grid and every series on `root`, replacing what was there:
    /// [`TimeChart::draw_axes`] then [`TimeChart::draw_lines`] on one surface.
    pub fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        series: &[Series<'_>],
    ) -> Result<(), ChartError> {
        self.draw_axes(root)?;
        self.draw_lines(root, series)
    }

    fn px(&self, css: f64) -> u32 {
        (css * self.scale.max(0.5)).round() as u32
    }

    /// The coordinate system: the same plot area for the axes and the lines,
    /// so two stacked surfaces line up to the pixel.
    fn context<'a, DB: DrawingBackend>(
        &self,
        root: &'a DrawingArea<DB, Shift>,
    ) -> Result<ChartContext<'a, DB, Cartesian2d<RangedCoordi64, RangedCoordf64>>, ChartError> {
        ChartBuilder::on(root)
            .margin(self.px(MARGIN))
            .x_label_area_size(self.px(X_LABEL_AREA))
            .y_label_area_size(self.px(Y_LABEL_AREA))
            .build_cartesian_2d(self.x_range.clone(), self.y_range.clone())
            .map_err(draw_err)
    }

    /// Background, grid, axes and labels: what changes only with the ranges,
    /// the size or the theme. Measuring label text is the costly part of a
    /// draw, so a live chart draws this once per range, not once per tick.
    pub fn draw_axes<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), ChartError> {
        root.fill(&self.theme.background).map_err(draw_err)?;
        let label_font = ("sans-serif", 11.0 * self.scale.max(0.5))
            .into_font()
            .color(&self.theme.text);
        let mut chart = self.context(root)?;
        let x_label = |x: &i64| (self.x_label)(*x);
        let y_label = |y: &f64| {
            let value = format_value(*y);
            let value = if self.decimal_comma {
                value.replace('.', ",")
            } else {
                value
            };
            format!("{value}{}", self.y_unit)
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .bold_line_style(self.theme.grid)
            .light_line_style(self.theme.background)
            .axis_style(self.theme.axis)
            .label_style(label_font)
            .x_labels(6)
            .y_labels(5)
            .x_label_formatter(&x_label)
            .y_label_formatter(&y_label)
            .draw()
            .map_err(draw_err)?;
        root.present().map_err(draw_err)
    }

    /// The series alone, over what is already on `root` (the caller clears a
    /// lines-only surface first).
    ///
    /// Each series is first reduced to at most four points per pixel column
    /// (see [`decimate`]), so the cost follows the chart's width, not the data's length.
    pub fn draw_lines<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        series: &[Series<'_>],
    ) -> Result<(), ChartError> {
        let mut chart = self.context(root)?;
        let (width, _) = chart.plotting_area().dim_in_pixel();
        // One CSS pixel, as uPlot and Grafana draw by default: on a 1x screen
        // the canvas strokes a hairline, many times faster than a 2 px line
        // over the dense zig-zags of a decimated series (see BENCHMARKS.md).
        let stroke = self.px(LINE_WIDTH).max(1);
        for line in series {
            let style = line.color.stroke_width(stroke);
            // Gaps are found in the measurements, then each run is reduced:
            // points kept by the reduction may be far apart in time without
            // anything missing between them.
            for run in split_gaps(line.points, self.gap_ms) {
                let visible = decimate(run, self.x_range.clone(), width as usize);
                if visible.is_empty() {
                    continue;
                }
                chart
                    .draw_series(LineSeries::new(visible, style))
                    .map_err(draw_err)?;
            }
        }
        root.present().map_err(draw_err)
    }
}

/// A window of `span_ms` that ends at or after `end_ms`, its end moved only in
/// steps of a tenth of the span: a live chart keeps its axes (and their
/// costly labels) for that long, while the newest point walks to the edge.
pub fn steady_window(end_ms: i64, span_ms: i64) -> Range<i64> {
    let step = (span_ms / 10).max(1);
    let end = end_ms.div_euclid(step) * step
        + if end_ms.rem_euclid(step) == 0 {
            0
        } else {
            step
        };
    end - span_ms..end
}

/// A short label for an axis value: no decimals from 10 up, one below.
pub fn format_value(v: f64) -> String {
    if v.abs() >= 10.0 || v == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// The points of a time-ordered series within `x`, and the nearest one on
/// each side.
fn in_window<'a>(points: &'a [Point], x: &Range<i64>) -> &'a [Point] {
    let start = points.partition_point(|p| p.0 < x.start).saturating_sub(1);
    let end = (points.partition_point(|p| p.0 <= x.end) + 1).min(points.len());
    &points[start..end]
}

/// Reduces `points` to what `columns` pixel columns over `x` can show: for each
/// column the first, lowest, highest and last point, in time order (the "M4"
/// reduction). The drawn line is pixel-identical to the full one, spikes
/// included, for at most `4 × columns` points. Points outside `x` are dropped,
/// except the nearest one on each side so that lines reach the chart's edges.
pub fn decimate(points: &[Point], x: Range<i64>, columns: usize) -> Vec<Point> {
    let points = in_window(points, &x);
    if columns == 0 || points.len() <= 4 * columns {
        return points.to_vec();
    }
    // Floating point, not 128-bit integers: wasm has no 128-bit division and
    // its software one made this loop the cost of a million-point chart.
    // Monotonic in `t`, so columns never interleave.
    let per_ms = columns as f64 / (x.end - x.start).max(1) as f64;
    let last_column = columns - 1;
    let column_of =
        |t: i64| -> usize { (((t - x.start) as f64 * per_ms).max(0.0) as usize).min(last_column) };
    // The first time of each column, found once per column, so that the
    // loop over the points compares integers only (a million points a
    // redraw at 1M).
    let column_start = |col: usize| -> i64 {
        if col == 0 {
            return i64::MIN;
        }
        if col > last_column {
            return i64::MAX;
        }
        let mut t = x.start.saturating_add((col as f64 / per_ms).ceil() as i64);
        while column_of(t.saturating_sub(1)) >= col && t > i64::MIN {
            t -= 1;
        }
        while column_of(t) < col {
            t += 1;
        }
        t
    };
    let mut out = Vec::with_capacity(4 * columns + 2);
    let mut i = 0;
    while i < points.len() {
        let col = column_of(points[i].0);
        let next = column_start(col + 1);
        let first = i;
        let (mut lo, mut hi) = (i, i);
        let (mut lo_v, mut hi_v) = (points[i].1, points[i].1);
        i += 1;
        while let Some(&(t, v)) = points.get(i) {
            if t >= next {
                break;
            }
            if v < lo_v {
                (lo, lo_v) = (i, v);
            }
            if v > hi_v {
                (hi, hi_v) = (i, v);
            }
            i += 1;
        }
        let last = i - 1;
        let mut keep = [first, lo, hi, last];
        keep.sort_unstable();
        let mut prev = usize::MAX;
        for k in keep {
            if k != prev {
                out.push(points[k]);
                prev = k;
            }
        }
    }
    out
}

/// Splits a time-ordered series where two neighbours are more than `gap_ms` apart.
pub fn split_gaps(points: &[Point], gap_ms: i64) -> impl Iterator<Item = &[Point]> {
    points.chunk_by(move |a, b| b.0 - a.0 <= gap_ms)
}

/// Parses a CSS colour written as `#rgb` or `#rrggbb` (surrounding spaces allowed),
/// the form the stylesheet's theme variables use.
pub fn parse_hex_color(css: &str) -> Option<RGBColor> {
    let hex = css.trim().strip_prefix('#')?;
    let digit = |i: usize, len: usize| u8::from_str_radix(hex.get(i..i + len)?, 16).ok();
    match hex.len() {
        3 => Some(RGBColor(
            digit(0, 1)? * 17,
            digit(1, 1)? * 17,
            digit(2, 1)? * 17,
        )),
        6 => Some(RGBColor(digit(0, 2)?, digit(2, 2)?, digit(4, 2)?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(n: i64) -> Vec<Point> {
        (0..n).map(|i| (i * 1000, (i % 7) as f64)).collect()
    }

    /// The M4 reduction written plainly: each point's column computed on its
    /// own, the points grouped by it.
    fn decimate_by_definition(points: &[Point], x: Range<i64>, columns: usize) -> Vec<Point> {
        let points = in_window(points, &x);
        if columns == 0 || points.len() <= 4 * columns {
            return points.to_vec();
        }
        let per_ms = columns as f64 / (x.end - x.start).max(1) as f64;
        let col = |t: i64| (((t - x.start) as f64 * per_ms).max(0.0) as usize).min(columns - 1);
        let mut out = Vec::new();
        for group in points.chunk_by(|a, b| col(a.0) == col(b.0)) {
            let base = group.as_ptr() as usize;
            let index =
                |p: &Point| (p as *const Point as usize - base) / std::mem::size_of::<Point>();
            let lo = group
                .iter()
                .fold(&group[0], |m, p| if p.1 < m.1 { p } else { m });
            let hi = group
                .iter()
                .fold(&group[0], |m, p| if p.1 > m.1 { p } else { m });
            let mut keep = vec![0, index(lo), index(hi), group.len() - 1];
            keep.sort_unstable();
            keep.dedup();
            out.extend(keep.into_iter().map(|k| group[k]));
        }
        out
    }

    #[test]
    fn decimate_gives_the_reduction_by_definition_at_every_column_edge() {
        // Uneven steps (1 to 17 ms), values in a pseudo-random walk, over
        // windows and widths whose columns are not whole milliseconds.
        let mut points = Vec::new();
        let (mut t, mut v, mut z) = (-500_i64, 0.0_f64, 12_345_u64);
        for _ in 0..20_000 {
            z = z
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            t += 1 + (z >> 60) as i64;
            v += ((z >> 33) % 200) as f64 - 99.5;
            points.push((t, v));
        }
        for (x, columns) in [
            (0..t, 777),
            (0..t, 800),
            (1_234..t - 999, 333),
            (-10_000..t + 10_000, 1_599),
            (5..6, 3),
        ] {
            assert_eq!(
                decimate(&points, x.clone(), columns),
                decimate_by_definition(&points, x.clone(), columns),
                "{x:?} over {columns} columns"
            );
        }
    }

    #[test]
    fn decimate_keeps_short_series_whole() {
        let pts = ramp(100);
        assert_eq!(decimate(&pts, 0..99_000, 800), pts);
    }

    #[test]
    fn decimate_bounds_the_point_count_and_keeps_spikes() {
        let mut pts: Vec<Point> = (0..100_000).map(|i| (i, 1.0)).collect();
        pts[54_321].1 = 99.0;
        pts[12_345].1 = -5.0;
        let out = decimate(&pts, 0..99_999, 500);
        assert!(out.len() <= 4 * 500, "{} points", out.len());
        assert!(out.contains(&(54_321, 99.0)), "the spike must survive");
        assert!(out.contains(&(12_345, -5.0)), "the dip must survive");
        assert!(out.windows(2).all(|w| w[0].0 < w[1].0), "time order kept");
        assert_eq!(out.first(), pts.first());
        assert_eq!(out.last(), pts.last());
    }

    #[test]
    fn decimate_keeps_one_neighbour_outside_the_window() {
        let pts = ramp(10);
        let out = decimate(&pts, 3_500..6_500, 100);
        assert_eq!(
            out.iter().map(|p| p.0).collect::<Vec<_>>(),
            vec![3000, 4000, 5000, 6000, 7000]
        );
    }

    #[test]
    fn steady_windows_move_in_tenths_and_always_hold_the_end() {
        assert_eq!(steady_window(300_000, 300_000), 0..300_000);
        assert_eq!(steady_window(300_001, 300_000), 30_000..330_000);
        assert_eq!(
            steady_window(329_999, 300_000),
            30_000..330_000,
            "same axes for 30 s"
        );
        for end in [1_000, 12_345, 299_999, 1_700_000_000_123] {
            let w = steady_window(end, 300_000);
            assert!(w.contains(&end) || w.end == end);
            assert_eq!(w.end - w.start, 300_000);
        }
    }

    #[test]
    fn gaps_split_lines() {
        let pts = vec![(0, 1.0), (1000, 2.0), (5000, 3.0), (6000, 4.0)];
        let parts: Vec<_> = split_gaps(&pts, 2500).collect();
        assert_eq!(parts, vec![&pts[..2], &pts[2..]]);
    }

    #[test]
    fn time_at_inverts_the_plot_position() {
        let range = 0..100_000;
        let left = MARGIN + Y_LABEL_AREA;
        assert_eq!(time_at(left, 856.0, &range), 0);
        assert_eq!(time_at(856.0 - MARGIN, 856.0, &range), 100_000);
        assert_eq!(time_at(left + 396.0, 856.0, &range), 50_000);
        assert_eq!(time_at(-20.0, 856.0, &range), 0, "clamped");
    }

    #[test]
    fn parses_theme_colours() {
        assert_eq!(
            parse_hex_color(" #0f172a"),
            Some(RGBColor(0x0f, 0x17, 0x2a))
        );
        assert_eq!(parse_hex_color("#fff"), Some(RGBColor(255, 255, 255)));
        assert_eq!(parse_hex_color("red"), None);
        assert_eq!(parse_hex_color("#12345"), None);
    }

    fn render_svg(series: &[Series<'_>], scale: f64) -> String {
        render_svg_in(series, scale, 0.0..100.0, false)
    }

    fn render_svg_in(
        series: &[Series<'_>],
        scale: f64,
        y_range: Range<f64>,
        decimal_comma: bool,
    ) -> String {
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (800, 300)).into_drawing_area();
            let label = |t: i64| format!("t{}", t / 1000);
            let chart = TimeChart {
                x_range: 0..60_000,
                y_range,
                y_unit: " %",
                scale,
                theme: Theme::LIGHT,
                gap_ms: 2_500,
                x_label: &label,
                decimal_comma,
            };
            chart.draw(&root, series).expect("draw");
        }
        svg
    }

    #[test]
    fn value_labels_take_a_decimal_comma_when_asked() {
        let point = "2.0 %";
        let english = render_svg_in(&[], 1.0, 0.0..5.0, false);
        assert!(english.contains(point), "{english}");
        let french = render_svg_in(&[], 1.0, 0.0..5.0, true);
        assert!(french.contains("2,0 %"), "{french}");
        assert!(!french.contains(point));
    }

    #[test]
    fn x_at_puts_a_time_where_the_plot_draws_it() {
        let window = 100_000..400_000;
        let width = 856.0;
        let left = MARGIN + Y_LABEL_AREA;
        assert_eq!(x_at(100_000, width, &window), Some(left));
        assert_eq!(x_at(400_000, width, &window), Some(width - MARGIN));
        let middle = x_at(250_000, width, &window).expect("inside");
        assert_eq!(time_at(middle, width, &window), 250_000);
        assert_eq!(x_at(99_999, width, &window), None);
        assert_eq!(x_at(400_001, width, &window), None);
    }

    #[test]
    fn a_long_series_without_gaps_stays_one_line_once_reduced() {
        // 100,000 points a second apart on 800 px: far more than 4 per
        // column, so the reduction keeps points minutes apart.
        let many: Vec<Point> = (0..100_000)
            .map(|i| (i * 1000, 50.0 + ((i * 7919) % 97) as f64 / 10.0))
            .collect();
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (800, 300)).into_drawing_area();
            let label = |t: i64| format!("t{}", t / 1000);
            let chart = TimeChart {
                x_range: 0..100_000_000,
                y_range: 0.0..100.0,
                y_unit: "",
                scale: 1.0,
                theme: Theme::LIGHT,
                gap_ms: 5_000,
                x_label: &label,
                decimal_comma: false,
            };
            let series = [Series {
                name: "v",
                color: RGBColor(255, 0, 0),
                points: &many,
            }];
            chart.draw_lines(&root, &series).expect("draw");
        }
        assert_eq!(svg.matches("<polyline").count(), 1, "one line, no gap");
    }

    #[test]
    fn svg_chart_has_axes_labels_and_one_polyline_per_segment() {
        let cpu: Vec<Point> = (0..=60).map(|i| (i * 1000, 20.0 + i as f64)).collect();
        let mut mem: Vec<Point> = (0..=60).map(|i| (i * 1000, 50.0)).collect();
        mem.retain(|p| !(20_000..=30_000).contains(&p.0)); // a gap of 11 s
        let svg = render_svg(
            &[
                Series {
                    name: "cpu",
                    color: RGBColor(255, 0, 0),
                    points: &cpu,
                },
                Series {
                    name: "mem",
                    color: RGBColor(0, 0, 255),
                    points: &mem,
                },
            ],
            1.0,
        );
        assert!(svg.contains("100 %"), "top value label");
        assert!(
            svg.contains(">t30<") || svg.contains("t30"),
            "time label from the formatter"
        );
        assert_eq!(
            svg.matches(r##"stroke="#FF0000""##).count(),
            1,
            "cpu in one piece"
        );
        assert_eq!(
            svg.matches(r##"stroke="#0000FF""##).count(),
            2,
            "memory split at its gap"
        );
    }

    #[test]
    fn axes_and_lines_drawn_apart_make_the_same_picture() {
        let cpu: Vec<Point> = (0..=60).map(|i| (i * 1000, 20.0 + i as f64)).collect();
        let series = [Series {
            name: "cpu",
            color: RGBColor(255, 0, 0),
            points: &cpu,
        }];
        let whole = render_svg(&series, 1.0);
        let mut axes = String::new();
        let mut lines = String::new();
        {
            let label = |t: i64| format!("t{}", t / 1000);
            let chart = TimeChart {
                x_range: 0..60_000,
                y_range: 0.0..100.0,
                y_unit: " %",
                scale: 1.0,
                theme: Theme::LIGHT,
                gap_ms: 2_500,
                x_label: &label,
                decimal_comma: false,
            };
            let root = SVGBackend::with_string(&mut axes, (800, 300)).into_drawing_area();
            chart.draw_axes(&root).expect("axes");
            drop(root);
            let root = SVGBackend::with_string(&mut lines, (800, 300)).into_drawing_area();
            chart.draw_lines(&root, &series).expect("lines");
        }
        assert!(
            !lines.contains("<text"),
            "no label is measured or drawn with the lines"
        );
        assert!(
            !axes.contains(r##"stroke="#FF0000""##),
            "no series on the axes surface"
        );
        let line_of = |svg: &str| {
            svg.lines()
                .find(|l| l.contains(r##"stroke="#FF0000""##))
                .map(str::to_owned)
        };
        assert_eq!(
            line_of(&lines),
            line_of(&whole),
            "the line lands on the same pixels"
        );
    }

    #[test]
    fn scale_enlarges_text_and_strokes() {
        let cpu: Vec<Point> = (0..=60).map(|i| (i * 1000, 10.0)).collect();
        let series = [Series {
            name: "cpu",
            color: RGBColor(255, 0, 0),
            points: &cpu,
        }];
        let one = render_svg(&series, 1.0);
        let two = render_svg(&series, 2.0);
        assert!(one.contains("stroke-width=\"1\""), "one css px");
        assert!(two.contains("stroke-width=\"2\""), "doubled on a 2x screen");
        let font_size = |svg: &str| -> f64 {
            let at = svg.find("font-size=\"").expect("a label") + "font-size=\"".len();
            svg[at..]
                .split('"')
                .next()
                .and_then(|v| v.parse().ok())
                .expect("a number")
        };
        assert!(
            (font_size(&two) / font_size(&one) - 2.0).abs() < 0.01,
            "labels scale too"
        );
    }
}
