//! How numbers, sizes, durations and dates are written on screen, in the
//! current language ([`crate::i18n::current`]): `1234.5 ms` and
//! `2024-05-01 14:03:22` in English, `1\u{202f}234,5 ms` and
//! `01/05/2024 14:03:22` in French (the thousands separator is the narrow
//! no-break space that `Intl.NumberFormat("fr")` writes). Pure functions,
//! tested natively. Form fields keep the form's own syntax ([`input_number`],
//! [`datetime_input`]).

use crate::i18n::{self, Lang};

/// `v` with `places` decimals, in the current language's notation.
pub fn fixed(v: f64, places: usize) -> String {
    let text = format!("{v:.places$}");
    match i18n::current() {
        Lang::En => text,
        Lang::Fr => french(&text),
    }
}

/// `-1234.5` written the French way: `-1\u{202f}234,5`.
fn french(text: &str) -> String {
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let mut out = String::from(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 && int.len() > 3 {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push(',');
        out.push_str(frac);
    }
    out
}

/// `12.3 %`; `—` when there is no measurement.
pub fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{} %", fixed(v, 1)))
}

/// Binary units: `512 B`, `3.1 GiB` (`3,1 Gio` in French).
pub fn bytes(v: f64) -> String {
    const EN: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    const FR: [&str; 6] = ["o", "Kio", "Mio", "Gio", "Tio", "Pio"];
    let units = i18n::pick(&EN, &FR);
    let mut v = v.max(0.0);
    let mut unit = 0;
    while v >= 1024.0 && unit < units.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    let places = if unit == 0 { 0 } else { 1 };
    format!("{} {}", fixed(v, places), units[unit])
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

/// A configured length of time in seconds, exact: `30 s`, `5 min`, `1 min 30 s`, `2 h`.
pub fn duration(seconds: u32) -> String {
    match seconds {
        0..=59 => format!("{seconds} s"),
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{} min {} s", s / 60, s % 60),
    }
}

/// A configured number, without trailing zeros: `80`, `0.5`, `2000`
/// (`0,5` in French).
pub fn number(v: f64) -> String {
    let text = input_number(v);
    match i18n::current() {
        Lang::En => text,
        Lang::Fr => french(&text),
    }
}

/// A number as a form field holds it, whatever the language: `0.5`.
pub fn input_number(v: f64) -> String {
    let text = format!("{v:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A measured value in its unit: percentages to a tenth, milliseconds whole
/// from 10 up and to a tenth below; `—` when there is no measurement.
pub fn measured(v: Option<f64>, unit: &str) -> String {
    match v {
        None => "—".into(),
        Some(v) if unit == "%" || v.abs() < 10.0 => format!("{} {unit}", fixed(v, 1)),
        Some(v) => format!("{} {unit}", fixed(v, 0)),
    }
}

/// Year, month, day, hour, minute and second of `ts_ms` in the browser's time zone.
#[cfg(target_arch = "wasm32")]
fn civil(ts_ms: i64) -> [i64; 6] {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ts_ms as f64));
    [
        i64::from(d.get_full_year()),
        i64::from(d.get_month()) + 1,
        i64::from(d.get_date()),
        i64::from(d.get_hours()),
        i64::from(d.get_minutes()),
        i64::from(d.get_seconds()),
    ]
}

/// Year, month, day, hour, minute and second of `ts_ms` in UTC (native
/// builds, used by tests).
#[cfg(not(target_arch = "wasm32"))]
fn civil(ts_ms: i64) -> [i64; 6] {
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = ts_ms.div_euclid(86_400_000) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let s = ts_ms.div_euclid(1000).rem_euclid(86_400);
    [year, month, day, s / 3600, s / 60 % 60, s % 60]
}

/// `2024-05-01 14:03:22` (French: `01/05/2024 14:03:22`), in the browser's
/// time zone (UTC in native builds).
pub fn date_time(ts_ms: i64) -> String {
    let [y, mo, d, ..] = civil(ts_ms);
    match i18n::current() {
        Lang::En => format!("{y}-{mo:02}-{d:02} {}", clock(ts_ms)),
        Lang::Fr => format!("{d:02}/{mo:02}/{y} {}", clock(ts_ms)),
    }
}

/// `HH:MM:SS` in the browser's time zone (UTC in native builds).
pub fn clock(ts_ms: i64) -> String {
    let [.., h, mi, s] = civil(ts_ms);
    format!("{h:02}:{mi:02}:{s:02}")
}

/// A time as a `datetime-local` input holds it: `YYYY-MM-DDTHH:MM`, in
/// the browser's time zone (UTC in native builds), whatever the language.
pub fn datetime_input(ts_ms: i64) -> String {
    let [y, mo, d, h, mi, _] = civil(ts_ms);
    format!("{y}-{mo:02}-{d:02}T{h:02}:{mi:02}")
}

/// The year, month, day, hour, minute and second of a `datetime-local`
/// value (`YYYY-MM-DDTHH:MM`, seconds optional), checked for range.
fn datetime_parts(s: &str) -> Option<(i64, i64, i64, i64, i64, i64)> {
    let (date, time) = s.trim().split_once(['T', ' '])?;
    let mut d = date.splitn(3, '-').map(str::parse::<i64>);
    let (y, mo, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let mut t = time.splitn(3, ':');
    let h = t.next()?.parse::<i64>().ok()?;
    let mi = t.next()?.parse::<i64>().ok()?;
    let sec = match t.next() {
        Some(sec) => sec.split('.').next()?.parse::<i64>().ok()?,
        None => 0,
    };
    let ok = (1..=12).contains(&mo)
        && (1..=31).contains(&day)
        && (0..24).contains(&h)
        && (0..60).contains(&mi)
        && (0..60).contains(&sec);
    ok.then_some((y, mo, day, h, mi, sec))
}

/// Unix ms of a `datetime-local` value, in the browser's time zone.
#[cfg(target_arch = "wasm32")]
pub fn parse_datetime_input(s: &str) -> Option<i64> {
    let (y, mo, d, h, mi, sec) = datetime_parts(s)?;
    let date = js_sys::Date::new_with_year_month_day_hr_min_sec(
        u32::try_from(y).ok()?,
        (mo - 1) as i32,
        d as i32,
        h as i32,
        mi as i32,
        sec as i32,
    );
    let t = date.get_time();
    t.is_finite().then_some(t as i64)
}

/// Unix ms of a `datetime-local` value read as UTC (native builds, used by tests).
#[cfg(not(target_arch = "wasm32"))]
pub fn parse_datetime_input(s: &str) -> Option<i64> {
    let (y, mo, d, h, mi, sec) = datetime_parts(s)?;
    // Days from 1970-01-01 of a civil date (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + h) * 60 + mi) * 60_000 + sec * 1000)
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
        assert_eq!(date_time(1_714_572_202_000), "2024-05-01 14:03:22");
        assert_eq!(date_time(0), "1970-01-01 00:00:00");
    }

    #[test]
    fn alert_figures() {
        assert_eq!(duration(0), "0 s");
        assert_eq!(duration(45), "45 s");
        assert_eq!(duration(300), "5 min");
        assert_eq!(duration(90), "1 min 30 s");
        assert_eq!(duration(7200), "2 h");
        assert_eq!(number(80.0), "80");
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(2000.0), "2000");
        assert_eq!(measured(Some(43.26), "%"), "43.3 %");
        assert_eq!(measured(Some(2150.4), "ms"), "2150 ms");
        assert_eq!(measured(Some(4.91), "ms"), "4.9 ms");
        assert_eq!(measured(None, "ms"), "—");
    }

    #[test]
    fn french_writes_commas_and_groups_thousands() {
        i18n::set_current(Lang::Fr);
        let nnbsp = '\u{202f}';
        assert_eq!(measured(Some(1234.54), "ms"), format!("1{nnbsp}235 ms"));
        assert_eq!(fixed(1234.5, 1), format!("1{nnbsp}234,5"));
        assert_eq!(fixed(-1234567.0, 0), format!("-1{nnbsp}234{nnbsp}567"));
        assert_eq!(fixed(999.0, 0), "999");
        assert_eq!(percent(Some(12.345)), "12,3 %");
        assert_eq!(bytes(3.5 * 1024.0 * 1024.0 * 1024.0), "3,5 Gio");
        assert_eq!(bytes(512.0), "512 o");
        assert_eq!(number(0.5), "0,5");
        assert_eq!(input_number(0.5), "0.5");
        assert_eq!(date_time(1_764_612_300_000), "01/12/2025 18:05:00");
        assert_eq!(datetime_input(1_764_612_300_000), "2025-12-01T18:05");
        i18n::set_current(Lang::En);
        assert_eq!(date_time(1_764_612_300_000), "2025-12-01 18:05:00");
    }

    #[test]
    fn datetime_inputs_read_back() {
        let t = 1_714_572_180_000;
        assert_eq!(datetime_input(t), "2024-05-01T14:03");
        assert_eq!(parse_datetime_input("2024-05-01T14:03"), Some(t));
        assert_eq!(
            parse_datetime_input("2024-05-01T14:03:22"),
            Some(t + 22_000)
        );
        assert_eq!(parse_datetime_input("1970-01-01T00:00"), Some(0));
        assert_eq!(
            parse_datetime_input("2024-02-29T00:00"),
            Some(1_709_164_800_000)
        );
        assert_eq!(parse_datetime_input(""), None);
        assert_eq!(parse_datetime_input("2024-13-01T00:00"), None);
        assert_eq!(parse_datetime_input("2024-05-01T24:00"), None);
    }
}
