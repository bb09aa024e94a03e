//! How numbers are written on screen. Pure functions, tested natively.

/// `12.3 %`; `—` when there is no measurement.
pub fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{v:.1} %"))
}

/// Binary units: `512 B`, `3.1 GiB`.
pub fn bytes(v: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = v.max(0.0);
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// `12.0 KiB/s`
pub fn rate(bytes_per_s: f64) -> String {
    format!("{}/s", bytes(bytes_per_s))
}

/// An age in seconds, rounded to what a person needs: `3 s`, `4 min`, `2 h`.
pub fn age(seconds: f64) -> String {
    let s = seconds.max(0.0).floor() as u64;
    match s {
        0..=99 => format!("{s} s"),
        100..=5999 => format!("{} min", s / 60),
        _ => format!("{} h", s / 3600),
    }
}

/// `HH:MM:SS` in the browser's time zone.
#[cfg(target_arch = "wasm32")]
pub fn clock(ts_ms: i64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ts_ms as f64));
    format!(
        "{:02}:{:02}:{:02}",
        d.get_hours(),
        d.get_minutes(),
        d.get_seconds()
    )
}

/// `HH:MM:SS` in UTC (native builds, used by tests).
#[cfg(not(target_arch = "wasm32"))]
pub fn clock(ts_ms: i64) -> String {
    let s = ts_ms.div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(percent(Some(12.345)), "12.3 %");
        assert_eq!(percent(None), "—");
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(3.5 * 1024.0 * 1024.0 * 1024.0), "3.5 GiB");
        assert_eq!(rate(2048.0), "2.0 KiB/s");
        assert_eq!(age(3.9), "3 s");
        assert_eq!(age(240.0), "4 min");
        assert_eq!(age(7300.0), "2 h");
        assert_eq!(clock(3_723_000), "01:02:03");
    }
}
