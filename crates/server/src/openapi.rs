//! The OpenAPI 3.1 document of the API, generated at start from the route
//! table ([`crate::routes`]) and the wire types of `vigie-api` (their
//! `ToSchema`/`IntoParams`, feature `openapi`), served at `/api/openapi.json`.
//!
//! Each route is declared once, in `lib.rs`, with its method, path, the role
//! it needs and an [`Op`]: the part of its documentation only its handler
//! knows (summary, query type, body type, success answers and the refusals
//! of its own), written beside the handler. What every route of a kind
//! answers is added here: 421 (the `Host` check) everywhere; 401 and 403 behind
//! a token; 415 and 429 for changes; 503 under the time limit and request
//! cap; and the security requirement and `x-vigie-role`.

use std::collections::BTreeMap;

use axum::http::Method;
use utoipa::openapi::content::Content;
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, Parameter, ParameterBuilder, ParameterIn, PathItem,
    Paths,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder, Responses};
use utoipa::openapi::schema::{ComponentsBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{InfoBuilder, OpenApi, OpenApiBuilder, OpenApiVersion, Ref, RefOr, Required};
use utoipa::{IntoParams, PartialSchema, ToSchema};
use vigie_api::ErrorBody;

use crate::ApiRoute;

/// Component schemas being collected: name and schema.
pub type Schemas = Vec<(String, RefOr<Schema>)>;

/// Puts a wire type's schema (and those it refers to) in the components;
/// gives its `$ref`.
type SchemaOf = fn(&mut Schemas) -> RefOr<Schema>;

fn schema_of<T: ToSchema>(schemas: &mut Schemas) -> RefOr<Schema> {
    let name = T::name().into_owned();
    schemas.push((name.clone(), T::schema()));
    T::schemas(schemas);
    Ref::from_schema_name(name).into()
}

/// The query parameters of a query type.
type ParamsOf = fn() -> Vec<Parameter>;

fn params_of<Q: IntoParams>() -> Vec<Parameter> {
    Q::into_params(|| Some(ParameterIn::Query))
}

/// What an answer carries.
#[derive(Debug, Clone, Copy)]
enum Body {
    Empty,
    Json(SchemaOf),
    /// Any JSON (the document itself).
    AnyJson,
    /// A text format, by media type.
    Text(&'static str),
    /// Server-Sent Events; each event's data is the JSON of [`Op::event`]'s types.
    Events,
}

#[derive(Debug, Clone, Copy)]
struct Answer {
    status: u16,
    description: &'static str,
    body: Body,
}

/// One route's own part of its OpenAPI operation, declared beside its
/// handler and handed to the route table with it.
#[derive(Debug, Clone)]
pub struct Op {
    id: &'static str,
    summary: &'static str,
    query: Option<ParamsOf>,
    /// Integer request headers: name, description.
    headers: Vec<(&'static str, &'static str)>,
    body: Option<SchemaOf>,
    answers: Vec<Answer>,
    events: Vec<(&'static str, SchemaOf)>,
}

impl Op {
    /// `id` is the `operationId`.
    pub fn new(id: &'static str, summary: &'static str) -> Op {
        Op {
            id,
            summary,
            query: None,
            headers: Vec::new(),
            body: None,
            answers: Vec::new(),
            events: Vec::new(),
        }
    }

    /// The query string, read as a `Q`.
    pub fn query<Q: IntoParams>(mut self) -> Self {
        self.query = Some(params_of::<Q>);
        self
    }

    /// An optional request header holding an integer.
    pub fn header(mut self, name: &'static str, description: &'static str) -> Self {
        self.headers.push((name, description));
        self
    }

    /// The JSON request body, a `T` (required).
    pub fn body<T: ToSchema>(mut self) -> Self {
        self.body = Some(schema_of::<T>);
        self
    }

    /// An answer whose body is the JSON of a `T`.
    pub fn json<T: ToSchema>(self, status: u16, description: &'static str) -> Self {
        self.answer(status, description, Body::Json(schema_of::<T>))
    }

    /// An answer with no body.
    pub fn empty(self, status: u16, description: &'static str) -> Self {
        self.answer(status, description, Body::Empty)
    }

    /// An answer in a text format (`media`, e.g. `text/plain`).
    pub fn text(self, status: u16, media: &'static str, description: &'static str) -> Self {
        self.answer(status, description, Body::Text(media))
    }

    /// An answer holding any JSON.
    pub fn any_json(self, status: u16, description: &'static str) -> Self {
        self.answer(status, description, Body::AnyJson)
    }

    /// A `text/event-stream` answer; [`Op::event`] names its events.
    pub fn events(self, status: u16, description: &'static str) -> Self {
        self.answer(status, description, Body::Events)
    }

    /// An event of the stream, named `name`, whose data is the JSON of a `T`:
    /// listed in the media type's `x-vigie-events`.
    pub fn event<T: ToSchema>(mut self, name: &'static str) -> Self {
        self.events.push((name, schema_of::<T>));
        self
    }

    /// A refusal of this route's own (an [`ErrorBody`]); also replaces the
    /// description of a standard one of the same status.
    pub fn error(self, status: u16, description: &'static str) -> Self {
        self.answer(status, description, Body::Json(schema_of::<ErrorBody>))
    }

    fn answer(mut self, status: u16, description: &'static str, body: Body) -> Self {
        self.answers.push(Answer {
            status,
            description,
            body,
        });
        self
    }
}

const DESCRIPTION: &str = "Measurements taken by vigie-server: this host's resources, HTTP probes of the targets the admin declares, ingested requests and Prometheus scrapes, as JSON and Server-Sent Events. Every path under /api/performance/ answers with and without its trailing slash. Errors are JSON bodies {error, field?, required_role?}; bad input is a 400 naming the field. Once any token is configured every request but /livez, /readyz, /api/openapi.json and session/ needs `Authorization: Bearer <token>` of a role that allows it (x-vigie-role of each operation; reads need viewer): 401 without one, 403 with too low a role. Every request whose Host is not one the server answers to gets 421. Changes need Content-Type: application/json (415), an Origin that is the server's own or allowed (403), and are rate-limited per token and address (429 with Retry-After). Past the cap of requests in progress, or a request's time limit, the answer is 503 with Retry-After. This document is generated from the server's route table and the wire types.";

/// Names of the security schemes.
pub const BEARER: &str = "bearerToken";
pub const TICKET: &str = "streamTicket";

/// The document of `routes`.
pub fn document<'a>(routes: impl IntoIterator<Item = &'a ApiRoute>) -> OpenApi {
    let mut schemas = Schemas::new();
    let mut paths = Paths::new();
    for route in routes {
        let operation = operation(route, &mut schemas);
        let method = http_method(&route.method);
        match paths.paths.get_mut(&route.path) {
            Some(item) => item.merge_operations(PathItem::new(method, operation)),
            None => {
                paths
                    .paths
                    .insert(route.path.clone(), PathItem::new(method, operation));
            }
        }
    }
    let components = ComponentsBuilder::new()
        .schemas_from_iter(schemas)
        .security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "a token of role viewer, operator, admin or ingest (VIGIE_*_TOKEN or VIGIE_TOKENS_FILE); needed once any token is configured",
                    ))
                    .build(),
            ),
        )
        .security_scheme(
            TICKET,
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "ticket",
                "single-use ticket from POST stream-ticket/, for the live stream only",
            ))),
        )
        .build();
    OpenApiBuilder::new()
        .openapi(OpenApiVersion::Version31)
        .info(
            InfoBuilder::new()
                .title("Vigie API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(DESCRIPTION)),
        )
        .paths(paths)
        .components(Some(components))
        .build()
}

/// [`document`] as the JSON bytes served.
pub fn to_bytes<'a>(routes: impl IntoIterator<Item = &'a ApiRoute>) -> bytes::Bytes {
    // Serialising plain data into memory cannot fail.
    serde_json::to_vec(&document(routes))
        .unwrap_or_default()
        .into()
}

fn http_method(method: &Method) -> HttpMethod {
    match *method {
        Method::POST => HttpMethod::Post,
        Method::PUT => HttpMethod::Put,
        Method::DELETE => HttpMethod::Delete,
        Method::PATCH => HttpMethod::Patch,
        Method::HEAD => HttpMethod::Head,
        Method::OPTIONS => HttpMethod::Options,
        _ => HttpMethod::Get,
    }
}

fn is_change(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn operation(route: &ApiRoute, schemas: &mut Schemas) -> Operation {
    let op = &route.op;
    let change = is_change(&route.method);
    let mut parameters = Vec::new();
    // Every path parameter of the API is an id.
    for segment in route.path.split('/') {
        if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            parameters.push(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(i64::schema()))
                    .build(),
            );
        }
    }
    for (name, description) in &op.headers {
        parameters.push(
            ParameterBuilder::new()
                .name(*name)
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(*description))
                .schema(Some(i64::schema()))
                .build(),
        );
    }
    if let Some(query) = op.query {
        parameters.extend(query());
    }

    let mut builder = OperationBuilder::new()
        .operation_id(Some(op.id))
        .summary(Some(op.summary))
        .parameters(Some(parameters).filter(|p| !p.is_empty()));
    match op.body {
        Some(body) => {
            builder = builder.request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content("application/json", Content::new(Some(body(schemas))))
                    .build(),
            ));
        }
        // Changes are sent as JSON whatever they carry (the cross-site check).
        None if matches!(route.method, Method::POST | Method::PUT) => {
            builder = builder.request_body(Some(
                RequestBodyBuilder::new()
                    .description(Some("none needed; sent as application/json if any"))
                    .required(Some(Required::False))
                    .content(
                        "application/json",
                        Content::new(Some(ObjectBuilder::new().schema_type(Type::Object))),
                    )
                    .build(),
            ));
        }
        None => {}
    }

    let mut responses: BTreeMap<u16, Response> = BTreeMap::new();
    let mut error = |status: u16, description: String, schemas: &mut Schemas| {
        responses.insert(
            status,
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    Content::new(Some(schema_of::<ErrorBody>(schemas))),
                )
                .build(),
        );
    };
    error(
        421,
        "the Host is not one this server answers to (VIGIE_ALLOWED_HOSTS)".into(),
        schemas,
    );
    if let Some(role) = route.role {
        let credential = if route.tickets {
            "a token is needed (any is configured) and none or an unknown one was given, nor an unused ticket"
        } else {
            "a token is needed (any is configured) and none or an unknown one was given"
        };
        error(401, credential.into(), schemas);
        let mut forbidden = format!(
            "the token's role is below {} (required_role names it)",
            role.as_str()
        );
        if change {
            forbidden.push_str("; or the change comes from another site's Origin");
        }
        forbidden.push_str("; or, on a server without tokens, the request came through a proxy");
        error(403, forbidden, schemas);
    }
    if change {
        if matches!(route.method, Method::POST | Method::PUT) {
            error(
                415,
                "the body is not sent as application/json".into(),
                schemas,
            );
        }
        error(
            429,
            "too many changes from this token or address; Retry-After says when to try again"
                .into(),
            schemas,
        );
    }
    if route.bounded {
        error(
            503,
            "too busy (requests in progress, time limit); Retry-After says when to try again"
                .into(),
            schemas,
        );
    }
    // The route's own answers, over the standard ones of the same status.
    for answer in &op.answers {
        let mut response = ResponseBuilder::new().description(answer.description);
        match answer.body {
            Body::Empty => {}
            Body::Json(schema) => {
                response =
                    response.content("application/json", Content::new(Some(schema(schemas))));
            }
            Body::AnyJson => {
                response = response.content(
                    "application/json",
                    Content::new(Some(ObjectBuilder::new().schema_type(Type::Object))),
                );
            }
            Body::Text(media) => {
                response = response.content(media, Content::new(Some(String::schema())));
            }
            Body::Events => {
                let mut events = serde_json::Map::new();
                for (name, schema) in &op.events {
                    let schema = serde_json::to_value(schema(schemas)).unwrap_or_default();
                    events.insert((*name).to_owned(), schema);
                }
                let mut content = Content::new(Some(String::schema()));
                content.extensions = Some(
                    ExtensionsBuilder::new()
                        .add("x-vigie-events", serde_json::Value::Object(events))
                        .build(),
                );
                response = response.content("text/event-stream", content);
            }
        }
        responses.insert(answer.status, response.build());
    }
    let mut all = Responses::new();
    for (status, response) in responses {
        all.responses.insert(status.to_string(), response.into());
    }

    let security = match route.role {
        None => Vec::new(),
        Some(_) if route.tickets => vec![
            SecurityRequirement::new(BEARER, Vec::<String>::new()),
            SecurityRequirement::new(TICKET, Vec::<String>::new()),
        ],
        Some(_) => vec![SecurityRequirement::new(BEARER, Vec::<String>::new())],
    };
    let mut operation = builder.responses(all).securities(Some(security)).build();
    // Reads need a viewer: the table gives them that role.
    if let Some(role) = route.role {
        operation.extensions = Some(
            ExtensionsBuilder::new()
                .add("x-vigie-role", role.as_str())
                .build(),
        );
    }
    operation
}
