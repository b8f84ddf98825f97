//! OpenTelemetry's semantic conventions, as far as shippy's spans fall under them: what a
//! span of each kind must carry (RPC for gRPC servers and clients, HTTP for the gateway's
//! server spans, messaging for producers and consumers), and the resource every span
//! comes from. [`breaches`] says what one span gets wrong.

use crate::otlp::Span;

/// What the resource of every exported span names.
const RESOURCE: [&str; 3] = ["service.name", "service.version", "service.instance.id"];
/// What every gRPC span carries, server or client.
const RPC: [&str; 6] = [
    "rpc.system",
    "rpc.service",
    "rpc.method",
    "rpc.grpc.status_code",
    "server.address",
    "server.port",
];
/// What an HTTP server span carries.
const HTTP_SERVER: [&str; 5] = [
    "http.request.method",
    "http.route",
    "http.response.status_code",
    "url.scheme",
    "url.path",
];
/// What every messaging span carries, producer or consumer.
const MESSAGING: [&str; 4] = [
    "messaging.system",
    "messaging.destination.name",
    "messaging.operation.type",
    "messaging.message.id",
];

/// What `span` gets wrong, one line each: an attribute its kind requires that it lacks
/// (or holds empty), or a value or name the conventions shape otherwise. Empty when it
/// keeps them.
pub fn breaches(span: &Span) -> Vec<String> {
    let mut wrong = Vec::new();
    let mut need = |keys: &[&str], from: &std::collections::BTreeMap<String, String>| {
        for key in keys {
            if from.get(*key).is_none_or(String::is_empty) {
                wrong.push(format!("no {key}"));
            }
        }
    };
    need(&RESOURCE, &span.resource);
    let a = &span.attributes;
    let rpc = a.contains_key("rpc.system");
    match span.kind {
        "server" if rpc => need(&RPC, a),
        "server" => need(&HTTP_SERVER, a),
        "client" => need(&RPC, a),
        "producer" | "consumer" => need(&MESSAGING, a),
        "internal" => {}
        other => wrong.push(format!("kind {other}")),
    }
    let get = |key: &str| a.get(key).map_or("", String::as_str);
    if matches!(span.kind, "server" | "client") && rpc {
        if get("rpc.system") != "grpc" {
            wrong.push(format!("rpc.system {}", get("rpc.system")));
        }
        // `rpc.method` is the method alone; the span is named `service/method`.
        if get("rpc.method").contains('/') || !get("rpc.service").contains('.') {
            wrong.push(format!(
                "rpc.service/method {}/{}",
                get("rpc.service"),
                get("rpc.method")
            ));
        }
        if span.name != format!("{}/{}", get("rpc.service"), get("rpc.method")) {
            wrong.push(format!("name {}", span.name));
        }
        if get("rpc.grpc.status_code").parse::<u8>().is_err() {
            wrong.push(format!(
                "rpc.grpc.status_code {}",
                get("rpc.grpc.status_code")
            ));
        }
    }
    if span.kind == "server" && !rpc {
        let name = format!("{} {}", get("http.request.method"), get("http.route"));
        if span.name != name {
            wrong.push(format!("name {} (not {name})", span.name));
        }
        if !["http", "https"].contains(&get("url.scheme")) {
            wrong.push(format!("url.scheme {}", get("url.scheme")));
        }
    }
    let operation = get("messaging.operation.type");
    match span.kind {
        "producer" if operation != "send" => wrong.push(format!("operation {operation}")),
        "consumer" if !["receive", "process"].contains(&operation) => {
            wrong.push(format!("operation {operation}"));
        }
        "producer" | "consumer" => {
            let name = format!("{operation} {}", get("messaging.destination.name"));
            if span.name != name {
                wrong.push(format!("name {} (not {name})", span.name));
            }
        }
        _ => {}
    }
    if matches!(span.kind, "server" | "client") && rpc && get("server.port").parse::<u16>().is_err()
    {
        wrong.push(format!("server.port {}", get("server.port")));
    }
    wrong
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::breaches;
    use crate::otlp::Span;

    fn span(kind: &'static str, name: &str, attributes: &[(&str, &str)]) -> Span {
        let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        Span {
            service: "shippy.vessel".into(),
            name: name.into(),
            trace_id: String::new(),
            span_id: String::new(),
            parent: String::new(),
            kind,
            links: vec![],
            resource: map(&[
                ("service.name", "shippy.vessel"),
                ("service.version", "0.1.0"),
                ("service.instance.id", "i-1"),
            ]),
            attributes: map(attributes),
            error: false,
            events: vec![],
        }
    }

    const CLIENT: [(&str, &str); 6] = [
        ("rpc.system", "grpc"),
        ("rpc.service", "shippy.vessel.VesselService"),
        ("rpc.method", "Reserve"),
        ("rpc.grpc.status_code", "0"),
        ("server.address", "127.0.0.1"),
        ("server.port", "50051"),
    ];

    #[test]
    fn a_client_span_that_keeps_the_conventions_passes() {
        let ok = span("client", "shippy.vessel.VesselService/Reserve", &CLIENT);
        assert_eq!(breaches(&ok), Vec::<String>::new());
    }

    #[test]
    fn a_span_with_the_whole_path_as_its_method_or_no_peer_fails() {
        let mut whole = CLIENT;
        whole[2] = ("rpc.method", "/shippy.vessel.VesselService/Reserve");
        let wrong = span("client", "shippy.vessel.VesselService/Reserve", &whole);
        assert!(!breaches(&wrong).is_empty());
        let anonymous = span(
            "client",
            "shippy.vessel.VesselService/Reserve",
            &CLIENT[..4],
        );
        assert_eq!(
            breaches(&anonymous),
            ["no server.address", "no server.port", "server.port "]
        );
        let consumer = span(
            "consumer",
            "process shippy.log",
            &[("messaging.system", "kafka")],
        );
        assert!(breaches(&consumer).contains(&"no messaging.destination.name".to_owned()));
    }
}
