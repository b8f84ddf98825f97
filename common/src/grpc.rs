//! gRPC's names and status as telemetry reads them off a call: shared by the server's and
//! the client's spans and the meters, so none of them imports another.

/// `/package.Service/Method` as (`package.Service`, `Method`).
pub fn rpc_names(path: &str) -> (&str, &str) {
    path.trim_start_matches('/')
        .split_once('/')
        .unwrap_or(("", path))
}

/// The gRPC status of an answer: from its headers when the answer is only an error (a
/// trailers-only response), else OK (a failing stream reports in trailers; not seen here).
pub fn status_code<B>(response: &http::Response<B>) -> i32 {
    response
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
