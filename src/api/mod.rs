//! The one place where the dashboard talks to `vigie-server`: JSON over HTTP
//! (gloo-net) and the live stream (EventSource). The API origin comes from
//! `config.json`, read once at start-up next to `index.html`, and defaults to the
//! page's own origin: the same build runs from the server, from a CDN, or in
//! another site's iframe.

mod fetched;
mod stream;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use gloo_net::http::{Method, Request, RequestBuilder, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use vigie_api::{
    AcknowledgeAlert, Alert, AlertList, AlertRule, AlertRuleList, AlertRuleSpec, AlertState,
    AlertsQuery, AutoScalingStatus, CacheQuery, CacheReport, CacheSourceList, Comma,
    DashboardConfig, DatabaseSourceList, DownloadQuery, EndpointList, EndpointsQuery, ErrorBody,
    MetricsQuery, MetricsResponse, MonitoringState, RecommendationList, RecommendationsQuery,
    ReportFormat, ReportInfo, ReportList, ReportRequest, ReportSchedule, ReportScheduleList,
    ReportScheduleSpec, ReportsQuery, ResolveAlert, Role, ScalingAction, ScalingActionList,
    ScalingActionsQuery, ScalingConfig, ScalingConfigSpec, ScalingRequest, ScalingScope, Severity,
    SlowQueriesQuery, SlowQueryDetail, SlowQueryList, Source, StreamTicket, SystemResources,
    SystemResourcesQuery, Target, TargetList, TargetSpec, TimeRange, paths,
};

pub use fetched::Fetched;
pub use stream::{Connection, LiveStream, StreamHandlers};
pub use vigie_api::{EndpointSort, Range};

/// Why a call to the API failed. Network failures are kept apart from the
/// server's own answers, because only the former are worth retrying.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClientError {
    /// No answer: server down, network gone, CORS refused.
    #[error("cannot reach the server: {0}")]
    Network(String),
    /// The server answered with an error status and its JSON body (which
    /// names the field at fault when the input was bad).
    #[error("the server answered {status}: {}", .body.error)]
    Api { status: u16, body: ErrorBody },
    /// The answer was not what the contract says.
    #[error("unexpected answer: {0}")]
    Decode(String),
}

impl ClientError {
    /// The server wants a token (none was given, or a wrong one).
    pub fn needs_token(&self) -> bool {
        matches!(self, ClientError::Api { status: 401, .. })
    }

    /// The token given has too low a role for this; the role needed.
    pub fn needs_role(&self) -> Option<Role> {
        match self {
            ClientError::Api { status: 403, body } => body.required_role,
            _ => None,
        }
    }

    /// What to tell a person: the server's own words for its refusals.
    pub fn message(&self) -> String {
        match self {
            ClientError::Api { body, .. } => body.error.clone(),
            other => other.to_string(),
        }
    }

    /// The request field the server named as wrong, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            ClientError::Api { body, .. } => body.field.as_deref(),
            _ => None,
        }
    }
}

/// Address of the API and the token, if one was given; cheap to
/// clone, provided once at the root as context.
#[derive(Debug, Clone)]
pub struct ApiClient {
    base: String,
    /// Sent with every request. Stand-alone, kept in the tab's session
    /// storage (never a cookie, never a URL), so it goes when the tab does;
    /// in a portal, held in memory only ([`ApiClient::in_memory`]).
    token: Arc<RwLock<Option<String>>>,
    persist: bool,
}

const TOKEN_KEY: &str = "vigie.operator_token";

/// The tab's session storage (none outside a browser, e.g. in native tests).
fn session_storage() -> Option<web_sys::Storage> {
    if cfg!(target_arch = "wasm32") {
        web_sys::window()?.session_storage().ok().flatten()
    } else {
        None
    }
}

/// Attempts for a request that failed on the network, and the first wait.
const ATTEMPTS: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(300);

impl ApiClient {
    /// `base` is an origin with an optional path prefix; a trailing `/` is ignored.
    pub fn new(base: &str) -> Self {
        let saved = session_storage().and_then(|s| s.get_item(TOKEN_KEY).ok().flatten());
        ApiClient {
            base: base.trim_end_matches('/').to_owned(),
            token: Arc::new(RwLock::new(saved)),
            persist: true,
        }
    }

    /// A client whose token lives in memory only: the portal hands it over
    /// and renews it.
    pub fn in_memory(base: &str) -> Self {
        ApiClient {
            base: base.trim_end_matches('/').to_owned(),
            token: Arc::new(RwLock::new(None)),
            persist: false,
        }
    }

    /// Uses `token` for changes from now on (`None` forgets it).
    pub fn set_token(&self, token: Option<String>) {
        let token = token.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
        if let Some(storage) = session_storage().filter(|_| self.persist) {
            let _ = match &token {
                Some(t) => storage.set_item(TOKEN_KEY, t),
                None => storage.remove_item(TOKEN_KEY),
            };
        }
        if let Ok(mut held) = self.token.write() {
            *held = token;
        }
    }

    fn authorization(&self) -> Option<String> {
        self.token
            .read()
            .ok()?
            .as_ref()
            .map(|t| format!("Bearer {t}"))
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Absolute URL of an API path such as [`paths::SYSTEM_RESOURCES`], with the
    /// trailing slash the seed API uses.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}/", self.base, path.trim_end_matches('/'))
    }

    /// `GET` a JSON document, retrying network failures with a growing wait.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.get_json_url(&self.url(path)).await
    }

    /// `GET path?query`, the query serialised from its `vigie_api` type.
    /// The URL of `path` with `query` as its query string.
    pub fn query_url<Q: Serialize>(&self, path: &str, query: &Q) -> Result<String, ClientError> {
        let query =
            serde_urlencoded::to_string(query).map_err(|e| ClientError::Decode(e.to_string()))?;
        Ok(format!("{}?{query}", self.url(path)))
    }

    async fn get_query<Q: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        query: &Q,
    ) -> Result<T, ClientError> {
        self.get_json_url(&self.query_url(path, query)?).await
    }

    async fn get_json_url<T: DeserializeOwned>(&self, url: &str) -> Result<T, ClientError> {
        self.get_document(url)
            .await?
            .decode()
            .map_err(ClientError::Decode)
    }

    /// The JSON document `url` answers, not yet read into a type.
    pub async fn get_document(&self, url: &str) -> Result<crate::json::Document, ClientError> {
        crate::json::Document::parse(&self.get_text(url).await?).map_err(ClientError::Decode)
    }

    /// The body of a `GET` (the one copy of the retry loop, whatever type
    /// the answer is decoded to).
    async fn get_text(&self, url: &str) -> Result<String, ClientError> {
        let mut wait = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            let mut request = Request::get(url);
            if let Some(auth) = self.authorization() {
                request = request.header("Authorization", &auth);
            }
            match request.send().await {
                Ok(resp) => return answer(resp).await,
                Err(e) if attempt >= ATTEMPTS => return Err(ClientError::Network(e.to_string())),
                Err(_) => {
                    sleep(wait).await;
                    wait *= 2;
                    attempt += 1;
                }
            }
        }
    }

    /// Sends a JSON body (or none) and decodes the JSON answer. Not retried:
    /// a change must not be applied twice because an answer was lost.
    async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        url: &str,
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        // Every change is JSON, even without fields: the server refuses
        // other content types (a cross-site form could send those).
        let text = match body {
            Some(b) => crate::json::to_string(b).map_err(ClientError::Decode)?,
            None => "{}".to_owned(),
        };
        parse(&self.send_text(method, url, text).await?)
    }

    async fn send_text(
        &self,
        method: Method,
        url: &str,
        text: String,
    ) -> Result<String, ClientError> {
        let mut builder = RequestBuilder::new(url).method(method);
        if let Some(auth) = self.authorization() {
            builder = builder.header("Authorization", &auth);
        }
        let request = builder
            .header("Content-Type", "application/json")
            .body(text)
            .map_err(|e| ClientError::Decode(e.to_string()))?;
        let resp = request
            .send()
            .await
            .map_err(|e| ClientError::Network(e.to_string()))?;
        answer(resp).await
    }

    /// A single-use ticket for the live stream (an `EventSource` cannot
    /// send the token).
    pub async fn stream_ticket(&self) -> Result<StreamTicket, ClientError> {
        self.send::<(), _>(Method::POST, &self.url(paths::STREAM_TICKET), None)
            .await
    }

    pub fn has_token(&self) -> bool {
        self.token.read().is_ok_and(|t| t.is_some())
    }

    /// A host's resources: this one (`None`) or the one behind a node_exporter
    /// target; with a window, also its stored samples bucketed (`history`).
    pub async fn system_resources_of(
        &self,
        host: Option<i64>,
        window: Option<&Window>,
    ) -> Result<SystemResources, ClientError> {
        let query = SystemResourcesQuery {
            host,
            ..SystemResourcesQuery::default()
        }
        .with_range(window.map(Window::time_range).unwrap_or_default());
        self.get_query(paths::SYSTEM_RESOURCES, &query).await
    }

    /// Response-time figures over `range` (`5m`, `1h`...) or `[from, to]` ms,
    /// of the probes or of an endpoint's requests.
    pub async fn metrics(
        &self,
        window: &Window,
        scope: &Scope,
    ) -> Result<MetricsResponse, ClientError> {
        let query = scope.metrics_query().with_range(window.time_range());
        self.get_query(paths::METRICS, &query).await
    }

    /// Endpoints over a window, worst first by `sort`: of the ingested
    /// requests, or of a Prometheus target's histograms (`scraped_from`).
    pub async fn endpoints(
        &self,
        window: &Window,
        sort: EndpointSort,
        scraped_from: Option<i64>,
    ) -> Result<EndpointList, ClientError> {
        let query = EndpointsQuery {
            source: scraped_from.map(|_| Source::Scrape),
            target: scraped_from,
            sort: Some(sort),
            ..EndpointsQuery::default()
        }
        .with_range(window.time_range());
        self.get_query(paths::ENDPOINTS, &query).await
    }

    /// The Redis servers watched, with their live state.
    pub async fn cache_sources(&self) -> Result<CacheSourceList, ClientError> {
        self.get_json(paths::CACHE_SOURCES).await
    }

    /// Every cache source's figures over `window` (a series of `points`).
    pub async fn cache_performance(&self, window: &Window) -> Result<CacheReport, ClientError> {
        let query = CacheQuery::default().with_range(window.time_range());
        self.get_query(paths::CACHE_PERFORMANCE, &query).await
    }

    /// The PostgreSQL databases watched, with their live state.
    pub async fn database_sources(&self) -> Result<DatabaseSourceList, ClientError> {
        self.get_json(paths::DATABASE_SOURCES).await
    }

    /// Each database's tables, indexes and buffer cache over `window`.
    pub async fn database_insights(
        &self,
        window: &Window,
    ) -> Result<vigie_api::DatabaseInsightList, ClientError> {
        let query = vigie_api::DatabaseInsightsQuery::default().with_range(window.time_range());
        self.get_query(paths::DATABASE_INSIGHTS, &query).await
    }

    /// The statements over `window` whose mean is at least `threshold_ms`.
    pub async fn slow_queries(
        &self,
        window: &Window,
        threshold_ms: f64,
    ) -> Result<SlowQueryList, ClientError> {
        let query = SlowQueriesQuery {
            threshold_ms: Some(threshold_ms),
            ..SlowQueriesQuery::default()
        }
        .with_range(window.time_range());
        self.get_query(paths::SLOW_QUERIES, &query).await
    }

    /// One statement of `source` over `window`: its plan, advice and history.
    pub async fn slow_query(
        &self,
        source: i64,
        hash: &str,
        window: &Window,
    ) -> Result<SlowQueryDetail, ClientError> {
        let query = SlowQueriesQuery {
            source: Some(source),
            ..SlowQueriesQuery::default()
        }
        .with_range(window.time_range());
        let path = format!("{}/{hash}", paths::SLOW_QUERIES);
        self.get_query(&path, &query).await
    }

    pub async fn targets(&self) -> Result<TargetList, ClientError> {
        self.get_json(paths::TARGETS).await
    }

    pub async fn create_target(&self, spec: &TargetSpec) -> Result<Target, ClientError> {
        self.create_in(paths::TARGETS, spec).await
    }

    pub async fn replace_target(&self, id: i64, spec: &TargetSpec) -> Result<Target, ClientError> {
        self.replace_in(paths::TARGETS, id, spec).await
    }

    pub async fn delete_target(&self, id: i64) -> Result<(), ClientError> {
        self.delete_in(paths::TARGETS, id).await
    }

    /// `POST`s `item` to the collection at `path`: the item stored.
    pub async fn create_in<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        item: &B,
    ) -> Result<T, ClientError> {
        self.send(Method::POST, &self.url(path), Some(item)).await
    }

    /// `PUT`s `item` as item `id` of the collection at `path`.
    pub async fn replace_in<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        id: i64,
        item: &B,
    ) -> Result<T, ClientError> {
        let url = self.url(&format!("{path}/{id}"));
        self.send(Method::PUT, &url, Some(item)).await
    }

    /// `DELETE`s item `id` of the collection at `path`.
    pub async fn delete_in(&self, path: &str, id: i64) -> Result<(), ClientError> {
        self.delete(&self.url(&format!("{path}/{id}"))).await
    }

    /// `DELETE`s `url`, which answers 204 without a body.
    async fn delete(&self, url: &str) -> Result<(), ClientError> {
        let mut request = Request::delete(url);
        if let Some(auth) = self.authorization() {
            request = request.header("Authorization", &auth);
        }
        let resp = request
            .send()
            .await
            .map_err(|e| ClientError::Network(e.to_string()))?;
        match resp.status() {
            204 => Ok(()),
            _ => decode::<()>(resp).await,
        }
    }

    /// Starts or stops monitoring; returns the new state.
    pub async fn set_monitoring(&self, on: bool) -> Result<MonitoringState, ClientError> {
        let path = if on {
            paths::START_MONITORING
        } else {
            paths::STOP_MONITORING
        };
        self.send::<(), _>(Method::POST, &self.url(path), None)
            .await
    }

    /// Alerts matching `query`, one page of them, with the open count.
    pub async fn alerts(&self, query: &AlertQuery) -> Result<AlertList, ClientError> {
        self.get_query(paths::ALERTS, &query.to_wire()).await
    }

    /// Resolves an alert with the operator's note; returns it resolved.
    pub async fn resolve_alert(&self, body: &ResolveAlert) -> Result<Alert, ClientError> {
        self.send(Method::POST, &self.url(paths::RESOLVE_ALERT), Some(body))
            .await
    }

    /// Says an operator is on a firing alert; returns it acknowledged.
    pub async fn acknowledge_alert(&self, body: &AcknowledgeAlert) -> Result<Alert, ClientError> {
        self.send(
            Method::POST,
            &self.url(paths::ACKNOWLEDGE_ALERT),
            Some(body),
        )
        .await
    }

    pub async fn alert_rules(&self) -> Result<AlertRuleList, ClientError> {
        self.get_json(paths::ALERT_RULES).await
    }

    /// Replaces a rule (also how it is disabled: `enabled: false`).
    pub async fn replace_alert_rule(
        &self,
        id: i64,
        spec: &AlertRuleSpec,
    ) -> Result<AlertRule, ClientError> {
        self.replace_in(paths::ALERT_RULES, id, spec).await
    }

    /// Deletes a rule; the server resolves its open alert.
    pub async fn delete_alert_rule(&self, id: i64) -> Result<(), ClientError> {
        self.delete_in(paths::ALERT_RULES, id).await
    }

    /// Every scaling configuration with its instances, trigger, cooldown
    /// and what automatic mode would do.
    pub async fn auto_scaling_status(&self) -> Result<AutoScalingStatus, ClientError> {
        self.get_json(paths::AUTO_SCALING_STATUS).await
    }

    /// Scales by hand. A refusal (cooldown, bounds, an action under way, the
    /// executor failing) comes back as the server's error, naming the field.
    pub async fn execute_scaling_action(
        &self,
        body: &ScalingRequest,
    ) -> Result<ScalingAction, ClientError> {
        self.send(
            Method::POST,
            &self.url(paths::EXECUTE_SCALING_ACTION),
            Some(body),
        )
        .await
    }

    pub async fn create_scaling_config(
        &self,
        spec: &ScalingConfigSpec,
    ) -> Result<ScalingConfig, ClientError> {
        self.create_in(paths::SCALING_CONFIGURATIONS, spec).await
    }

    /// Replaces a configuration (also how automatic mode is switched).
    pub async fn replace_scaling_config(
        &self,
        id: i64,
        spec: &ScalingConfigSpec,
    ) -> Result<ScalingConfig, ClientError> {
        self.replace_in(paths::SCALING_CONFIGURATIONS, id, spec)
            .await
    }

    /// Deletes a configuration; its actions stay in the audit log.
    pub async fn delete_scaling_config(&self, id: i64) -> Result<(), ClientError> {
        self.delete_in(paths::SCALING_CONFIGURATIONS, id).await
    }

    /// A page of the scaling audit log, newest first.
    pub async fn scaling_actions(
        &self,
        query: &ScalingActionsQuery,
    ) -> Result<ScalingActionList, ClientError> {
        self.get_query(paths::SCALING_ACTIONS, query).await
    }

    /// Starts generating a report; answered at once with the queued job.
    pub async fn generate_report(&self, body: &ReportRequest) -> Result<ReportInfo, ClientError> {
        self.send(Method::POST, &self.url(paths::GENERATE_REPORT), Some(body))
            .await
    }

    /// A page of reports, newest first.
    pub async fn reports(&self, offset: u32, limit: u32) -> Result<ReportList, ClientError> {
        let query = ReportsQuery {
            limit: Some(limit),
            offset: Some(offset),
        };
        self.get_query(paths::REPORTS, &query).await
    }

    /// One report: its status, progress and files.
    pub async fn report(&self, id: i64) -> Result<ReportInfo, ClientError> {
        self.get_json(&format!("{}/{id}", paths::REPORTS)).await
    }

    /// Where report `id`'s file of `format` is downloaded from.
    pub fn report_download_url(&self, id: i64, format: ReportFormat) -> String {
        let query = serde_urlencoded::to_string(DownloadQuery { format }).unwrap_or_default();
        format!(
            "{}?{query}",
            self.url(&format!("{}/{id}/download", paths::REPORTS))
        )
    }

    /// Downloads `url` with the token and hands it to the browser as the
    /// file `fallback_name` (or the name the server gives): what a link
    /// cannot do, since it sends no `Authorization` header.
    pub async fn download_with_token(
        &self,
        url: &str,
        fallback_name: &str,
    ) -> Result<(), ClientError> {
        let mut request = Request::get(url);
        if let Some(auth) = self.authorization() {
            request = request.header("Authorization", &auth);
        }
        let resp = request
            .send()
            .await
            .map_err(|e| ClientError::Network(e.to_string()))?;
        if !(200..300).contains(&resp.status()) {
            return decode::<()>(resp).await;
        }
        let name = resp
            .headers()
            .get("content-disposition")
            .and_then(|h| attachment_name(&h))
            .unwrap_or_else(|| fallback_name.to_owned());
        let media = resp.headers().get("content-type").unwrap_or_default();
        let bytes = resp
            .binary()
            .await
            .map_err(|e| ClientError::Network(e.to_string()))?;
        save_file(&bytes, &media, &name).map_err(ClientError::Decode)
    }

    /// Stops a report being generated; answers with it (cancelled, or as
    /// it stood when the job had not stopped yet).
    pub async fn cancel_report(&self, id: i64) -> Result<ReportInfo, ClientError> {
        let url = self.url(&format!("{}/{id}/cancel", paths::REPORTS));
        self.send::<(), _>(Method::POST, &url, None).await
    }

    /// Deletes a report and its files (a running one is cancelled).
    pub async fn delete_report(&self, id: i64) -> Result<(), ClientError> {
        self.delete_in(paths::REPORTS, id).await
    }

    pub async fn report_schedules(&self) -> Result<ReportScheduleList, ClientError> {
        self.get_json(paths::REPORT_SCHEDULES).await
    }

    /// Replaces a schedule (also how it is disabled: `enabled: false`).
    pub async fn replace_report_schedule(
        &self,
        id: i64,
        spec: &ReportScheduleSpec,
    ) -> Result<ReportSchedule, ClientError> {
        self.replace_in(paths::REPORT_SCHEDULES, id, spec).await
    }

    /// Deletes a schedule; the reports it made stay.
    pub async fn delete_report_schedule(&self, id: i64) -> Result<(), ClientError> {
        self.delete_in(paths::REPORT_SCHEDULES, id).await
    }

    /// The services of the requests ingested over `window` (from the
    /// endpoint ranking), sorted, each once.
    pub async fn services(&self, window: &Window) -> Result<Vec<String>, ClientError> {
        let query = EndpointsQuery {
            sort: Some(EndpointSort::Count),
            limit: Some(1000),
            ..EndpointsQuery::default()
        }
        .with_range(window.time_range());
        let list: EndpointList = self.get_query(paths::ENDPOINTS, &query).await?;
        let mut services: Vec<String> = list.endpoints.into_iter().map(|e| e.service).collect();
        services.sort();
        services.dedup();
        Ok(services)
    }

    /// Advice drawn from the measurements over `[from, to]` (Unix ms; the
    /// last day when absent), most severe first.
    pub async fn recommendations(
        &self,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<RecommendationList, ClientError> {
        self.get_query(paths::RECOMMENDATIONS, &RecommendationsQuery { from, to })
            .await
    }

    /// The stored figures a scaling trigger is measured on, over `window`:
    /// a host's resources (this one or a node_exporter target's), or the
    /// response figures of a target's probes or of a service's requests.
    pub async fn trigger_history(
        &self,
        scope: &ScalingScope,
        window: &Window,
    ) -> Result<TriggerHistory, ClientError> {
        let responses = |query: MetricsQuery| query.with_range(window.time_range());
        match scope {
            ScalingScope::Host => self
                .system_resources_of(None, Some(window))
                .await
                .map(TriggerHistory::Host),
            ScalingScope::Node { target_id } => self
                .system_resources_of(Some(*target_id), Some(window))
                .await
                .map(TriggerHistory::Host),
            ScalingScope::Target { target_id } => {
                let query = responses(MetricsQuery {
                    target: Some(*target_id),
                    ..MetricsQuery::default()
                });
                self.get_query(paths::METRICS, &query)
                    .await
                    .map(TriggerHistory::Responses)
            }
            ScalingScope::Requests { service, endpoint } => {
                let query = responses(MetricsQuery {
                    source: Some(Source::Requests),
                    service: Some(service.clone()),
                    endpoint: endpoint.clone(),
                    ..MetricsQuery::default()
                });
                self.get_query(paths::METRICS, &query)
                    .await
                    .map(TriggerHistory::Responses)
            }
        }
    }
}

/// What [`ApiClient::trigger_history`] answers, by the kind of scope.
#[derive(Debug, Clone, PartialEq)]
pub enum TriggerHistory {
    /// CPU and memory of a host (with `history` over the window).
    Host(SystemResources),
    /// Response figures over the window.
    Responses(MetricsResponse),
}

/// Which alerts by state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum StateFilter {
    #[default]
    Any,
    /// Not resolved: pending, firing or acknowledged.
    Open,
    /// In one of these states.
    In(Vec<AlertState>),
}

/// Filters and page of `GET alerts/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertQuery {
    pub state: StateFilter,
    /// Any severity when empty.
    pub severities: Vec<Severity>,
    /// Alerts whose life overlaps `[from, to]`, Unix ms.
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// `Some(true)`: only alerts that fired; `Some(false)`: only those that
    /// cleared before firing.
    pub fired: Option<bool>,
    /// 1 to 500.
    pub limit: u32,
    pub offset: u32,
}

impl Default for AlertQuery {
    fn default() -> Self {
        AlertQuery {
            state: StateFilter::Any,
            severities: Vec::new(),
            from: None,
            to: None,
            fired: None,
            limit: 50,
            offset: 0,
        }
    }
}

impl AlertQuery {
    /// The query as the server reads it.
    pub fn to_wire(&self) -> AlertsQuery {
        let word = |s: AlertState| match s {
            AlertState::Pending => vigie_api::StateFilter::Pending,
            AlertState::Firing => vigie_api::StateFilter::Firing,
            AlertState::Acknowledged => vigie_api::StateFilter::Acknowledged,
            AlertState::Resolved => vigie_api::StateFilter::Resolved,
        };
        AlertsQuery {
            state: match &self.state {
                StateFilter::Any => None,
                StateFilter::Open => Some(Comma(vec![vigie_api::StateFilter::Open])),
                StateFilter::In(states) => Some(Comma(states.iter().copied().map(word).collect())),
            },
            severity: (!self.severities.is_empty()).then(|| Comma(self.severities.clone())),
            from: self.from,
            to: self.to,
            fired: self.fired,
            limit: Some(self.limit),
            offset: Some(self.offset),
        }
    }
}

/// What a response-time view summarises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Vigie's probes, of one target or all.
    Probes(Option<i64>),
    /// One endpoint of one service, from the ingested requests.
    Requests { service: String, endpoint: String },
    /// One route of a Prometheus target, from its scraped histograms.
    Scraped { target: i64, endpoint: String },
}

impl Scope {
    /// The scope's part of a `metrics/` query.
    pub fn metrics_query(&self) -> MetricsQuery {
        match self {
            Scope::Probes(target) => MetricsQuery {
                target: *target,
                ..MetricsQuery::default()
            },
            Scope::Requests { service, endpoint } => MetricsQuery {
                source: Some(Source::Requests),
                service: Some(service.clone()),
                endpoint: Some(endpoint.clone()),
                ..MetricsQuery::default()
            },
            Scope::Scraped { target, endpoint } => MetricsQuery {
                source: Some(Source::Scrape),
                target: Some(*target),
                endpoint: Some(endpoint.clone()),
                ..MetricsQuery::default()
            },
        }
    }
}

/// How a ranking order is named on screen.
pub fn sort_label(sort: EndpointSort) -> &'static str {
    match sort {
        EndpointSort::P95 => "slowest (p95)",
        EndpointSort::ErrorRate => "most errors",
        EndpointSort::Count => "busiest",
    }
}

/// What a chart asks the server for: a span of time and a point budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub span: Span,
    pub points: u32,
}

impl Window {
    /// The window as the time range of a query.
    pub fn time_range(&self) -> TimeRange {
        let (range, from, to) = match self.span {
            Span::Last(range) => (Some(range.as_str().to_owned()), None, None),
            Span::Between(from, to) => (None, Some(from), Some(to)),
        };
        TimeRange {
            range,
            from,
            to,
            points: Some(self.points),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// Ending now.
    Last(Range),
    /// A zoomed-in part, Unix ms.
    Between(i64, i64),
}

async fn decode<T: DeserializeOwned>(resp: Response) -> Result<T, ClientError> {
    parse(&answer(resp).await?)
}

fn parse<T: DeserializeOwned>(text: &str) -> Result<T, ClientError> {
    crate::json::from_str(text).map_err(ClientError::Decode)
}

/// The body of a successful answer, or the server's error.
async fn answer(resp: Response) -> Result<String, ClientError> {
    let status = resp.status();
    if status == 401 {
        crate::bridge::token_refused();
    }
    let text = resp.text().await.map_err(|e| e.to_string());
    if (200..300).contains(&status) {
        return text.map_err(ClientError::Decode);
    }
    let body = text
        .and_then(|t| crate::json::from_str::<ErrorBody>(&t))
        .unwrap_or_else(|_| ErrorBody {
            error: resp.status_text(),
            field: None,
            required_role: None,
        });
    Err(ClientError::Api { status, body })
}

/// The file name of a `Content-Disposition: attachment; filename="…"`.
pub fn attachment_name(header: &str) -> Option<String> {
    let (_, rest) = header.split_once("filename=")?;
    let name = rest.split(';').next()?.trim().trim_matches('"');
    // A name, not a path.
    let name = name.rsplit(['/', '\\']).next()?;
    (!name.is_empty()).then(|| name.to_owned())
}

/// Hands `bytes` to the browser as a downloaded file named `name`: a link
/// to an object URL, clicked, then the URL let go.
fn save_file(bytes: &[u8], media_type: &str, name: &str) -> Result<(), String> {
    use wasm_bindgen::JsCast;
    let fail =
        |e: wasm_bindgen::JsValue| format!("cannot save the file: {}", crate::json::describe(&e));
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(media_type);
    let blob =
        web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options).map_err(fail)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(fail)?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let link: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(fail)?
        .dyn_into()
        .map_err(|_| "not a link".to_owned())?;
    link.set_href(&url);
    link.set_download(name);
    link.click();
    // The browser has started the download by then.
    leptos::prelude::set_timeout(
        move || {
            let _ = web_sys::Url::revoke_object_url(&url);
        },
        Duration::from_secs(60),
    );
    Ok(())
}

/// Waits `d` without blocking the page.
pub async fn sleep(d: Duration) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
                &resolve,
                d.as_millis() as i32,
            );
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Reads `config.json` next to `index.html`. A missing file means
/// defaults; a malformed one is an error shown to the user.
pub async fn load_config() -> Result<DashboardConfig, ClientError> {
    let resp = Request::get("config.json")
        .send()
        .await
        .map_err(|e| ClientError::Network(e.to_string()))?;
    match resp.status() {
        404 => Ok(DashboardConfig::default()),
        _ => decode::<DashboardConfig>(resp).await,
    }
}

/// The API base `config` names, else the page's origin.
pub fn api_base(config: &DashboardConfig) -> String {
    resolve_base(config.api_base.as_deref(), &page_origin())
}

fn page_origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}

/// The API base: the configured one when set, else the page's origin.
pub fn resolve_base(configured: Option<&str>, origin: &str) -> String {
    match configured.map(str::trim) {
        Some(base) if !base.is_empty() => base.trim_end_matches('/').to_owned(),
        _ => origin.trim_end_matches('/').to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_defaults_to_the_page_origin() {
        assert_eq!(
            resolve_base(None, "http://127.0.0.1:8080"),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            resolve_base(Some("  "), "https://cdn.example"),
            "https://cdn.example"
        );
        assert_eq!(
            resolve_base(Some("https://vigie.example/sub/"), "https://cdn.example"),
            "https://vigie.example/sub"
        );
    }

    #[test]
    fn windows_become_query_parameters() {
        let last = Window {
            span: Span::Last(Range::H1),
            points: 300,
        };
        let q = |w: &Window| {
            serde_urlencoded::to_string(MetricsQuery::default().with_range(w.time_range()))
                .expect("encode")
        };
        assert_eq!(q(&last), "range=1h&points=300");
        let zoomed = Window {
            span: Span::Between(10, 20),
            points: 5,
        };
        assert_eq!(q(&zoomed), "from=10&to=20&points=5");
    }

    #[test]
    fn alert_queries_leave_out_what_is_unset() {
        let q = |a: &AlertQuery| serde_urlencoded::to_string(a.to_wire()).expect("encode");
        assert_eq!(q(&AlertQuery::default()), "limit=50&offset=0");
        let query = AlertQuery {
            state: StateFilter::In(vec![AlertState::Firing, AlertState::Acknowledged]),
            severities: vec![Severity::Critical, Severity::High],
            from: Some(10),
            to: Some(20),
            fired: Some(true),
            limit: 100,
            offset: 40,
        };
        assert_eq!(
            q(&query),
            "state=firing%2Cacknowledged&severity=critical%2Chigh&from=10&to=20&fired=true&limit=100&offset=40"
        );
        let open = AlertQuery {
            state: StateFilter::Open,
            limit: 1,
            ..AlertQuery::default()
        };
        assert_eq!(q(&open), "state=open&limit=1&offset=0");
    }

    #[test]
    fn report_downloads_have_their_format_and_name() {
        let client = ApiClient::new("https://vigie.example/sub");
        assert_eq!(
            client.report_download_url(7, ReportFormat::Csv),
            "https://vigie.example/sub/api/performance/reports/7/download/?format=csv"
        );
        assert_eq!(
            attachment_name("attachment; filename=\"vigie-report-7-2024-05-01.csv\"").as_deref(),
            Some("vigie-report-7-2024-05-01.csv")
        );
        assert_eq!(
            attachment_name("attachment; filename=\"../x/r.json\""),
            Some("r.json".into())
        );
        assert_eq!(attachment_name("inline"), None);
    }

    #[test]
    fn urls_keep_the_seed_trailing_slash_and_the_base_path() {
        let client = ApiClient::new("https://vigie.example/sub/");
        assert_eq!(
            client.url(paths::SYSTEM_RESOURCES),
            "https://vigie.example/sub/api/performance/system-resources/"
        );
    }
}
