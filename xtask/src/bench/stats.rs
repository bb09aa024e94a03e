//! Medians with min, max and p99 over repeated measurements, read either from
//! samples taken here or from the JSON the browser scripts print.

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub p99: f64,
    pub n: usize,
}

impl Stats {
    /// `None` without samples.
    pub fn of(samples: &[f64]) -> Option<Stats> {
        let mut s: Vec<f64> = samples.iter().copied().filter(|v| v.is_finite()).collect();
        if s.is_empty() {
            return None;
        }
        s.sort_by(f64::total_cmp);
        let at = |q: f64| {
            // Nearest rank.
            let rank = (q * s.len() as f64).ceil() as usize;
            s[rank.clamp(1, s.len()) - 1]
        };
        let median = if s.len() % 2 == 1 {
            s[s.len() / 2]
        } else {
            (s[s.len() / 2 - 1] + s[s.len() / 2]) / 2.0
        };
        Some(Stats {
            median,
            min: s[0],
            max: s[s.len() - 1],
            p99: at(0.99),
            n: s.len(),
        })
    }

    /// Reads `{median, min, max, n[, p99]}`.
    pub fn from_json(v: &Value) -> Option<Stats> {
        let f = |k: &str| v.get(k).and_then(Value::as_f64);
        let median = f("median")?;
        Some(Stats {
            median,
            min: f("min")?,
            max: f("max")?,
            p99: f("p99").unwrap_or(f64::NAN),
            n: v.get("n").and_then(Value::as_u64).unwrap_or(0) as usize,
        })
    }

    /// The p99 with its sample count: `p99 7.36 ms (n=320)`; under 100
    /// samples the nearest-rank p99 is the maximum, and is called that.
    pub fn show_p99(&self, unit: &str) -> String {
        if self.n < 100 {
            format!(
                "max {}{unit} (n={}: too few samples for a p99)",
                num(self.max),
                self.n
            )
        } else {
            format!("p99 {}{unit} (n={})", num(self.p99), self.n)
        }
    }

    /// `12.3 (10.1–15.0, n=10)` with `unit` after the median.
    pub fn show(&self, unit: &str) -> String {
        format!(
            "{}{unit} ({}–{}, n={})",
            num(self.median),
            num(self.min),
            num(self.max),
            self.n
        )
    }
}

#[cfg(test)]
mod p99_tests {
    use super::*;

    #[test]
    fn a_p99_is_only_called_so_over_100_samples() {
        let few: Vec<f64> = (1..=60).map(f64::from).collect();
        assert_eq!(
            Stats::of(&few).expect("stats").show_p99(" ms"),
            "max 60.0 ms (n=60: too few samples for a p99)"
        );
        // Nearest rank over 1..=300: the 297th value.
        let many: Vec<f64> = (1..=300).map(f64::from).collect();
        assert_eq!(
            Stats::of(&many).expect("stats").show_p99(" ms"),
            "p99 297 ms (n=300)"
        );
    }
}

/// A figure with three significant digits, at most two decimals.
pub fn num(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() {
        "–".into()
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_min_max_and_nearest_rank_p99() {
        let s = Stats::of(&[5.0, 1.0, 3.0, f64::NAN]).expect("stats");
        assert_eq!((s.median, s.min, s.max, s.n), (3.0, 1.0, 5.0, 3));
        let even = Stats::of(&[4.0, 1.0, 2.0, 3.0]).expect("stats");
        assert_eq!(even.median, 2.5);
        let hundred: Vec<f64> = (1..=200).map(f64::from).collect();
        assert_eq!(Stats::of(&hundred).expect("stats").p99, 198.0);
        assert!(Stats::of(&[]).is_none());
    }

    #[test]
    fn reads_the_scripts_json() {
        let v = serde_json::json!({"median": 2.0, "min": 1.0, "max": 9.5, "n": 10});
        let s = Stats::from_json(&v).expect("stats");
        assert_eq!((s.median, s.max, s.n), (2.0, 9.5, 10));
        assert!(s.p99.is_nan());
        assert!(Stats::from_json(&serde_json::json!({"median": 1})).is_none());
        assert_eq!(num(1234.5), "1234");
        assert_eq!(num(12.34), "12.3");
        assert_eq!(num(1.234), "1.23");
    }
}
