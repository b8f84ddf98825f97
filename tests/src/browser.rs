//! A headless Chromium driven over WebDriver (Debian's `chromium` and `chromium-driver`,
//! installed by `scripts/test-deps.sh`): one chromedriver per test, any number of browser
//! sessions on it, screenshots saved for a person to look at, and the axe-core accessibility
//! engine (npm, installed by the same script into the cache folder) run on any page.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use fantoccini::wd::WindowHandle;
use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// axe-core's `axe.min.js`, as `scripts/test-deps.sh` installs it (read once).
fn axe_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let path = std::env::var_os("SHIPPY_AXE").map_or_else(
            || crate::cache_dir().join("npm/node_modules/axe-core/axe.min.js"),
            PathBuf::from,
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "cannot read axe-core at {} ({e}): run scripts/test-deps.sh",
                path.display()
            )
        })
    })
}

/// A running chromedriver.
pub struct Driver {
    url: String,
    _process: Child,
    profiles: tempfile::TempDir,
}

/// The program at `var` in the environment, or `default`.
fn program(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

impl Driver {
    /// Starts chromedriver on a free port and waits until it answers.
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let path = program("SHIPPY_CHROMEDRIVER", "/usr/bin/chromedriver");
        let process = Command::new(&path)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {path} ({e}): run scripts/test-deps.sh"));
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self {
            url: format!("http://127.0.0.1:{port}"),
            _process: process,
            profiles: tempfile::tempdir().unwrap(),
        }
    }

    /// A new headless browser session with its own empty profile.
    pub async fn session(&self, name: &str, shots: PathBuf) -> Browser {
        let profile = self.profiles.path().join(name);
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
        ];
        let mut args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": program("SHIPPY_CHROMIUM", "/usr/bin/chromium"), "args": args },
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("no browser session: {e}"));
        std::fs::create_dir_all(&shots).unwrap();
        Browser { client, shots }
    }
}

/// One browser session.
pub struct Browser {
    pub client: Client,
    shots: PathBuf,
}

impl Browser {
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    /// The element `css` selects, once it is there (10 s at most).
    pub async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} on the page: {e}"))
    }

    /// Types `text` into the input `css` selects, replacing what was there.
    pub async fn fill(&self, css: &str, text: &str) {
        let input = self.find(css).await;
        input.clear().await.unwrap();
        input.send_keys(text).await.unwrap();
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap();
    }

    /// The text of `css` once it contains `expected` (10 s at most).
    pub async fn wait_for_text(&self, css: &str, expected: &str) -> String {
        let mut last = String::new();
        for _ in 0..100 {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                last = element.text().await.unwrap_or_default();
                if last.contains(expected) {
                    return last;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.screenshot("failure").await;
        panic!("{css} never showed {expected:?}; it showed {last:?}");
    }

    /// Saves what the page looks like now as `<shots>/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }

    pub async fn resize(&self, width: u32, height: u32) {
        self.client.set_window_size(width, height).await.unwrap();
    }

    /// What `script` (a function body: `return ...`) answers in the page.
    pub async fn js(&self, script: &str) -> Value {
        self.js_with(script, vec![]).await
    }

    /// What `script` answers with `args` as `arguments`.
    pub async fn js_with(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Waits (10 s at most) until `script` answers something truthy, and answers it; else
    /// fails saying `what` was expected, with a screenshot.
    pub async fn wait_until(&self, what: &str, script: &str) -> Value {
        for _ in 0..100 {
            let value = self.js(script).await;
            if !matches!(&value, Value::Null | Value::Bool(false))
                && value != json!("")
                && value != json!(0)
            {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.screenshot("failure").await;
        panic!("never true: {what} ({script})");
    }

    /// The attribute `name` of the element `css` selects, once it is there.
    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.find(css).await.attr(name).await.unwrap()
    }

    /// Whether a person sees the element `css` selects (false when there is none).
    pub async fn is_shown(&self, css: &str) -> bool {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => element.is_displayed().await.unwrap_or(false),
            Err(_) => false,
        }
    }

    /// The visible text of the element `css` selects, once it is there.
    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    /// Scrolls the element `css` selects to the top of the window (for a screenshot of it).
    pub async fn scroll_to(&self, css: &str) {
        let element = self.find(css).await;
        let element = serde_json::to_value(&element).unwrap();
        self.js_with(
            "arguments[0].scrollIntoView({ block: 'start' })",
            vec![element],
        )
        .await;
    }

    /// The id of the element that has the focus ("" when it has none).
    pub async fn focused(&self) -> String {
        self.js("return document.activeElement ? document.activeElement.id : ''")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The part of the address after `#`.
    pub async fn hash(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        url.fragment().map(|f| format!("#{f}")).unwrap_or_default()
    }

    /// Opens a new window of this same browser session (the same profile, so the same
    /// localStorage) and switches to it; answers the window it left.
    pub async fn new_window(&self) -> WindowHandle {
        let left = self.client.window().await.unwrap();
        let opened = self.client.new_window(false).await.unwrap();
        self.client.switch_to_window(opened.handle).await.unwrap();
        left
    }

    /// Makes `window` the one commands go to.
    pub async fn switch_to(&self, window: WindowHandle) {
        self.client.switch_to_window(window).await.unwrap();
    }

    /// Closes the current window and switches to `then`.
    pub async fn close_window(&self, then: WindowHandle) {
        self.client.close_window().await.unwrap();
        self.client.switch_to_window(then).await.unwrap();
    }

    /// Runs axe-core on the page as it is now and fails on any violation of impact
    /// `serious` or `critical`, listing each with the elements it found; the others are
    /// printed. axe is injected with WebDriver's execute, which the page's CSP allows.
    pub async fn axe(&self, page: &str) {
        let injected = self.js("return typeof window.axe === 'object'").await;
        if injected != json!(true) {
            self.js(&format!("{}\nreturn true;", axe_source())).await;
        }
        let script = "const done = arguments[arguments.length - 1];
            axe.run(document, { resultTypes: ['violations'] })
              .then((r) => done(JSON.stringify({ violations: r.violations, passes: r.passes.length })))
              .catch((e) => done(JSON.stringify({ error: String(e) })));";
        let answer = self.client.execute_async(script, vec![]).await.unwrap();
        let answer: Value = serde_json::from_str(answer.as_str().unwrap()).unwrap();
        assert!(
            answer.get("error").is_none(),
            "axe failed on {page}: {answer}"
        );
        // A run that checked nothing would pass anything.
        let passes = answer["passes"].as_u64().unwrap_or(0);
        assert!(passes >= 10, "axe checked only {passes} rules on {page}");
        let violations = answer["violations"].as_array().unwrap();
        let describe = |v: &Value| {
            let nodes: Vec<String> = v["nodes"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|n| {
                    format!(
                        "    {} {}",
                        n["target"],
                        n["failureSummary"]
                            .as_str()
                            .unwrap_or_default()
                            .replace('\n', " ")
                    )
                })
                .collect();
            format!(
                "  {} ({}): {}\n{}",
                v["id"],
                v["impact"],
                v["help"].as_str().unwrap_or_default(),
                nodes.join("\n")
            )
        };
        let (bad, other): (Vec<&Value>, Vec<&Value>) = violations
            .iter()
            .partition(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")));
        if !other.is_empty() {
            let list: Vec<String> = other.iter().map(|v| describe(v)).collect();
            eprintln!("axe on {page}, minor or moderate:\n{}", list.join("\n"));
        }
        if !bad.is_empty() {
            self.screenshot(&format!("axe-failure-{page}")).await;
            let list: Vec<String> = bad.iter().map(|v| describe(v)).collect();
            panic!(
                "axe found serious or critical violations on {page}:\n{}",
                list.join("\n")
            );
        }
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
