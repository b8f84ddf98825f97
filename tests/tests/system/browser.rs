//! The web UI in headless Chromium, as a person would use it: the landing page, a protected
//! page that sends a stranger to log in and back, sign-up and log-in with every bad field
//! told at once in the UI's own words, vessels (and why none fits), bookings (a half-filled
//! container row refused, a booking no vessel can carry), a booking's story and its cancel,
//! the activity feed in sentences and live from another browser, a second window of the same
//! browser staying logged in and following a log-out, every page on a phone, and axe-core on
//! every page. Screenshots of each step land in `target/screenshots/browser/`.

use std::path::PathBuf;

use serde_json::json;
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

/// Fills the booking form (the first container row with `customer` from Leeds, or no row at
/// all) and submits it.
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

/// Asserts the input `id` is marked invalid, with `message` shown right after it and named
/// by its aria-describedby.
async fn assert_invalid(browser: &Browser, id: &str, message: &str) {
    let error = format!("#{id}-error");
    browser.wait_for_text(&error, message).await;
    let input = format!("#{id}");
    assert_eq!(
        browser.attr(&input, "aria-invalid").await.as_deref(),
        Some("true"),
        "{id} is not aria-invalid"
    );
    let described = browser
        .attr(&input, "aria-describedby")
        .await
        .unwrap_or_default();
    assert!(
        described.split(' ').any(|d| d == format!("{id}-error")),
        "{id} is not described by its message: {described:?}"
    );
    // The message sits next to its field: right after the input.
    let next = browser
        .js_with(
            "return document.getElementById(arguments[0]).nextElementSibling.id",
            vec![json!(id)],
        )
        .await;
    assert_eq!(
        next,
        json!(format!("{id}-error")),
        "{id}'s message is not next to it"
    );
}

/// Asserts the input `id` is not marked invalid and shows no message.
async fn assert_valid(browser: &Browser, id: &str) {
    assert_eq!(
        browser.attr(&format!("#{id}"), "aria-invalid").await,
        None,
        "{id} is still aria-invalid"
    );
    assert!(
        !browser.is_shown(&format!("#{id}-error")).await,
        "{id} still shows a message"
    );
}

/// Asserts the page's text has none of the API's raw words.
async fn assert_no_api_words(browser: &Browser, css: &str) {
    let text = browser.text(css).await;
    for raw in [
        "must not be empty",
        "must be greater than 0",
        "Failed to deserialize",
        "must look like",
        "max weight >=",
        "capacity >=",
    ] {
        assert!(
            !text.contains(raw),
            "{css} shows the API's words {raw:?}: {text:?}"
        );
    }
}

/// Asserts the nav link to `page` is the one marked as the current page, and only it.
async fn assert_current(browser: &Browser, page: &str) {
    let current = browser
        .js("return [...document.querySelectorAll('#nav a[aria-current=page]')].map((a) => a.dataset.page)")
        .await;
    assert_eq!(
        current,
        json!([page]),
        "the nav does not mark {page} as the current page"
    );
}

/// Asserts the page's heading has the focus and says `heading`.
async fn assert_heading_focused(browser: &Browser, heading: &str) {
    browser.wait_for_text("#view h1", heading).await;
    browser
        .wait_until(
            &format!("the heading {heading:?} has the focus"),
            "return document.activeElement && document.activeElement.tagName === 'H1'",
        )
        .await;
}

#[tokio::test]
async fn a_person_ships_a_consignment_through_the_web_ui() {
    // Every event's message says nothing: the feed's sentences come from the typed details
    // alone, or its checks below fail.
    let mut system = System::start_with(&[("SHIPPY_BROKER__REWORD_EVENTS", "true")]).await;
    let base = system.api_url().await;
    let driver = Driver::start().await;
    let me = driver.session("me", shots()).await;

    first_visit(&me, &base).await;
    sign_up(&me).await;
    log_in_lands_where_it_was_going(&me).await;
    vessels_page(&me).await;
    let tea = consignments_page(&me).await;
    detail_page(&me, &tea).await;
    activity_feed(&me, &driver, &base, &tea).await;
    second_window(&me, &base).await;
    on_a_phone(&me, &base, &tea).await;
    docs_page(&me, &base).await;

    // Log out; protected pages ask to log in again.
    me.click("#logout").await;
    me.wait_for_text("#notice", "You are logged out").await;
    me.goto(&format!("{base}/#/vessels")).await;
    me.wait_for_text("#notice", "Log in to see the vessels")
        .await;
    me.screenshot("40-logged-out").await;
    me.close().await;
    system.stop_all().await;
}

/// The landing page says what shippy is; a protected page sends a stranger to log in.
async fn first_visit(me: &Browser, base: &str) {
    me.goto(&format!("{base}/")).await;
    assert_heading_focused(me, "Ship containers on the smallest vessel that fits").await;
    assert!(me.is_shown("#welcome-login").await && me.is_shown("#welcome-signup").await);
    assert!(!me.is_shown("#nav").await, "the nav shows to a stranger");
    me.screenshot("01-landing").await;
    me.axe("landing").await;

    me.goto(&format!("{base}/#/activity")).await;
    me.wait_for_text("#notice", "Log in to see your activity.")
        .await;
    assert_eq!(me.hash().await, "#/login");
    assert_eq!(
        me.focused().await,
        "login-email",
        "the log-in form's first field has no focus"
    );
    me.screenshot("02-protected-page-asks-to-log-in").await;
    me.axe("login").await;
}

/// Every bad field at once, in the UI's words, beside its field; stale messages go.
async fn sign_up(me: &Browser) {
    me.click("#to-signup").await;
    me.wait_for_text("#view h1", "Create an account").await;
    assert_eq!(me.focused().await, "signup-name");
    me.click("#signup-submit").await;
    assert_invalid(me, "signup-name", "Enter a name").await;
    assert_invalid(me, "signup-email", "Enter your email").await;
    assert_invalid(me, "signup-password", "Enter a password").await;
    assert_valid(me, "signup-company").await;
    assert_eq!(
        me.focused().await,
        "signup-name",
        "the first bad field has no focus"
    );
    me.screenshot("03-signup-every-field-at-once").await;
    me.axe("signup-with-errors").await;

    // The browser's own check passes "uma@localhost"; the API's does not, and its answer is
    // told in the UI's words. A fixed field loses its message.
    me.fill("#signup-name", "Uma Interface").await;
    me.fill("#signup-company", "Shippy UI").await;
    me.fill("#signup-email", "uma@localhost").await;
    me.fill("#signup-password", "short").await;
    me.click("#signup-submit").await;
    assert_invalid(me, "signup-password", "Use at least 8 characters").await;
    assert_valid(me, "signup-name").await;
    assert_valid(me, "signup-email").await;
    me.fill("#signup-password", PASSWORD).await;
    me.click("#signup-submit").await;
    assert_invalid(me, "signup-email", "Enter an email like name@example.com").await;
    assert_valid(me, "signup-password").await;
    assert_no_api_words(me, "#signup-form").await;
    me.screenshot("04-signup-email-refused").await;
    me.fill("#signup-email", EMAIL).await;
    me.click("#signup-submit").await;
    me.wait_for_text("#notice", "Account created").await;
    // The email is remembered, so the first empty field, the password, has the focus.
    assert_eq!(
        me.find("#login-email")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some(EMAIL)
    );
    assert_eq!(me.focused().await, "login-password");
    me.screenshot("05-signed-up").await;
}

/// A wrong password in plain words (the stale notice gone); then the log-in lands on the
/// page that sent the stranger to log in.
async fn log_in_lands_where_it_was_going(me: &Browser) {
    me.wait_for_text("#notice", "Account created").await;
    log_in(me, "wrong-password").await;
    me.wait_for_text("#login-form .error", "Wrong email or password")
        .await;
    assert!(
        !me.is_shown("#notice").await,
        "a stale notice stays after a new answer"
    );
    me.screenshot("06-wrong-password").await;
    // By keyboard: Enter in the password field logs in.
    me.fill("#login-password", &format!("{PASSWORD}\u{E007}"))
        .await;
    assert_heading_focused(me, "Activity").await;
    assert_eq!(
        me.hash().await,
        "#/activity",
        "the log-in did not land where it was going"
    );
    assert_current(me, "activity").await;
    me.wait_for_text("#who", EMAIL).await;
    // The token is kept for every tab, with its expiry.
    let kept = me
        .js("return [localStorage.getItem('shippy.token') !== null, Number(localStorage.getItem('shippy.expires_at')) * 1000 > Date.now(), sessionStorage.getItem('shippy.token')]")
        .await;
    assert_eq!(kept, json!([true, true, null]));
    me.screenshot("07-logged-in-where-it-was-going").await;
}

/// Vessels: every empty field told at once, a duplicate id refused, how full each vessel is,
/// and "no vessel can carry ..." with the largest from the fleet.
async fn vessels_page(me: &Browser) {
    me.click("#nav a[data-page=vessels]").await;
    assert_heading_focused(me, "Vessels").await;
    assert_current(me, "vessels").await;
    me.wait_for_text("#vessel-list", "Kane's Salty Secret")
        .await;
    me.wait_for_text("#vessel-list", "0 / 200,000 kg").await;

    me.click("#vessel-submit").await;
    assert_invalid(me, "vessel-name", "Enter the vessel's name").await;
    assert_invalid(me, "vessel-capacity", "Enter how many containers").await;
    assert_invalid(
        me,
        "vessel-max-weight",
        "Enter the most weight the vessel can carry, in kg",
    )
    .await;
    me.click("#find-submit").await;
    assert_invalid(me, "find-capacity", "Enter how many containers").await;
    assert_invalid(me, "find-max-weight", "Enter the weight in kg").await;
    me.screenshot("08-vessel-forms-every-field-at-once").await;

    me.fill("#vessel-name", "Browser Barge").await;
    me.fill("#vessel-id", "barge001").await;
    me.fill("#vessel-capacity", "10").await;
    me.fill("#vessel-max-weight", "100000").await;
    me.click("#vessel-submit").await;
    me.wait_for_text(
        "#notice",
        "Browser Barge is added: room for 10 containers and 100,000 kg.",
    )
    .await;
    me.wait_for_text("#vessel-list", "Browser Barge").await;
    me.wait_for_text("#vessel-list", "0 / 10 containers").await;
    // Your own vessels come first, in a list of their own.
    me.wait_for_text("#my-vessel-list", "Browser Barge").await;
    me.fill("#vessel-name", "Barge Twin").await;
    me.fill("#vessel-id", "barge001").await;
    me.fill("#vessel-capacity", "10").await;
    me.fill("#vessel-max-weight", "100000").await;
    me.click("#vessel-submit").await;
    assert_invalid(me, "vessel-id", "A vessel with this id exists already").await;
    assert!(!me.is_shown("#notice").await, "the earlier notice is stale");
    me.fill("#vessel-name", "Big Bertha").await;
    me.fill("#vessel-id", "bertha001").await;
    me.fill("#vessel-capacity", "1000").await;
    me.fill("#vessel-max-weight", "199000000").await;
    me.click("#vessel-submit").await;
    me.wait_for_text("#vessel-list", "0 / 199,000,000 kg").await;

    // Too heavy for every vessel: said with the fleet's largest.
    me.fill("#find-capacity", "1").await;
    me.fill("#find-max-weight", "2000000000").await;
    me.click("#find-submit").await;
    me.wait_for_text(
        "#find-form .error",
        "No vessel can carry 2,000,000,000 kg; the largest takes 199,000,000 kg.",
    )
    .await;
    assert_no_api_words(me, "#find-form").await;
    // The one live region says the new message (and the page itself is not a live region).
    me.wait_until(
        "the live region says why no vessel fits",
        "return document.getElementById('announce').textContent.includes('No vessel can carry 2,000,000,000 kg')",
    )
    .await;
    assert_eq!(
        me.js("return document.querySelectorAll('[aria-live]').length")
            .await,
        json!(1)
    );
    me.fill("#find-max-weight", "55000").await;
    me.fill("#find-capacity", "3").await;
    me.click("#find-submit").await;
    me.wait_for_text(
        "#find-result",
        "Browser Barge (barge001) can carry it: it has room left for 10 containers and 100,000 kg.",
    )
    .await;
    assert!(
        !me.is_shown("#find-form .error").await,
        "a stale find error stays"
    );
    me.screenshot("09-vessels").await;
    me.axe("vessels").await;
}

/// Bookings: every bad field at once, a half-filled container row refused by its number, a
/// booking, and one that no vessel can carry. Answers the booked consignment's id.
async fn consignments_page(me: &Browser) -> String {
    me.click("#nav a[data-page=consignments]").await;
    assert_heading_focused(me, "Consignments").await;
    assert_current(me, "consignments").await;
    me.wait_for_text("#consignment-list", "No consignments yet")
        .await;
    // The containers editor explains its fields.
    me.wait_for_text("#container-hints", "Customer id: who the container is for")
        .await;
    me.wait_for_text("#container-hints", "Origin: where it is loaded")
        .await;
    let labels = me
        .js("return [...document.querySelectorAll('#containers .container-row input')].map((i) => i.labels[0].textContent.trim())")
        .await;
    assert_eq!(
        labels,
        json!(["Customer id", "Origin", "User id (optional)"])
    );

    // Nothing but a customer id: the description, the weight and the row's origin at once.
    me.fill("#containers .container-row [name=customer_id]", "cust001")
        .await;
    me.click("#consignment-submit").await;
    assert_invalid(me, "consignment-description", "Say what you are shipping").await;
    assert_invalid(me, "consignment-weight", "Enter the weight in kg").await;
    let origin = me
        .attr("#containers .container-row [name=origin]", "id")
        .await
        .unwrap();
    assert_invalid(me, &origin, "Container 1 needs an origin").await;
    me.wait_for_text(
        "#consignment-form > .error",
        "Container 1 is half filled: fill in an origin, or remove it.",
    )
    .await;
    me.screenshot("10-booking-every-field-at-once").await;

    me.fill("#consignment-weight", "0").await;
    me.click("#consignment-submit").await;
    assert_invalid(me, "consignment-weight", "Enter a weight of 1 kg or more").await;

    // A second row with an origin only is refused by its number; removed, the booking goes.
    me.click("#add-container").await;
    let second = "#containers .container-row:nth-child(2)";
    me.wait_for_text(&format!("{second} legend"), "Container 2")
        .await;
    me.fill(&format!("{second} [name=origin]"), "Hull").await;
    book(me, "Tea for Leeds", "70000", Some("cust001")).await;
    let customer = me
        .attr(&format!("{second} [name=customer_id]"), "id")
        .await
        .unwrap();
    assert_invalid(me, &customer, "Container 2 needs a customer id").await;
    me.wait_for_text("#consignment-form > .error", "Container 2 is half filled")
        .await;
    assert_no_api_words(me, "#consignment-form").await;
    me.screenshot("11-half-filled-row").await;
    me.click(&format!("{second} .remove")).await;
    me.click("#consignment-submit").await;
    me.wait_for_text("#notice", "“Tea for Leeds” is booked on Browser Barge.")
        .await;
    me.wait_for_text("#consignment-list", "Browser Barge").await;
    let row = me.text("#consignment-list tbody tr").await;
    for expected in [
        "Tea for Leeds",
        "Booked",
        "1 container",
        "70,000 kg",
        "just now",
    ] {
        assert!(
            row.contains(expected),
            "the listed booking lacks {expected:?}: {row:?}"
        );
    }
    let booked = me.find("#consignment-list tbody tr time").await;
    assert!(
        booked
            .attr("datetime")
            .await
            .unwrap()
            .is_some_and(|d| d.starts_with("20"))
    );
    assert!(
        booked
            .attr("title")
            .await
            .unwrap()
            .is_some_and(|t| t.len() > 10),
        "no exact time on hover"
    );

    // Heavier than any vessel: rejected, said with the largest.
    book(me, "Too heavy", "2000000000", Some("cust002")).await;
    me.wait_for_text(
        "#consignment-form > .error",
        "No vessel can carry 2,000,000,000 kg; the largest takes 199,000,000 kg. It is kept in your list below as rejected; nothing was booked.",
    )
    .await;
    me.wait_for_text("#consignment-list", "Rejected").await;
    assert_no_api_words(me, "#view").await;
    me.screenshot("12-consignments").await;
    me.scroll_to("#consignment-list").await;
    me.screenshot("12b-consignment-list").await;
    me.axe("consignments").await;
    let tea = me
        .js("return [...document.querySelectorAll('#consignment-list a')].find((a) => a.textContent === 'Tea for Leeds').getAttribute('href')")
        .await;
    let tea = tea.as_str().unwrap();
    assert!(tea.starts_with("#/consignment/"), "{tea}");
    tea.trim_start_matches("#/consignment/").to_owned()
}

/// A booking's story: human step names with times, the vessel by name, and Cancel.
async fn detail_page(me: &Browser, tea: &str) {
    me.click(&format!("#consignment-list a[href='#/consignment/{tea}']"))
        .await;
    assert_heading_focused(me, "Tea for Leeds").await;
    assert_eq!(me.hash().await, format!("#/consignment/{tea}"));
    assert_current(me, "consignments").await;
    me.wait_for_text("#detail-status", "Booked").await;
    me.wait_for_text("#detail-vessel", "Browser Barge (barge001)")
        .await;
    me.wait_for_text("#detail-weight", "70,000 kg").await;
    me.wait_for_text("#detail-containers", "1 container").await;
    let steps = me.wait_for_text("#detail-steps", "Booked").await;
    for expected in [
        "Received",
        "Room reserved",
        "1 container and 70,000 kg held on Browser Barge.",
        "just now",
    ] {
        assert!(
            steps.contains(expected),
            "the steps lack {expected:?}: {steps:?}"
        );
    }
    assert!(
        !steps.contains("barge001"),
        "a step names the vessel by its id: {steps:?}"
    );
    let times = me
        .js("return [...document.querySelectorAll('#detail-steps time')].every((t) => t.dateTime && t.title)")
        .await;
    assert_eq!(times, json!(true), "a step's time has no exact time");
    // Older times read as a person says them (everything here is "just now").
    let older = me
        .js("return [3 * 60e3, 2 * 3600e3, 86400e3].map((ago_ms) => ago(Date.now() - ago_ms))")
        .await;
    assert_eq!(older, json!(["3 minutes ago", "2 hours ago", "yesterday"]));
    me.screenshot("13-consignment-detail").await;
    me.axe("detail").await;
    me.click("#detail-cancel").await;
    me.wait_for_text("#detail-status", "Cancelled").await;
    me.wait_for_text("#detail-vessel", "None now (it was on Browser Barge)")
        .await;
    me.wait_for_text("#detail-steps", "Room given back").await;
    me.wait_for_text("#detail-steps", "The room on Browser Barge is free again.")
        .await;
    assert!(
        !me.is_shown("#detail-cancel").await,
        "a cancelled booking offers Cancel"
    );
    me.screenshot("14-consignment-cancelled").await;
    // The vessel has its room back.
    me.click("#nav a[data-page=vessels]").await;
    me.wait_for_text("#vessel-list", "0 / 100,000 kg").await;
}

/// The activity feed: sentences with names and links, no raw ids, live from another browser.
async fn activity_feed(me: &Browser, driver: &Driver, base: &str, tea: &str) {
    me.click("#nav a[data-page=activity]").await;
    assert_heading_focused(me, "Activity").await;
    me.wait_for_text("#live", "live").await;
    me.wait_for_text(
        "#events",
        "Your consignment “Tea for Leeds” was booked on Browser Barge.",
    )
    .await;
    let feed = me
        .wait_for_text("#events", "You cancelled your consignment “Tea for Leeds”.")
        .await;
    for expected in [
        "You added the vessel Browser Barge, for 10 containers and 100,000 kg.",
        "Browser Barge is holding room for 1 container and 70,000 kg for “Tea for Leeds”.",
        "Your consignment “Too heavy” was rejected.",
        "You signed up as Uma Interface.",
    ] {
        assert!(
            feed.contains(expected),
            "the feed lacks {expected:?}: {feed:?}"
        );
    }
    assert!(
        !feed.contains("broker.reword_events"),
        "no reworded message shows: {feed:?}"
    );
    for raw in ["barge001", tea, "ConsignmentBooked", "CapacityReserved"] {
        assert!(
            !feed.contains(raw),
            "the feed shows the raw {raw:?}: {feed:?}"
        );
    }
    me.axe("activity").await;

    // Another browser books; its story arrives here live, with names.
    let other = driver.session("other", shots()).await;
    other.goto(&format!("{base}/#/login")).await;
    log_in(&other, PASSWORD).await;
    other.wait_for_text("#view h1", "Consignments").await;
    book(&other, "Second tab goods", "5000", Some("cust002")).await;
    other
        .wait_for_text("#consignment-list", "Second tab goods")
        .await;
    me.wait_until(
        "the other browser's booking is told live",
        "return [...document.querySelectorAll('#events .fresh')].some((li) => li.textContent.includes('Your consignment “Second tab goods” was booked on Browser Barge.'))",
    )
    .await;
    me.screenshot("15-activity-updated-live").await;
    other.close().await;

    // Each sentence links to its consignment.
    let links = me
        .js("return [...document.querySelectorAll('#events a')].filter((a) => a.textContent === 'Tea for Leeds').map((a) => a.getAttribute('href'))")
        .await;
    let links = links.as_array().unwrap();
    assert!(
        links.len() >= 3,
        "too few links to Tea for Leeds: {links:?}"
    );
    assert!(
        links
            .iter()
            .all(|l| l == &json!(format!("#/consignment/{tea}"))),
        "{links:?}"
    );
    me.click(&format!("#events a[href='#/consignment/{tea}']"))
        .await;
    assert_heading_focused(me, "Tea for Leeds").await;
    me.wait_for_text("#detail-status", "Cancelled").await;
}

/// A second window of the same browser is logged in; its log-out logs the first out, which
/// remembers where it was and goes back there after logging in again.
async fn second_window(me: &Browser, base: &str) {
    let page = me.hash().await;
    let first = me.new_window().await;
    me.goto(&format!("{base}/#/vessels")).await;
    assert_heading_focused(me, "Vessels").await;
    me.wait_for_text("#vessel-list", "Browser Barge").await;
    me.wait_for_text("#who", EMAIL).await;
    me.screenshot("16-second-window-logged-in").await;
    me.click("#logout").await;
    me.wait_for_text("#notice", "You are logged out").await;
    me.close_window(first).await;
    me.wait_for_text("#notice", "You logged out in another tab.")
        .await;
    assert_eq!(me.hash().await, "#/login");
    assert!(
        !me.is_shown("#nav").await,
        "the nav stays after the log-out"
    );
    me.screenshot("17-logged-out-by-the-other-window").await;
    log_in(me, PASSWORD).await;
    assert_heading_focused(me, "Tea for Leeds").await;
    assert_eq!(
        me.hash().await,
        page,
        "the log-in did not go back to where the tab was"
    );

    // A token past its expiry is dropped, and the tab says so.
    me.js("localStorage.setItem('shippy.expires_at', String(Math.floor(Date.now() / 1000) - 1))")
        .await;
    me.goto(&format!("{base}/#/vessels")).await;
    me.wait_for_text(
        "#notice",
        "Your session has expired. Log in to see the vessels.",
    )
    .await;
    assert_eq!(
        me.js("return localStorage.getItem('shippy.token')").await,
        json!(null),
        "an expired token is kept"
    );
    log_in(me, PASSWORD).await;
    assert_heading_focused(me, "Vessels").await;
}

/// At 390 x 844 every page fits without sideways scrolling, the nav is whole and usable, and
/// tables are cards; screenshots of each, and axe on each.
async fn on_a_phone(me: &Browser, base: &str, tea: &str) {
    me.resize(390, 844).await;
    let pages = [
        ("vessels", "#/vessels", "Vessels"),
        ("consignments", "#/consignments", "Consignments"),
        (
            "detail",
            &format!("#/consignment/{tea}") as &str,
            "Tea for Leeds",
        ),
        ("activity", "#/activity", "Activity"),
    ];
    for (name, hash, heading) in pages {
        me.goto(&format!("{base}/{hash}")).await;
        assert_heading_focused(me, heading).await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        fits_a_phone(me, name).await;
        let nav = me
            .js("const w = window.innerWidth; return [...document.querySelectorAll('#nav a, #logout')].map((a) => { const r = a.getBoundingClientRect(); return r.left >= 0 && r.right <= w && r.height >= 24 && r.width >= 24; })")
            .await;
        assert_eq!(
            nav,
            json!([true, true, true, true]),
            "{name}: a nav link or Log out is cut off or too small"
        );
        me.screenshot(&format!("20-phone-{name}")).await;
        me.axe(&format!("phone-{name}")).await;
    }
    // Tables became cards: each row a block, each cell with its heading before it.
    me.goto(&format!("{base}/#/vessels")).await;
    me.wait_for_text("#vessel-list", "Browser Barge").await;
    assert_cards(me, "#vessel-list", "Containers booked").await;
    me.scroll_to("#vessel-list").await;
    me.screenshot("20-phone-fleet-as-cards").await;
    me.goto(&format!("{base}/#/consignments")).await;
    me.wait_for_text("#consignment-list", "Tea for Leeds").await;
    assert_cards(me, "#consignment-list", "Status").await;
    me.scroll_to("#consignment-list").await;
    me.screenshot("20-phone-consignments-as-cards").await;
    me.click("#consignment-submit").await;
    assert_invalid(me, "consignment-description", "Say what you are shipping").await;
    me.wait_for_text(
        "#containers-set-error",
        "Fill in at least one container: its customer id and origin",
    )
    .await;
    fits_a_phone(me, "booking-errors").await;
    me.screenshot("21-phone-booking-errors").await;

    // Logged out: the landing, log-in and sign-up pages, and the docs.
    me.click("#logout").await;
    me.wait_for_text("#notice", "You are logged out").await;
    for (name, hash, heading) in [
        ("landing", "#/", "Ship containers"),
        ("login", "#/login", "Log in"),
        ("signup", "#/signup", "Create an account"),
    ] {
        me.goto(&format!("{base}/{hash}")).await;
        me.wait_for_text("#view h1", heading).await;
        fits_a_phone(me, name).await;
        me.screenshot(&format!("22-phone-{name}")).await;
        me.axe(&format!("phone-{name}")).await;
    }
    // The same email again is refused at the email field.
    me.fill("#signup-name", "Uma Again").await;
    me.fill("#signup-email", EMAIL).await;
    me.fill("#signup-password", PASSWORD).await;
    me.click("#signup-submit").await;
    assert_invalid(
        me,
        "signup-email",
        "An account with this email exists already",
    )
    .await;
    fits_a_phone(me, "signup-errors").await;
    me.screenshot("22-phone-signup-email-taken").await;
    me.goto(&format!("{base}/docs.html")).await;
    me.wait_for_text("#contents", "/api/v1/consignments").await;
    fits_a_phone(me, "docs").await;
    me.screenshot("23-phone-docs").await;
    me.axe("phone-docs").await;
    me.resize(1280, 900).await;
    me.goto(&format!("{base}/#/login")).await;
    log_in(me, PASSWORD).await;
    me.wait_for_text("#view h1", "Consignments").await;
}

/// Asserts the table in `css` is laid out as cards: each row a block, the cell under
/// `heading` shown with that heading before it, the table's own heading row out of sight.
async fn assert_cards(me: &Browser, css: &str, heading: &str) {
    let cards = me
        .js_with(
            "const root = document.querySelector(arguments[0]);
             const tr = root.querySelector('tbody tr');
             const td = [...tr.cells].find((c) => c.dataset.label === arguments[1]);
             const head = root.querySelector('thead').getBoundingClientRect();
             return [getComputedStyle(tr).display, td ? getComputedStyle(td, '::before').content : null,
               head.width <= 1 && head.height <= 1, tr.getBoundingClientRect().right <= window.innerWidth];",
            vec![json!(css), json!(heading)],
        )
        .await;
    assert_eq!(
        cards,
        json!(["block", format!("\"{heading}\""), true, true]),
        "{css} is not cards on a phone"
    );
}

/// Asserts nothing on the page sticks out sideways at phone width.
async fn fits_a_phone(me: &Browser, name: &str) {
    let widths = me
        .js("return [document.documentElement.scrollWidth, window.innerWidth]")
        .await;
    let (scroll, inner) = (widths[0].as_u64().unwrap(), widths[1].as_u64().unwrap());
    assert!(
        inner <= 390,
        "{name}: the window is {inner} px wide, not a phone's"
    );
    assert!(
        scroll <= 390 && scroll <= inner,
        "{name}: the page is {scroll} px wide on a {inner} px screen"
    );
}

/// The API docs page: a table of contents whose every link leads to its endpoint.
async fn docs_page(me: &Browser, base: &str) {
    me.goto(&format!("{base}/docs.html")).await;
    me.wait_for_text("#docs", "/api/v1/consignments").await;
    me.wait_for_text("#contents", "Contents").await;
    let toc = me
        .js("const links = [...document.querySelectorAll('#contents a')]; return [links.length, links.every((a) => document.getElementById(a.getAttribute('href').slice(1)))]")
        .await;
    assert!(
        toc[0].as_u64().unwrap() >= 12,
        "the contents list too few endpoints: {toc}"
    );
    assert_eq!(toc[1], json!(true), "a contents link leads nowhere");
    me.click("#contents a[href='#post-api-v1-consignments']")
        .await;
    me.wait_until(
        "the endpoint is scrolled into view",
        "const r = document.getElementById('post-api-v1-consignments').getBoundingClientRect(); return r.top >= 0 && r.top < 200",
    )
    .await;
    me.screenshot("30-api-docs").await;
    me.axe("docs").await;
    me.goto(&format!("{base}/#/consignments")).await;
    me.wait_for_text("#view h1", "Consignments").await;
}
