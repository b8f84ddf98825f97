//! The web UI in headless Chromium, as a person would use it: sign up, log in, add a vessel,
//! book a consignment, watch the activity feed update live from another session, log out.
//! Screenshots of each step land in `target/screenshots/browser/`.

use std::path::PathBuf;

use shippy_system_tests::System;
use shippy_system_tests::browser::{Browser, Driver};

const EMAIL: &str = "ui@example.com";
const PASSWORD: &str = "Testing123";

fn shots() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("../screenshots/browser")
}

async fn log_in(browser: &Browser, password: &str) {
    browser.fill("#login-email", EMAIL).await;
    browser.fill("#login-password", password).await;
    browser.click("#login-submit").await;
}

/// Fills the booking form with one container for `customer`, or none, and submits it.
async fn book(browser: &Browser, description: &str, weight: &str, customer: Option<&str>) {
    browser.fill("#consignment-description", description).await;
    browser.fill("#consignment-weight", weight).await;
    match customer {
        Some(customer) => {
            browser
                .fill("#containers .container-row [name=customer_id]", customer)
                .await;
            browser
                .fill(
                    "#containers .container-row [name=origin]",
                    "Leeds, United Kingdom",
                )
                .await;
        }
        None => browser.click("#containers .container-row .remove").await,
    }
    browser.click("#consignment-submit").await;
}

#[tokio::test]
async fn a_person_ships_a_consignment_through_the_web_ui() {
    let mut system = System::start().await;
    let base = system.api_url().await;
    let driver = Driver::start().await;
    let me = driver.session("me", shots()).await;

    // A protected page sends a stranger to log in.
    me.goto(&format!("{base}/#/consignments")).await;
    me.wait_for_text("#notice", "Please log in").await;
    me.screenshot("01-protected-page-asks-to-log-in").await;

    // Sign up, then log in: a wrong password first shows the API's words.
    me.click("#to-signup").await;
    me.fill("#signup-name", "Uma Interface").await;
    me.fill("#signup-company", "Shippy UI").await;
    me.fill("#signup-email", EMAIL).await;
    me.fill("#signup-password", "short").await;
    me.click("#signup-submit").await;
    me.wait_for_text(
        "#signup-form .error",
        "password: must be at least 8 characters",
    )
    .await;
    me.fill("#signup-password", PASSWORD).await;
    me.click("#signup-submit").await;
    me.wait_for_text("#notice", "Account created").await;
    me.screenshot("02-signed-up").await;
    log_in(&me, "wrong-password").await;
    me.wait_for_text("#login-form .error", "invalid email or password")
        .await;
    me.screenshot("03-wrong-password").await;
    log_in(&me, PASSWORD).await;
    me.wait_for_text("#consignment-list", "No consignments yet")
        .await;
    me.screenshot("04-logged-in").await;

    // Invalid consignments show the API's message beside the form, and store nothing.
    book(&me, "", "100", Some("cust001")).await;
    me.wait_for_text("#consignment-form .error", "description: must not be empty")
        .await;
    book(&me, "Zero", "0", Some("cust001")).await;
    me.wait_for_text("#consignment-form .error", "weight: must be greater than 0")
        .await;
    book(&me, "Nothing", "100", None).await;
    me.wait_for_text(
        "#consignment-form .error",
        "containers: at least one container",
    )
    .await;
    me.screenshot("05-invalid-consignment").await;

    // A vessel.
    me.click("#nav a[data-page=vessels]").await;
    me.wait_for_text("#vessel-list", "vessel001").await;
    me.fill("#vessel-name", "Browser Barge").await;
    me.fill("#vessel-id", "barge001").await;
    me.fill("#vessel-capacity", "10").await;
    me.fill("#vessel-max-weight", "100000").await;
    me.click("#vessel-submit").await;
    me.wait_for_text("#vessel-list", "Browser Barge").await;
    me.screenshot("06-vessel-created").await;

    // A consignment, listed with the vessel that carries it.
    me.click("#nav a[data-page=consignments]").await;
    book(&me, "Browser goods", "70000", Some("cust001")).await;
    me.wait_for_text("#consignment-list", "barge001").await;
    me.wait_for_text("#consignment-list", "booked").await;
    me.screenshot("07-consignment-listed").await;

    // Its detail view tells the booking's story, names the vessel, and cancels it.
    me.click("#consignment-list a").await;
    me.wait_for_text("#detail-status", "booked").await;
    me.wait_for_text("#detail-vessel", "Browser Barge").await;
    me.wait_for_text("#detail-steps", "reserved").await;
    me.screenshot("07a-consignment-detail").await;
    me.click("#detail-cancel").await;
    me.wait_for_text("#detail-status", "cancelled").await;
    me.wait_for_text("#detail-steps", "released").await;
    me.screenshot("07b-consignment-cancelled").await;
    // The vessel has its room back.
    me.click("#nav a[data-page=vessels]").await;
    me.wait_for_text("#vessel-list", "0 / 100,000 kg").await;
    me.click("#nav a[data-page=consignments]").await;
    me.wait_for_text("#consignment-list", "cancelled").await;
    me.resize(390, 844).await;
    me.screenshot("08-consignments-on-a-phone").await;
    me.resize(1280, 900).await;

    // The activity feed, updated live by a booking from another browser session.
    me.click("#nav a[data-page=activity]").await;
    me.wait_for_text("#live", "live").await;
    me.wait_for_text("#events", "booked on vessel barge001")
        .await;
    let other = driver.session("other", shots()).await;
    other.goto(&format!("{base}/#/login")).await;
    log_in(&other, PASSWORD).await;
    book(&other, "Second tab goods", "5000", Some("cust002")).await;
    other
        .wait_for_text("#consignment-list", "Second tab goods")
        .await;
    // The newest live event is the second tab's booking completing.
    me.wait_for_text("#events .fresh", "booked on vessel barge001")
        .await;
    me.screenshot("09-activity-updated-live").await;
    other.close().await;

    // Log out; protected pages ask to log in again.
    me.click("#logout").await;
    me.wait_for_text("#notice", "You are logged out").await;
    me.goto(&format!("{base}/#/vessels")).await;
    me.wait_for_text("#notice", "Please log in").await;
    me.screenshot("10-logged-out").await;

    // The API docs page, generated from the OpenAPI document.
    me.goto(&format!("{base}/docs.html")).await;
    me.wait_for_text("#docs", "/api/v1/consignments").await;
    me.wait_for_text("#docs", "containers").await;
    me.screenshot("11-api-docs").await;
    me.close().await;
    system.stop_all().await;
}
