//! A reader of the Prometheus text exposition format (0.0.4): comment and
//! blank lines are skipped, every other line is `name{label="value",…} value
//! [timestamp]`. Label values may hold escaped `\\`, `\"` and `\n`; values
//! may be `NaN`, `+Inf` or `-Inf`. Anything else is an error that names the
//! line, so a target answering something else (an HTML page, JSON) shows why.

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Labels,
    pub value: f64,
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
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |reason: &str| ParseError {
            line: i + 1,
            reason: reason.to_owned(),
        };
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
        samples.push(Sample {
            name: name.to_owned(),
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
