//! A reader of the Prometheus text exposition format (0.0.4): `# TYPE`
//! lines declare a family's type, other comments and blank lines are
//! skipped, every other line is `name{label="value",…} value [timestamp]`.
//! Label values may hold escaped `\\`, `\"` and `\n`; values may be `NaN`,
//! `+Inf` or `-Inf`. Anything else is an error that names the line, so a
//! target answering something else (an HTML page, JSON) shows why.
//!
//! Each sample is given its family and type: `x_bucket`, `x_count` and
//! `x_sum` belong to `x` when `x` is declared a histogram or a summary, so a
//! summary is never read as a histogram; a sample of no declared family is
//! untyped.

use std::collections::HashMap;

/// A family's type, from its `# TYPE` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Gauge,
    Histogram,
    Summary,
    /// Declared `untyped` (or a type this reader does not know), or not declared.
    Untyped,
}

impl MetricKind {
    fn parse(text: &str) -> MetricKind {
        match text {
            "counter" => MetricKind::Counter,
            "gauge" => MetricKind::Gauge,
            "histogram" => MetricKind::Histogram,
            "summary" => MetricKind::Summary,
            _ => MetricKind::Untyped,
        }
    }
}

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    /// The family the sample belongs to (`x` for `x_bucket` of histogram `x`).
    pub family: String,
    pub kind: MetricKind,
    pub labels: Labels,
    pub value: f64,
}

/// The family and type of sample `name` under the declared `types`.
fn family_of(name: &str, types: &HashMap<String, MetricKind>) -> (String, MetricKind) {
    if let Some(kind) = types.get(name) {
        return (name.to_owned(), *kind);
    }
    for suffix in ["_bucket", "_count", "_sum", "_created"] {
        if let Some(base) = name.strip_suffix(suffix)
            && let Some(kind @ (MetricKind::Histogram | MetricKind::Summary)) = types.get(base)
            && (suffix != "_bucket" || *kind == MetricKind::Histogram)
        {
            return (base.to_owned(), *kind);
        }
    }
    (name.to_owned(), MetricKind::Untyped)
}

impl Sample {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not the Prometheus text format: line {line}: {reason}")]
pub struct ParseError {
    pub line: usize,
    pub reason: String,
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

fn parse_value(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => text.parse().ok(),
    }
}

/// Parses a whole exposition.
pub fn parse(text: &str) -> Result<Vec<Sample>, ParseError> {
    let mut samples = Vec::new();
    let mut types: HashMap<String, MetricKind> = HashMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let err = |reason: &str| ParseError {
            line: i + 1,
            reason: reason.to_owned(),
        };
        if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.split_whitespace();
            if words.next() == Some("TYPE") {
                let (Some(name), Some(kind)) = (words.next(), words.next()) else {
                    return Err(err("# TYPE needs a metric name and a type"));
                };
                if !name.starts_with(is_name_start) || !name.chars().all(is_name_char) {
                    return Err(err("# TYPE names an invalid metric name"));
                }
                types.insert(name.to_owned(), MetricKind::parse(kind));
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        let mut chars = line.char_indices().peekable();
        match chars.peek() {
            Some((_, c)) if is_name_start(*c) => {}
            _ => return Err(err("a metric name must start the line")),
        }
        let mut end = line.len();
        for (at, c) in chars.by_ref() {
            if !is_name_char(c) {
                end = at;
                break;
            }
        }
        let name = &line[..end];
        let mut rest = &line[end..];
        let mut labels = Vec::new();
        if let Some(after) = rest.strip_prefix('{') {
            let (parsed, tail) = parse_labels(after).map_err(|r| err(&r))?;
            labels = parsed;
            rest = tail;
        }
        let mut fields = rest.split_whitespace();
        let value = fields
            .next()
            .and_then(parse_value)
            .ok_or_else(|| err("a sample needs a numeric value after the name and labels"))?;
        if let Some(ts) = fields.next() {
            ts.parse::<i64>()
                .map_err(|_| err("the timestamp must be an integer"))?;
        }
        if fields.next().is_some() {
            return Err(err("unexpected text after the value"));
        }
        let (family, kind) = family_of(name, &types);
        samples.push(Sample {
            name: name.to_owned(),
            family,
            kind,
            labels,
            value,
        });
    }
    Ok(samples)
}

/// Reads `a="x",b="y"}` and returns the labels and what follows the brace.
type Labels = Vec<(String, String)>;

fn parse_labels(mut s: &str) -> Result<(Labels, &str), String> {
    let mut labels = Vec::new();
    loop {
        s = s.trim_start();
        if let Some(rest) = s.strip_prefix('}') {
            return Ok((labels, rest));
        }
        let key_end = s.find(|c: char| !is_name_char(c)).unwrap_or(s.len());
        if key_end == 0 {
            return Err("a label name was expected".into());
        }
        let key = s[..key_end].to_owned();
        s = s[key_end..].trim_start();
        s = s
            .strip_prefix('=')
            .ok_or("a label needs = after its name")?
            .trim_start();
        s = s.strip_prefix('"').ok_or("a label value must be quoted")?;
        let mut value = String::new();
        let mut chars = s.char_indices();
        let close = loop {
            match chars.next() {
                Some((at, '"')) => break at,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => return Err("an escape ends the line".into()),
                },
                Some((_, c)) => value.push(c),
                None => return Err("a label value is not closed".into()),
            }
        };
        labels.push((key, value));
        s = s[close + 1..].trim_start();
        if let Some(rest) = s.strip_prefix(',') {
            s = rest;
        } else if !s.starts_with('}') {
            return Err("labels must be separated by commas".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_samples_labels_escapes_and_special_values() {
        let text = r#"# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{method="GET",route="/a \"quoted\"\\path",code="200"} 1027 1395066363000
node_load1 0.25

x_bucket{le="+Inf"} +Inf
up{} NaN
"#;
        let samples = parse(text).expect("valid");
        assert_eq!(samples.len(), 4);
        assert_eq!(samples[0].name, "http_requests_total");
        assert_eq!(samples[0].label("route"), Some("/a \"quoted\"\\path"));
        assert_eq!(samples[0].label("code"), Some("200"));
        assert_eq!(samples[0].value, 1027.0);
        assert_eq!(samples[1].labels, vec![]);
        assert!(samples[2].value.is_infinite() && samples[3].value.is_nan());
    }

    #[test]
    fn types_give_each_sample_its_family() {
        let text = "# TYPE go_gc_duration_seconds summary\n\
go_gc_duration_seconds{quantile=\"0.5\"} 0.0001\n\
go_gc_duration_seconds_sum 0.5\n\
go_gc_duration_seconds_count 12\n\
# TYPE http_request_duration_seconds histogram\n\
http_request_duration_seconds_bucket{le=\"+Inf\"} 3\n\
http_request_duration_seconds_sum 0.2\n\
http_request_duration_seconds_count 3\n\
# TYPE requests_total counter\n\
requests_total 7\n\
lonely_bucket{le=\"1\"} 1\n\
# TYPE odd_thing stateset\n\
odd_thing 1\n";
        let samples = parse(text).expect("valid");
        let of = |name: &str| {
            samples
                .iter()
                .find(|s| s.name == name)
                .map(|s| (s.family.as_str(), s.kind))
                .expect(name)
        };
        use MetricKind::*;
        assert_eq!(
            of("go_gc_duration_seconds"),
            ("go_gc_duration_seconds", Summary)
        );
        assert_eq!(
            of("go_gc_duration_seconds_sum"),
            ("go_gc_duration_seconds", Summary)
        );
        assert_eq!(
            of("go_gc_duration_seconds_count"),
            ("go_gc_duration_seconds", Summary)
        );
        assert_eq!(
            of("http_request_duration_seconds_bucket"),
            ("http_request_duration_seconds", Histogram)
        );
        assert_eq!(
            of("http_request_duration_seconds_count"),
            ("http_request_duration_seconds", Histogram)
        );
        assert_eq!(of("requests_total"), ("requests_total", Counter));
        assert_eq!(
            of("lonely_bucket"),
            ("lonely_bucket", Untyped),
            "no declared family"
        );
        assert_eq!(of("odd_thing"), ("odd_thing", Untyped));
        assert_eq!(parse("# TYPE x\nx 1").map_err(|e| e.line), Err(1));
    }

    #[test]
    fn names_the_line_of_anything_else() {
        let html = "<!doctype html>\n<html></html>";
        assert_eq!(parse(html).map_err(|e| e.line), Err(1));
        let json = "{\"status\": \"ok\"}";
        assert!(parse(json).is_err());
        let err = parse("ok 1\nbad{a=\"x\" 2\n").expect_err("unclosed labels");
        assert_eq!(err.line, 2);
        assert!(parse("metric one").is_err(), "a value must be a number");
        assert!(parse("metric 1 2 3").is_err());
    }
}
