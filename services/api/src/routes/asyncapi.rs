//! The broker topics' AsyncAPI 3.0 document, served at `/api/asyncapi.json`: built from the
//! same schemas the OpenAPI document holds (utoipa's, derived from the prost types) and the
//! same constants the services publish with, so it cannot drift from what they send.

use axum::extract::State;
use serde_json::{Map, Value, json};
use shippy_common::auth::revocations::{REVOKES, UNTIL};
use shippy_common::events::{CLOUDEVENTS_VERSION, CONTENT_TYPE, detail};
use shippy_proto::log::log_event::Detail;
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::logs::Event;
use crate::json::Json;
use crate::state::{AppState, Topics};

/// `log.proto`, whose `LogEvent` is the payload of every event on the log topic.
const LOG_PROTO: &str = include_str!("../../../../proto/proto/log.proto");

/// The media type of a protobuf schema in an AsyncAPI multi-format schema.
const PROTOBUF_SCHEMA: &str = "application/vnd.google.protobuf;version=3";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(asyncapi))
}

/// The broker topics' AsyncAPI document.
///
/// An AsyncAPI 3.0 document of the topics the services publish to: the log topic (every
/// event, a CloudEvent per kind with its typed schema, protobuf on the wire) and the
/// revocations topic (log-outs).
#[utoipa::path(get, path = "/api/asyncapi.json", tag = "contracts", operation_id = "getAsyncApi",
    security(),
    responses((status = 200, description = "The AsyncAPI 3.0 document of the broker topics", body = Object)))]
pub async fn asyncapi(State(topics): State<Topics>) -> Json<Value> {
    Json(topics.document.get_or_init(|| document(&topics)).clone())
}

/// One kind of event: its `type` tag in JSON, its proto message and its detail's schema.
struct Kind {
    tag: String,
    message: String,
    detail: Value,
    cloud_type: &'static str,
}

/// Every kind of event, in `log.proto`'s order, read from the `Detail` schema: each of its
/// `oneOf` is `allOf: [{"$ref": <the kind's message>}, {<its "type" tag>}]`.
fn kinds() -> Vec<Kind> {
    let schema = serde_json::to_value(Detail::schema()).expect("a schema serializes");
    let variants = schema["oneOf"].as_array().expect("Detail is a oneOf");
    variants
        .iter()
        .map(|variant| {
            let reference = variant["allOf"][0]["$ref"].as_str().expect("a $ref");
            let message = reference.rsplit('/').next().unwrap_or_default().to_owned();
            let tag = variant["allOf"][1]["properties"]["type"]["enum"][0]
                .as_str()
                .expect("a type tag")
                .to_owned();
            // The detail of that kind, every field at its default, to ask its CloudEvents type.
            let value: Detail =
                serde_json::from_value(json!({ "type": tag })).expect("a tag names its kind");
            Kind {
                cloud_type: detail::cloud_type(&value),
                tag,
                message,
                detail: variant.clone(),
            }
        })
        .collect()
}

/// The wire schema of the log topic's payload, as a protobuf schema parser reads it: `log.proto`
/// with `LogEvent` and the messages of its details only, so that `LogEvent` is its one
/// top-level message (the parser takes that for the payload); the service and the RPCs'
/// requests and responses left out. Each message keeps the comments above it.
fn wire_schema(kinds: &[Kind]) -> String {
    let kept = |name: &str| name == "LogEvent" || kinds.iter().any(|k| k.message == name);
    let mut out = String::new();
    // The comment lines since the last blank line or statement: they go with what follows.
    let mut comments = String::new();
    let mut depth = 0usize;
    let mut keeping = true;
    for line in LOG_PROTO.lines() {
        let code = line.split("//").next().unwrap_or_default().trim();
        if depth == 0 {
            let block = ["message ", "service ", "enum "]
                .iter()
                .find_map(|kind| code.strip_prefix(kind).map(|rest| (*kind, rest)));
            if let Some((kind, rest)) = block {
                let name = rest.trim_end_matches('{').trim();
                keeping = kind == "message " && kept(name);
            } else if code.is_empty() && !line.trim().is_empty() {
                comments.push_str(line);
                comments.push('\n');
                continue;
            } else {
                keeping = true;
                // One blank line where a block was left out, not two.
                if line.trim().is_empty() && out.ends_with("\n\n") {
                    continue;
                }
            }
            if keeping {
                out.push_str(&comments);
            }
            comments.clear();
        }
        if keeping {
            out.push_str(line);
            out.push('\n');
        }
        depth = (depth + code.matches('{').count()).saturating_sub(code.matches('}').count());
    }
    out
}

/// "ConsignmentBooked" → "Consignment booked".
fn title(message: &str) -> String {
    let mut out = String::new();
    for (i, c) in message.chars().enumerate() {
        if i > 0 && c.is_ascii_uppercase() {
            out.push(' ');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The named schemas the REST API's `Event` uses (the event, `Detail` and each kind's
/// message), as the OpenAPI document holds them.
fn event_schemas() -> Map<String, Value> {
    let mut schemas: Vec<(String, RefOr<Schema>)> = Vec::new();
    <Event as ToSchema>::schemas(&mut schemas);
    <Detail as ToSchema>::schemas(&mut schemas);
    schemas.push((Event::name().into_owned(), Event::schema()));
    schemas.push((Detail::name().into_owned(), Detail::schema()));
    schemas
        .into_iter()
        .map(|(name, schema)| (name, serde_json::to_value(schema).expect("serializes")))
        .collect()
}

/// The headers of every event on the log topic: the CloudEvents Kafka binary binding, and
/// the plain headers events carried before it.
fn cloud_event_headers() -> Value {
    let string = |description: &str| json!({ "type": "string", "description": description });
    json!({
        "type": "object",
        "description": "The CloudEvents 1.0 attributes as `ce_*` headers (the Kafka protocol \
            binding's binary mode: the payload is the event's `data`), and the plain headers \
            events carried before them.",
        "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time",
            "content-type", "event-id", "origin", "user-id"],
        "properties": {
            "ce_specversion": { "type": "string", "const": CLOUDEVENTS_VERSION,
                "description": "The CloudEvents version." },
            "ce_id": string("The event's id (a UUIDv7); the log service records each id once."),
            "ce_source": { "type": "string", "examples": ["/shippy.consignment"],
                "description": "`/` and the service that published it." },
            "ce_type": string("The kind of event, `io.shippy.<aggregate>.<what>.v1`: which \
                message this is."),
            "ce_subject": string("What the event is about: a booking's consignment id, a \
                vessel's id, a user's id."),
            "ce_time": { "type": "string", "format": "date-time",
                "description": "When it happened (RFC 3339)." },
            "ce_sequence": { "type": "string", "pattern": "^[1-9][0-9]*$",
                "description": "The CloudEvents `sequence` extension: its place among its \
                    subject's events, from 1, in the order they happened (a booking: \
                    pending, reserved, booked); absent when they have no order." },
            "content-type": { "type": "string", "enum": [CONTENT_TYPE, "application/json"],
                "description": "The CloudEvents `datacontenttype`: the payload is \
                    `shippy.log.LogEvent`, protobuf-encoded; `application/json` (its fields \
                    as JSON) only while `broker.event_encoding = json` during an upgrade \
                    from an older version." },
            "event-id": string("The same as `ce_id`, for readers from before CloudEvents."),
            "origin": { "type": "string", "examples": ["shippy.consignment"],
                "description": "The service that published it, for readers from before \
                    CloudEvents." },
            "user-id": string("The user who caused it (empty: shippy itself); also the \
                message key, so one user's events keep their order."),
            "traceparent": string("The W3C trace context of the write that published it, \
                when traced."),
        },
    })
}

/// The headers of a revocation (and of the log-out's own event on the log topic).
fn revocation_headers() -> Value {
    json!({
        "type": "object",
        "required": [REVOKES, UNTIL],
        "properties": {
            REVOKES: { "type": "string",
                "description": "The id (`jti`) of the token logged out: refused from now on." },
            UNTIL: { "type": "string", "pattern": "^[0-9]+$",
                "description": "When that token expires anyway, Unix seconds: it need not be \
                    remembered after." },
            "traceparent": { "type": "string",
                "description": "The W3C trace context of the log-out, when traced." },
        },
    })
}

/// The message of one kind of event on the log topic.
fn event_message(kind: &Kind, description: &str) -> Value {
    let mut headers = vec![
        json!({ "$ref": "#/components/schemas/CloudEventHeaders" }),
        json!({ "type": "object", "properties": { "ce_type": { "const": kind.cloud_type } } }),
    ];
    if kind.message == "UserLoggedOut" {
        // It also revokes the token, for services from before the revocations topic.
        headers.push(json!({ "$ref": "#/components/schemas/RevocationHeaders" }));
    }
    json!({
        "name": kind.message,
        "title": title(&kind.message),
        "summary": description,
        "description": format!(
            "CloudEvents type `{}`. The payload is `shippy.log.LogEvent` (protobuf: the \
             `LogEvent` schema) with `detail` `{}`; shown here as JSON, as `GET /api/v1/logs` \
             answers it, the detail tagged `\"type\": \"{}\"`.",
            kind.cloud_type, kind.tag, kind.tag
        ),
        "contentType": CONTENT_TYPE,
        "headers": { "allOf": headers },
        "correlationId": {
            "description": "A booking's events share its consignment id as subject.",
            "location": "$message.header#/ce_subject",
        },
        "payload": {
            "allOf": [
                { "$ref": "#/components/schemas/Event" },
                {
                    "type": "object",
                    "required": ["detail"],
                    "properties": { "detail": kind.detail },
                },
            ],
        },
    })
}

/// The AsyncAPI document of `topics`.
pub fn document(topics: &Topics) -> Value {
    let kinds = kinds();
    let schemas = event_schemas();
    let mut messages = Map::new();
    let mut log_messages = Map::new();
    for kind in &kinds {
        let description = schemas
            .get(&kind.message)
            .and_then(|s| s["description"].as_str())
            .unwrap_or_default();
        messages.insert(kind.tag.clone(), event_message(kind, description));
        log_messages.insert(
            kind.tag.clone(),
            json!({ "$ref": format!("#/components/messages/{}", kind.tag) }),
        );
    }
    messages.insert(
        "revocation".into(),
        json!({
            "name": "Revocation",
            "title": "Revocation",
            "summary": "A token was logged out: every service refuses it from now on.",
            "description": "Keyed by the token's holder; the headers say which token and \
                until when; no payload.",
            "headers": { "$ref": "#/components/schemas/RevocationHeaders" },
        }),
    );
    let mut components = schemas;
    components.insert("CloudEventHeaders".into(), cloud_event_headers());
    components.insert("RevocationHeaders".into(), revocation_headers());
    components.insert(
        "LogEvent".into(),
        json!({
            "schemaFormat": PROTOBUF_SCHEMA,
            "schema": wire_schema(&kinds),
        }),
    );
    let sends = |channel: &str, messages: &Map<String, Value>| -> Vec<Value> {
        messages
            .keys()
            .map(|name| json!({ "$ref": format!("#/channels/{channel}/messages/{name}") }))
            .collect()
    };
    let revocation_messages = Map::from_iter([(
        "revocation".to_owned(),
        json!({ "$ref": "#/components/messages/revocation" }),
    )]);
    json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": "shippy events",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The topics shippy's services publish to, on Kafka or the \
                embedded broker (`broker.kind`). Each event on the log topic is a CloudEvent \
                in the Kafka binary binding: its attributes in `ce_*` headers, its data \
                `shippy.log.LogEvent` in protobuf (`proto/log.proto`; the `LogEvent` schema), \
                one message per kind of event. Each kind's schema shows the event as JSON, \
                as the REST API answers it (`GET /api/v1/logs`; the OpenAPI document at \
                `/api/openapi.json`): the same fields, `detail` tagged by `type`.",
            "contact": { "name": "shippy's maintainers: open an issue (SECURITY.md)" },
            "license": { "name": "MIT" },
        },
        "defaultContentType": CONTENT_TYPE,
        "channels": {
            "log": {
                "address": &*topics.log,
                "title": "Log events",
                "summary": "Every event of every service: what the log service records and \
                    the activity feed shows.",
                "description": "Keyed by the user who caused the event, so one user's events \
                    keep their order; a booking's steps share its consignment id as \
                    `ce_subject` and are numbered by `ce_sequence`. The topic is \
                    `broker.log_topic`.",
                "messages": log_messages,
            },
            "revocations": {
                "address": &*topics.revocations,
                "title": "Revocations",
                "summary": "Log-outs, which every service follows to refuse revoked tokens.",
                "description": "Only log-outs (each also has its `user_logged_out` event on \
                    the log topic). Services read it from the beginning at start. The topic is \
                    `broker.revocations_topic`.",
                "messages": revocation_messages,
            },
        },
        "operations": {
            "publishEvent": {
                "action": "send",
                "channel": { "$ref": "#/channels/log" },
                "title": "Publish an event",
                "summary": "Every service publishes an event for each write it makes, from \
                    its outbox, once the write has committed; the log service consumes them.",
                "messages": sends("log", &log_messages),
            },
            "publishRevocation": {
                "action": "send",
                "channel": { "$ref": "#/channels/revocations" },
                "title": "Publish a log-out",
                "summary": "The user service publishes a revocation for each log-out; every \
                    service consumes them.",
                "messages": sends("revocations", &revocation_messages),
            },
        },
        "components": {
            "schemas": components,
            "messages": messages,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_event_has_its_message_with_its_cloudevents_type() {
        let document = document(&Topics::default());
        let messages = document["components"]["messages"].as_object().unwrap();
        let kinds = kinds();
        assert_eq!(kinds.len(), 10);
        for kind in &kinds {
            let message = &messages[&kind.tag];
            assert_eq!(message["name"], kind.message.as_str());
            assert_eq!(
                message["headers"]["allOf"][1]["properties"]["ce_type"]["const"],
                kind.cloud_type
            );
            assert!(
                kind.cloud_type.starts_with("io.shippy."),
                "{}",
                kind.cloud_type
            );
        }
        let booked = &messages["consignment_booked"];
        assert_eq!(booked["title"], "Consignment booked");
        assert_eq!(
            booked["payload"]["allOf"][1]["properties"]["detail"]["allOf"][0]["$ref"],
            "#/components/schemas/ConsignmentBooked"
        );
        assert_eq!(document["channels"]["log"]["address"], "shippy.log");
        let wire = document["components"]["schemas"]["LogEvent"]["schema"]
            .as_str()
            .unwrap();
        for kind in &kinds {
            assert!(
                wire.contains(&format!("\nmessage {} {{", kind.message)),
                "{wire}"
            );
        }
        assert!(wire.contains("\nmessage LogEvent {"), "{wire}");
        assert!(
            !wire.contains("\nservice ") && !wire.contains("ListRequest"),
            "{wire}"
        );
    }
}
