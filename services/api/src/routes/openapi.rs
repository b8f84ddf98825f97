//! The OpenAPI 3 document's frame: the title, the error schema, the bearer scheme, and the
//! errors any call may meet. The paths are not listed here: each route module's
//! `OpenApiRouter` adds the operations it serves, so a route cannot be missing.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder, Type};
use utoipa::{Modify, OpenApi};

use crate::error::ErrorBody;

#[derive(OpenApi)]
#[openapi(
    info(title = "shippy", description = "Book consignments onto vessels. Errors are always `{\"error\": {\"code\", \"message\"}}`.",
        contact(name = "shippy's maintainers: open an issue (SECURITY.md)"),
        license(name = "MIT", identifier = "MIT")),
    // Relative: the gateway that serves this document, wherever it listens.
    servers((url = "/", description = "The gateway serving this document")),
    tags(
        (name = "users", description = "Sign up, and your own details"),
        (name = "auth", description = "Tokens: log in, log out, check one, and the keys that sign them"),
        (name = "vessels", description = "The vessels consignments are booked onto"),
        (name = "consignments", description = "Book, list and cancel your consignments"),
        (name = "logs", description = "Your activity log: a page at a time, or live"),
        (name = "health", description = "Liveness and readiness probes"),
        (name = "contracts", description = "Machine-readable contracts beside this document: the broker topics' AsyncAPI document"),
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

/// Adds to every operation of `openapi` the errors any call may meet (see [`RateLimited`]):
/// run once the routers have added their paths.
pub fn finish(openapi: &mut utoipa::openapi::OpenApi) {
    RateLimited.modify(openapi);
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .build();
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// Any API call may be refused by the per-client rate limit (429, with `Retry-After`), may
/// find a service it needs unavailable (503: retry), or may send a body over the limit (413):
/// every operation documents all three.
struct RateLimited;

impl Modify for RateLimited {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let retry_after = HeaderBuilder::new()
            .schema(utoipa::openapi::ObjectBuilder::new().schema_type(Type::Integer))
            .description(Some("Seconds to wait"))
            .build();
        let response = ResponseBuilder::new()
            .description("Too many requests from this client; wait as `Retry-After` says")
            .header("Retry-After", retry_after.clone())
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build();
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                let error = |description: &str| {
                    ResponseBuilder::new()
                        .description(description)
                        .content(
                            "application/json",
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("ErrorBody")))
                                .build(),
                        )
                        .build()
                };
                let responses = &mut operation.responses.responses;
                responses.entry("503".to_owned()).or_insert_with(|| {
                    error("A service it needs is unavailable or cut off; retry (a booking with the same Idempotency-Key)").into()
                });
                if operation.request_body.is_some() {
                    responses
                        .entry("413".to_owned())
                        .or_insert_with(|| error("The body is over the size limit").into());
                }
                let documented = operation
                    .responses
                    .responses
                    .entry("429".to_owned())
                    .or_insert_with(|| response.clone().into());
                // An operation with a 429 of its own (log-in throttling) sends the header too.
                if let RefOr::T(own) = documented {
                    own.headers
                        .entry("Retry-After".to_owned())
                        .or_insert_with(|| retry_after.clone());
                }
            }
        }
    }
}
