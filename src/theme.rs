//! Light and dark. The colours are CSS variables (`style/main.css`); this
//! module sets `<html data-theme>` to the theme in force and tells the
//! charts when it changes (a canvas keeps the colours it was drawn with).

use leptos::prelude::*;
use vigie_api::ThemeChoice;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

/// The theme asked for (by the portal or `config.json`; `auto` follows the
/// system) and the system's preference.
#[derive(Debug, Clone, Copy)]
pub struct Appearance {
    pub choice: RwSignal<ThemeChoice>,
    system_dark: RwSignal<bool>,
}

const DARK_QUERY: &str = "(prefers-color-scheme: dark)";

impl Appearance {
    /// Starts following `initial` and the system's preference, and keeps
    /// `<html data-theme>` in step.
    pub fn start(initial: ThemeChoice) -> Self {
        let query = web_sys::window().and_then(|w| w.match_media(DARK_QUERY).ok().flatten());
        let appearance = Appearance {
            choice: RwSignal::new(initial),
            system_dark: RwSignal::new(query.as_ref().is_none_or(|q| q.matches())),
        };
        if let Some(query) = query {
            let on_change = Closure::<dyn Fn(web_sys::MediaQueryListEvent)>::new(
                move |ev: web_sys::MediaQueryListEvent| {
                    apply(resolve(appearance.choice.get_untracked(), ev.matches()));
                    appearance.system_dark.set(ev.matches());
                },
            );
            let _ = query
                .add_event_listener_with_callback("change", on_change.as_ref().unchecked_ref());
            // Lives as long as the page.
            on_change.forget();
        }
        apply(resolve(initial, appearance.system_dark.get_untracked()));
        appearance
    }

    /// Switches to `choice`. The page's colours change before the charts
    /// hear of it, so that they redraw with the new ones.
    pub fn set(&self, choice: ThemeChoice) {
        apply(resolve(choice, self.system_dark.get_untracked()));
        self.choice.set(choice);
    }

    /// Whether the dark theme is in force (tracked).
    pub fn is_dark(&self) -> bool {
        resolve(self.choice.get(), self.system_dark.get())
    }
}

/// Sets `<html data-theme>`, which the stylesheet's colours follow.
fn apply(dark: bool) {
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = root.set_attribute("data-theme", if dark { "dark" } else { "light" });
    }
}

/// The theme in force for a choice and the system's preference.
pub fn resolve(choice: ThemeChoice, system_dark: bool) -> bool {
    match choice {
        ThemeChoice::Dark => true,
        ThemeChoice::Light => false,
        ThemeChoice::Auto => system_dark,
    }
}

/// Whether the dark theme is in force, for a chart to redraw on a change
/// (dark outside the app, as the stylesheet's default).
pub fn is_dark() -> bool {
    use_context::<Appearance>().is_none_or(|a| a.is_dark())
}

#[cfg(test)]
mod tests {
    //! WCAG 2.1 AA in both themes, computed from the stylesheet itself: text
    //! 4.5:1 against what it is drawn on, chart lines and axes 3:1 against
    //! the chart's background (non-text contrast, 1.4.11).

    use std::collections::HashMap;

    const CSS: &str = include_str!("../style/main.css");

    /// The `--name: #rrggbb` declarations of the block opened by `selector`.
    fn variables(selector: &str) -> HashMap<String, [f64; 3]> {
        let start = CSS
            .find(selector)
            .unwrap_or_else(|| panic!("no {selector}"));
        let body = &CSS[start..];
        let body = &body[body.find('{').expect("{") + 1..body.find('}').expect("}")];
        body.split(';')
            .filter_map(|decl| {
                let (name, value) = decl.split_once(':')?;
                let hex = value.trim().strip_prefix('#')?;
                let channel =
                    |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map(|v| f64::from(v) / 255.0);
                Some((
                    name.trim().trim_start_matches("--").to_owned(),
                    [channel(0).ok()?, channel(2).ok()?, channel(4).ok()?],
                ))
            })
            .collect()
    }

    /// Relative luminance (WCAG 2.1).
    fn luminance([r, g, b]: [f64; 3]) -> f64 {
        let lin = |c: f64| {
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    }

    fn contrast(a: [f64; 3], b: [f64; 3]) -> f64 {
        let (a, b) = (luminance(a), luminance(b));
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    }

    /// Every pair below `minimum`, as `name on background ratio`.
    fn failures(
        theme: &HashMap<String, [f64; 3]>,
        pairs: &[(&str, &str)],
        minimum: f64,
    ) -> Vec<String> {
        pairs
            .iter()
            .filter_map(|(fg, bg)| {
                let colour = |n: &str| *theme.get(n).unwrap_or_else(|| panic!("no --{n}"));
                let ratio = contrast(colour(fg), colour(bg));
                (ratio < minimum).then(|| format!("--{fg} on --{bg}: {ratio:.2}"))
            })
            .collect()
    }

    fn check(name: &str, theme: &HashMap<String, [f64; 3]>) {
        let mut text = Vec::new();
        for fg in ["text", "muted", "accent", "ok", "warn", "bad"] {
            for bg in ["bg", "surface", "surface-2"] {
                text.push((fg, bg));
            }
        }
        text.push(("bg", "accent"));
        text.push(("chart-text", "chart-bg"));
        for s in ["critical", "high", "medium", "low"] {
            text.push(("on-severity", ["severity-", s].concat().leak()));
        }
        let lines: Vec<(&str, &str)> = [
            "series-1",
            "series-2",
            "series-3",
            "series-bad",
            "chart-axis",
            "accent",
        ]
        .into_iter()
        .map(|fg| (fg, "chart-bg"))
        .collect();
        let mut bad = failures(theme, &text, 4.5);
        bad.extend(failures(theme, &lines, 3.0));
        assert!(bad.is_empty(), "{name} theme below WCAG AA: {bad:#?}");
    }

    #[test]
    fn both_themes_meet_wcag_aa() {
        check("dark", &variables(":root {"));
        // The light block overrides the dark defaults; what it leaves out stays.
        let mut light = variables(":root {");
        light.extend(variables(":root[data-theme=\"light\"] {"));
        check("light", &light);
    }

    #[test]
    fn the_light_theme_is_the_same_by_attribute_and_by_system_preference() {
        assert_eq!(
            variables(":root:not([data-theme=\"dark\"]) {"),
            variables(":root[data-theme=\"light\"] {")
        );
    }

    #[test]
    fn the_contrast_formula_gives_the_known_ratios() {
        let black = [0.0; 3];
        let white = [1.0; 3];
        assert!((contrast(black, white) - 21.0).abs() < 1e-9);
        // #767676 on white is the classic 4.54:1.
        let grey = [f64::from(0x76_u8) / 255.0; 3];
        assert!((contrast(grey, white) - 4.54).abs() < 0.01);
    }
}
