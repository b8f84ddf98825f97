//! The system tests, one binary: the five real binaries on port 0 in a temporary folder,
//! driven through the CLIs, REST and gRPC (one build, one harness: `shippy_system_tests`).

mod abuse;
mod attacks;
mod booking;
mod browser;
mod chaos;
mod compose;
mod contracts;
mod faults;
mod fuzz;
mod grpc_input;
mod instances;
mod k8s;
mod kafka_system;
mod live;
mod logout;
mod metrics;
mod mongo_system;
mod observability;
mod paging;
mod reflection;
mod secrets;
mod throttling;
mod tracing;
mod tutorial;
