//! The tutorial's user journey over the REST API, step by step: a user signs up and logs in
//! once; each journey then lists the vessels, finds one for a small booking, books it, lists
//! the bookings, reads the activity log and sometimes cancels the booking. Each step's
//! outcome goes into [`Stats`].

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Client, Method};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::stats::Stats;

/// How long one step may take before it counts as a timeout.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// The steps, in the order the summary prints them.
pub const STEPS: [&str; 9] = [
    "sign up",
    "log in",
    "create vessel",
    "list vessels",
    "find vessel",
    "book",
    "list bookings",
    "read log",
    "cancel",
];

/// One simulated user of the gateway at `api`.
#[derive(Clone, Debug)]
pub struct User {
    http: Client,
    api: String,
    token: String,
    stats: Arc<Stats>,
}

/// A step's answer: its JSON, or why it failed (an HTTP status or a transport failure).
type Answer = Result<Value, String>;

async fn call(
    stats: &Stats,
    step: &'static str,
    request: reqwest::RequestBuilder,
    expect: u16,
) -> Answer {
    let started = Instant::now();
    let answer = match request.timeout(STEP_TIMEOUT).send().await {
        Err(e) if e.is_timeout() => Err("timeout".to_owned()),
        Err(e) if e.is_connect() => Err("no connection".to_owned()),
        Err(_) => Err("broken answer".to_owned()),
        Ok(response) => {
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            if status == expect {
                Ok(body)
            } else {
                let code = body["error"]["code"].as_str().unwrap_or("");
                Err(format!("{status} {code}").trim_end().to_owned())
            }
        }
    };
    stats.record(step, started.elapsed(), answer.as_ref().err().cloned());
    answer
}

impl User {
    /// Signs a fresh user up and logs in (`n` tells users of one run apart).
    pub async fn start(
        http: &Client,
        api: &str,
        run: &str,
        n: usize,
        stats: Arc<Stats>,
    ) -> Result<Self, String> {
        let email = format!("load-{run}-{n}@example.com");
        let password = format!("Load-{run}-password");
        let sign_up =
            json!({"name": format!("Load user {n}"), "email": email, "password": password});
        let url = format!("{api}/api/v1/users");
        call(&stats, "sign up", http.post(url).json(&sign_up), 201).await?;
        let log_in = json!({"email": email, "password": password});
        let url = format!("{api}/api/v1/auth/login");
        let body = call(&stats, "log in", http.post(url).json(&log_in), 200).await?;
        let token = body["token"].as_str().ok_or("no token")?.to_owned();
        Ok(Self {
            http: http.clone(),
            api: api.to_owned(),
            token,
            stats,
        })
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}/api/v1{path}", self.api))
            .bearer_auth(&self.token)
    }

    async fn step(
        &self,
        step: &'static str,
        request: reqwest::RequestBuilder,
        expect: u16,
    ) -> Answer {
        call(&self.stats, step, request, expect).await
    }

    /// A vessel with room for every booking of a long run, so the load never runs out.
    pub async fn create_vessel(&self, run: &str) -> Answer {
        let vessel = json!({
            "id": format!("load-{run}"),
            "name": format!("Load test {run}"),
            "capacity": 1_000_000,
            "max_weight": 2_000_000_000,
            "available": true,
        });
        let request = self.request(Method::POST, "/vessels").json(&vessel);
        self.step("create vessel", request, 201).await
    }

    /// One journey; answers whether every step went through.
    pub async fn journey(&self, cancel: bool) -> bool {
        let mut ok = true;
        ok &= self
            .step("list vessels", self.request(Method::GET, "/vessels"), 200)
            .await
            .is_ok();
        let find = self
            .request(Method::GET, "/vessels/available")
            .query(&[("capacity", "1"), ("max_weight", "1000")]);
        ok &= self.step("find vessel", find, 200).await.is_ok();
        let booking = json!({
            "description": "shippy load",
            "weight": 1000,
            "containers": [{"customer_id": "load", "user_id": "load", "origin": "Felixstowe"}],
        });
        let book = self
            .request(Method::POST, "/consignments")
            .header("idempotency-key", uuid::Uuid::new_v4().to_string())
            .json(&booking);
        let booked = self.step("book", book, 201).await;
        ok &= booked.is_ok();
        ok &= self
            .step(
                "list bookings",
                self.request(Method::GET, "/consignments"),
                200,
            )
            .await
            .is_ok();
        let log = self.request(Method::GET, "/logs").query(&[("limit", "20")]);
        ok &= self.step("read log", log, 200).await.is_ok();
        if let (true, Ok(booking)) = (cancel, &booked)
            && let Some(id) = booking["consignment"]["id"].as_str()
        {
            let path = format!("/consignments/{id}/cancel");
            ok &= self
                .step("cancel", self.request(Method::POST, &path), 200)
                .await
                .is_ok();
        }
        ok
    }
}
