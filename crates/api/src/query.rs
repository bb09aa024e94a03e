//! Query strings of the read endpoints, as types: the dashboard serialises
//! them (`serde_urlencoded`), the server deserialises them and refuses what
//! does not fit, naming the parameter. Unknown parameters are refused too, so
//! a misspelt filter is an error rather than silently ignored.

use serde::de::{self, Deserializer, IntoDeserializer};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

use crate::{Severity, Source};

/// The time range of a read: `range` (`5m`, `1h`, `7d`, any `<n><s|m|h|d>`)
/// ending now, or `from`/`to` in Unix milliseconds; and the most points a
/// series may have.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimeRange {
    pub range: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub points: Option<u32>,
}

/// Declares a query struct with the [`TimeRange`] fields first, then its own
/// (every field optional, left out of the query string when unset).
macro_rules! ranged_query {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
        #[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// `5m`, `1h`, `7d`…: the span ending now (or `from`/`to`).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub range: Option<String>,
            /// Start, Unix ms.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub from: Option<i64>,
            /// End, Unix ms; now when absent.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub to: Option<i64>,
            /// Most points in a series (1 to 2000).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 2000))]
            pub points: Option<u32>,
            $(
                $(#[$fm])*
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<$ty>,
            )*
        }

        impl $name {
            pub fn time_range(&self) -> TimeRange {
                TimeRange {
                    range: self.range.clone(),
                    from: self.from,
                    to: self.to,
                    points: self.points,
                }
            }

            /// Sets the time-range fields from `t`.
            pub fn with_range(mut self, t: TimeRange) -> Self {
                self.range = t.range;
                self.from = t.from;
                self.to = t.to;
                self.points = t.points;
                self
            }
        }
    };
}

ranged_query! {
    /// `GET metrics/`: figures of the probes (of one `target`), of ingested
    /// requests (`source=requests`, of one `service` and `endpoint`), or of a
    /// Prometheus target's histograms (`source=scrape&target=`).
    MetricsQuery {
        /// `probes` by default; `requests` when `service` or `endpoint` is
        /// given; `scrape`: the request-duration histograms of the
        /// Prometheus target `target` (endpoint = route).
        #[cfg_attr(feature = "openapi", param(inline))]
        source: Source,
        /// One target's probes only (or, with `source=scrape`, the
        /// Prometheus target read).
        target: i64,
        /// Requests of this service only.
        service: String,
        /// Requests of this endpoint only.
        endpoint: String,
    }
}

ranged_query! {
    /// `GET endpoints/`: the ranking of endpoints of ingested requests (of
    /// one `service`), or of a Prometheus target (`source=scrape&target=`).
    EndpointsQuery {
        /// `requests` by default, or `scrape` (with `target`).
        #[cfg_attr(feature = "openapi", param(inline))]
        source: Source,
        /// With `source=scrape`: the Prometheus target whose histograms are
        /// ranked by route.
        target: i64,
        /// Requests of this service only.
        service: String,
        /// The order, worst first; `p95` by default.
        #[cfg_attr(feature = "openapi", param(inline))]
        sort: EndpointSort,
        /// 1 to 1000; 50 when absent.
        #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 1000))]
        limit: u32,
    }
}

ranged_query! {
    /// `GET cache-performance/`: every cache source, or one (`source`).
    CacheQuery {
        /// One cache source only.
        source: i64,
    }
}

ranged_query! {
    /// `GET slow-queries/`: statements of every database source, or one
    /// (`source`), whose mean is at least `threshold_ms`.
    SlowQueriesQuery {
        /// One database source only (needed by `slow-queries/{hash}`).
        source: i64,
        /// Milliseconds; 1000 when absent (the seeds' "over 1 s").
        #[cfg_attr(feature = "openapi", param(minimum = 0))]
        threshold_ms: f64,
        /// 1 to 200; 50 when absent.
        #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 200))]
        limit: u32,
    }
}

ranged_query! {
    /// `GET database-insights/`: the tables, indexes and buffer cache of
    /// every database source, or one (`source`), over a range.
    DatabaseInsightsQuery {
        /// One database source only.
        source: i64,
    }
}

ranged_query! {
    /// `GET system-resources/`: this host, or the one behind a node_exporter
    /// target (`host`); with a range, also the stored samples bucketed.
    SystemResourcesQuery {
        /// Id of a Prometheus target scraping a node_exporter: that host
        /// instead of this one.
        host: i64,
    }
}

/// How the endpoints ranking is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EndpointSort {
    #[default]
    P95,
    ErrorRate,
    Count,
}

impl EndpointSort {
    pub const ALL: [EndpointSort; 3] = [
        EndpointSort::P95,
        EndpointSort::ErrorRate,
        EndpointSort::Count,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EndpointSort::P95 => "p95",
            EndpointSort::ErrorRate => "error_rate",
            EndpointSort::Count => "count",
        }
    }
}

/// A state filter of `GET alerts/`: one state, or `open` (any but resolved).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StateFilter {
    Open,
    Pending,
    Firing,
    Acknowledged,
    Resolved,
}

/// `GET alerts/`: filters and page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct AlertsQuery {
    /// States, comma-separated (`open`, `pending`, `firing`,
    /// `acknowledged`, `resolved`; `open` is any but resolved); any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = Option<String>))]
    pub state: Option<Comma<StateFilter>>,
    /// Severities, comma-separated (`critical`, `high`, `medium`, `low`);
    /// any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = Option<String>))]
    pub severity: Option<Comma<Severity>>,
    /// Alerts whose life overlaps `[from, to]`: alive at or after this, Unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<i64>,
    /// Alerts started at or before this, Unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<i64>,
    /// `true`: only alerts that fired; `false`: only those that cleared before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fired: Option<bool>,
    /// 1 to 500; 50 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 500))]
    pub limit: Option<u32>,
    /// Alerts skipped before the page; 0 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u32>,
}

/// A comma-separated list in a query string: `state=open,resolved`. Each
/// word is read as a `T` by its serde name, so a wrong one is refused with
/// the accepted names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Comma<T>(pub Vec<T>);

/// What a [`Comma`] list holds: values named by one word, their serde name.
pub trait Word: Copy {
    fn word(self) -> &'static str;
}

impl Word for StateFilter {
    fn word(self) -> &'static str {
        match self {
            StateFilter::Open => "open",
            StateFilter::Pending => "pending",
            StateFilter::Firing => "firing",
            StateFilter::Acknowledged => "acknowledged",
            StateFilter::Resolved => "resolved",
        }
    }
}

impl Word for Severity {
    fn word(self) -> &'static str {
        self.as_str()
    }
}

impl<T: Word> Serialize for Comma<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let words: Vec<&str> = self.0.iter().map(|v| v.word()).collect();
        s.serialize_str(&words.join(","))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Comma<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.split(',')
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(|w| T::deserialize(w.to_owned().into_deserializer()))
            .collect::<Result<Vec<T>, de::value::Error>>()
            .map(Comma)
            .map_err(de::Error::custom)
    }
}

/// `GET stream/`: a ticket from `stream-ticket/` (when tokens are needed) and
/// where to resume.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// A ticket from `POST stream-ticket/` (an `EventSource` cannot send
    /// `Authorization`); one use, 30 s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// As `Last-Event-ID`, for a new `EventSource` that resumes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event_id: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_go_to_strings_and_back() {
        let q = MetricsQuery {
            source: Some(Source::Requests),
            service: Some("shop & co".into()),
            endpoint: Some("/api/orders/{id}".into()),
            ..MetricsQuery::default()
        }
        .with_range(TimeRange {
            range: Some("1h".into()),
            points: Some(300),
            ..TimeRange::default()
        });
        let text = serde_urlencoded::to_string(&q).expect("serialise");
        assert_eq!(
            text,
            "range=1h&points=300&source=requests&service=shop+%26+co&endpoint=%2Fapi%2Forders%2F%7Bid%7D"
        );
        let back: MetricsQuery = serde_urlencoded::from_str(&text).expect("parse");
        assert_eq!(back, q);
        assert_eq!(
            serde_urlencoded::to_string(MetricsQuery::default()).expect("empty"),
            ""
        );
    }

    #[test]
    fn words_are_the_serde_names() {
        for s in [
            StateFilter::Open,
            StateFilter::Pending,
            StateFilter::Firing,
            StateFilter::Acknowledged,
            StateFilter::Resolved,
        ] {
            let back: StateFilter = serde_urlencoded::from_str::<Vec<(String, StateFilter)>>(
                &format!("s={}", s.word()),
            )
            .expect("parse")[0]
                .1;
            assert_eq!(back, s);
        }
    }

    #[test]
    fn lists_are_comma_separated_and_checked_word_by_word() {
        let q: AlertsQuery =
            serde_urlencoded::from_str("state=open,resolved&severity=high&limit=10")
                .expect("parse");
        assert_eq!(
            q.state,
            Some(Comma(vec![StateFilter::Open, StateFilter::Resolved]))
        );
        assert_eq!(q.severity, Some(Comma(vec![Severity::High])));
        assert_eq!(
            serde_urlencoded::to_string(&q).expect("serialise"),
            "state=open%2Cresolved&severity=high&limit=10"
        );
        let err = serde_urlencoded::from_str::<AlertsQuery>("state=open,later")
            .expect_err("a wrong state");
        assert!(err.to_string().contains("later"), "{err}");
        let err = serde_urlencoded::from_str::<AlertsQuery>("colour=red").expect_err("unknown");
        assert!(err.to_string().contains("colour"), "{err}");
        let err = serde_urlencoded::from_str::<MetricsQuery>("from=yesterday").expect_err("number");
        assert!(err.to_string().contains("invalid digit"), "{err}");
    }
}

/// `GET scaling-actions/`: the audit log's filters and page, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct ScalingActionsQuery {
    /// One configuration's actions (its id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<i64>,
    /// Actions by this actor (a token's name, or `vigie` for automatic mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<crate::ScalingOutcome>,
    /// Started at or after, Unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<i64>,
    /// Started at or before, Unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<i64>,
    /// 1 to 500; 50 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 500))]
    pub limit: Option<u32>,
    /// Actions skipped before the page; 0 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u32>,
}

/// `GET reports/`: a page, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct ReportsQuery {
    /// 1 to 500; 50 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 500))]
    pub limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u32>,
}

/// `GET reports/{id}/download`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct DownloadQuery {
    #[cfg_attr(feature = "openapi", param(value_type = String))]
    pub format: crate::ReportFormat,
}

/// `GET recommendations/`: the period looked at, the last 24 hours when
/// absent; at most 31 days.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct RecommendationsQuery {
    /// Start, Unix ms; a day before `to` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<i64>,
    /// End, Unix ms; now when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<i64>,
}
