//! A headless Chromium driven over WebDriver (Debian's `chromium` and `chromium-driver`): a small
//! W3C WebDriver client over reqwest, enough for the console test. Every wait has a deadline.
//!
//! Without the browser the test prints a visible skip notice, unless `EPS_REQUIRE_BROWSER` is
//! set (CI sets it), in which case a missing browser fails the test.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use tokio::process::{Child, Command};
use tokio::time::Instant;

/// Debian's Chromium.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's chromedriver.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long a wait for the page may take before the test fails.
pub const PAGE_BOUND: Duration = Duration::from_secs(30);
/// The W3C name of an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A browser session (and the chromedriver serving it; both end when this is dropped).
pub struct Browser {
    http: reqwest::Client,
    session: String,
    driver: Child,
    screenshots: PathBuf,
}

/// An element of the page.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Browser {
    /// A headless browser, or `None` (after a visible notice) when it is not installed and not
    /// required.
    pub async fn launch(screenshots: &Path) -> Option<Self> {
        crate::init();
        let installed = Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists();
        if !installed {
            assert!(
                std::env::var_os("EPS_REQUIRE_BROWSER").is_none(),
                "EPS_REQUIRE_BROWSER is set but {CHROMIUM} or {CHROMEDRIVER} is missing \
                 (apt-get install chromium chromium-driver)"
            );
            eprintln!(
                "\n*** SKIPPED: the console browser test needs {CHROMIUM} and {CHROMEDRIVER} \
                 (apt-get install chromium chromium-driver; .ci/run installs them) ***\n"
            );
            return None;
        }
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            listener.local_addr().expect("its address").port()
        };
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let http = reqwest::Client::builder()
            .timeout(PAGE_BOUND)
            .build()
            .expect("HTTP client");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + PAGE_BOUND;
        loop {
            let ready = http
                .get(format!("{base}/status"))
                .send()
                .await
                .ok()
                .map(|r| r.status().is_success())
                .unwrap_or(false);
            if ready {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,1000",
                         "--no-first-run", "--no-default-browser-check"]
            }
        }}});
        let created: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .expect("session request")
            .json()
            .await
            .expect("session answer");
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {created}"))
            .to_owned();
        std::fs::create_dir_all(screenshots).expect("screenshot directory");
        Some(Self {
            http,
            session: format!("{base}/session/{session}"),
            driver,
            screenshots: screenshots.to_owned(),
        })
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.session));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request
            .send()
            .await
            .expect("WebDriver request")
            .json()
            .await
            .expect("WebDriver answer");
        answer["value"].clone()
    }

    /// Opens `url`.
    pub async fn open(&self, url: &str) {
        let answer = self
            .call(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
        assert!(answer.is_null(), "opening {url}: {answer}");
    }

    /// Resizes the window.
    pub async fn resize(&self, width: u32, height: u32) {
        self.call(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        )
        .await;
    }

    /// The first element `css` matches now, if any.
    pub async fn find_now(&self, css: &str) -> Option<Element> {
        let value = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        value[ELEMENT_KEY].as_str().map(|id| Element(id.to_owned()))
    }

    /// Waits for an element `css` matches.
    pub async fn find(&self, css: &str) -> Element {
        let deadline = Instant::now() + PAGE_BOUND;
        loop {
            if let Some(element) = self.find_now(css).await {
                return element;
            }
            assert!(Instant::now() < deadline, "no element matches {css}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the text of the element `css` matches contains `expected`; returns the text.
    pub async fn wait_text(&self, css: &str, expected: &str) -> String {
        let deadline = Instant::now() + PAGE_BOUND;
        loop {
            if let Some(element) = self.find_now(css).await {
                let text = self.text(&element).await;
                if text.contains(expected) {
                    return text;
                }
                assert!(
                    Instant::now() < deadline,
                    "{css} shows {text:?}, not {expected:?}"
                );
            } else {
                assert!(Instant::now() < deadline, "no element matches {css}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The element's visible text.
    pub async fn text(&self, element: &Element) -> String {
        let value = self
            .call(
                reqwest::Method::GET,
                &format!("/element/{}/text", element.0),
                None,
            )
            .await;
        value.as_str().unwrap_or_default().to_owned()
    }

    /// Clicks the element `css` matches (waiting for it; found again when a live update
    /// replaced it between finding and clicking).
    pub async fn click(&self, css: &str) {
        self.act_on(css, "click", json!({})).await;
    }

    /// Types `text` into the element `css` matches (waiting for it, as [`Self::click`]).
    pub async fn type_into(&self, css: &str, text: &str) {
        self.act_on(css, "value", json!({"text": text})).await;
    }

    /// Posts `action` to the element `css` matches, finding it again while the page replaces it.
    async fn act_on(&self, css: &str, action: &str, body: Value) {
        let deadline = Instant::now() + PAGE_BOUND;
        loop {
            let element = self.find(css).await;
            let answer = self
                .call(
                    reqwest::Method::POST,
                    &format!("/element/{}/{action}", element.0),
                    Some(body.clone()),
                )
                .await;
            if answer.is_null() {
                return;
            }
            let stale = answer["error"] == "stale element reference";
            assert!(
                stale && Instant::now() < deadline,
                "{action} on {css}: {answer}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Picks `value` in the select `css` matches.
    pub async fn select(&self, css: &str, value: &str) {
        self.click(&format!("{css} option[value=\"{value}\"]"))
            .await;
    }

    /// Runs `script` in the page and returns its value.
    pub async fn script(&self, script: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// Saves a PNG of the window as `<name>.png` in the screenshot directory.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let value = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(value.as_str().expect("a screenshot"))
            .expect("base64 PNG");
        let path = self.screenshots.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("screenshot written");
        path
    }

    /// Ends the session and the driver.
    pub async fn quit(mut self) {
        self.call(reqwest::Method::DELETE, "", None).await;
        let _ = self.driver.kill().await;
    }
}
