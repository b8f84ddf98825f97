//! The OpenAPI 3 document, generated from the handlers' annotations and the DTOs' types.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{consignments, health, logs, users, vessels};
use crate::error::ErrorBody;

#[derive(OpenApi)]
#[openapi(
    info(title = "shippy", description = "Book consignments onto vessels. Errors are always `{\"error\": {\"code\", \"message\"}}`."),
    paths(
        users::sign_up, users::log_in, users::validate, users::list,
        vessels::create, vessels::list, vessels::find,
        consignments::create, consignments::list,
        logs::list, logs::stream,
        health::healthz, health::readyz,
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

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
