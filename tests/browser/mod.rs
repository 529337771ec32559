//! Drives Debian's headless Chromium over the DevTools protocol, so tests can
//! load a page from a file, collect console errors and network requests, read
//! the DOM and take screenshots.
//!
//! Chromium starts with a new profile, with DNS answering "not found" for every
//! name and an unreachable proxy, so a page that tried to load something from the
//! network could not. The tests also fail on any request for a URL that is not a
//! `file:`, `data:` or `about:` URL.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

/// Set to make a missing Chromium fail the test instead of skipping it.
pub const REQUIRE_BROWSER_ENV: &str = "CORROBORATE_REQUIRE_BROWSER";

/// How long any single browser step may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);

/// Finds Chromium: `CORROBORATE_CHROMIUM` when set, else `/usr/bin/chromium`.
pub fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CORROBORATE_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let default = Path::new("/usr/bin/chromium");
    default.exists().then(|| default.to_path_buf())
}

/// Returns Chromium, or `None` after printing why the test is skipped. Panics
/// when [`REQUIRE_BROWSER_ENV`] is set and Chromium is missing.
pub fn chromium_or_skip(test: &str) -> Option<PathBuf> {
    match find_chromium() {
        Some(path) => Some(path),
        None if std::env::var_os(REQUIRE_BROWSER_ENV).is_some() => panic!(
            "{test}: chromium not found at /usr/bin/chromium (or CORROBORATE_CHROMIUM), \
             and {REQUIRE_BROWSER_ENV} is set; install it with .ci/setup-chromium.sh"
        ),
        None => {
            eprintln!(
                "{test}: skipped, chromium not found at /usr/bin/chromium; install it with \
                 .ci/setup-chromium.sh, or set {REQUIRE_BROWSER_ENV} to make this a failure"
            );
            None
        }
    }
}

/// What loading a page produced.
#[derive(Debug, Default)]
pub struct PageLoad {
    /// Console errors, uncaught exceptions and browser log errors (such as
    /// Content-Security-Policy violations), as text.
    pub errors: Vec<String>,
    /// Every URL the page requested, the page itself included.
    pub requests: Vec<String>,
    /// Messages of JavaScript dialogs (`alert`, `confirm`) the page opened.
    pub dialogs: Vec<String>,
}

/// A running headless Chromium with one page attached.
pub struct Browser {
    child: Child,
    socket: WebSocket<TcpStream>,
    session: String,
    next_id: u64,
    events: Vec<Value>,
    stderr: mpsc::Receiver<String>,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts Chromium with a fresh profile and opens a blank page of the given
    /// viewport size.
    pub fn launch(chromium: &Path, width: u32, height: u32) -> Browser {
        let profile = tempfile::tempdir().expect("temporary profile folder");
        let mut child = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--disable-default-apps",
                "--hide-scrollbars",
                "--host-resolver-rules=MAP * ~NOTFOUND",
                "--proxy-server=http://127.0.0.1:9",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(format!("--window-size={width},{height}"))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("starting {} failed: {error}", chromium.display()));

        // Chromium prints the DevTools address on stderr; the reader thread keeps
        // draining stderr afterwards so the browser never blocks on a full pipe.
        let stderr = child.stderr.take().expect("piped stderr");
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + STEP_TIMEOUT;
        let mut seen = Vec::new();
        let address = loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            match receiver.recv_timeout(remaining) {
                Ok(line) => {
                    if let Some(address) = line.strip_prefix("DevTools listening on ") {
                        break address.trim().to_string();
                    }
                    seen.push(line);
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "chromium printed no DevTools address within {STEP_TIMEOUT:?}; stderr:\n{}",
                        seen.join("\n")
                    );
                }
            }
        };

        let host_port = address
            .strip_prefix("ws://")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_else(|| panic!("unexpected DevTools address {address}"))
            .to_string();
        let stream = TcpStream::connect(&host_port).unwrap_or_else(|error| {
            panic!("connecting to DevTools at {host_port} failed: {error}")
        });
        // A loaded machine can take seconds to answer the handshake; polling for
        // events afterwards uses the short timeout.
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("read timeout");
        let (socket, _) = tungstenite::client(address.as_str(), stream)
            .unwrap_or_else(|error| panic!("DevTools handshake with {address} failed: {error}"));
        socket
            .get_ref()
            .set_read_timeout(Some(Duration::from_millis(500)))
            .expect("read timeout");

        let mut browser = Browser {
            child,
            socket,
            session: String::new(),
            next_id: 0,
            events: Vec::new(),
            stderr: receiver,
            _profile: profile,
        };
        let target = browser.call_browser("Target.createTarget", json!({"url": "about:blank"}));
        let target_id = target["targetId"].as_str().expect("target id").to_string();
        let attached = browser.call_browser(
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
        );
        browser.session = attached["sessionId"]
            .as_str()
            .expect("session id")
            .to_string();
        for domain in [
            "Page.enable",
            "Runtime.enable",
            "Log.enable",
            "Network.enable",
        ] {
            browser.call(domain, json!({}));
        }
        browser.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        );
        browser
    }

    fn send(&mut self, session: Option<String>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = Value::String(session);
        }
        self.socket
            .send(Message::text(message.to_string()))
            .unwrap_or_else(|error| panic!("sending {method} failed: {error}"));
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            let message = self
                .read(deadline)
                .unwrap_or_else(|| panic!("no answer to {method} within {STEP_TIMEOUT:?}"));
            if message["id"].as_u64() == Some(id) {
                if let Some(error) = message.get("error") {
                    panic!("{method} failed: {error}");
                }
                return message["result"].clone();
            }
            self.events.push(message);
        }
    }

    /// Reads one DevTools message, or `None` once `deadline` passes.
    fn read(&mut self, deadline: Instant) -> Option<Value> {
        loop {
            if Instant::now() >= deadline {
                return None;
            }
            match self.socket.read() {
                Ok(Message::Text(text)) => {
                    return Some(serde_json::from_str(text.as_str()).expect("DevTools sends JSON"));
                }
                Ok(_) => continue,
                Err(tungstenite::Error::Io(error))
                    if matches!(
                        error.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    continue;
                }
                Err(error) => panic!("reading from DevTools failed: {error}"),
            }
        }
    }

    /// Calls a browser-level method.
    fn call_browser(&mut self, method: &str, params: Value) -> Value {
        self.send(None, method, params)
    }

    /// Calls a method on the page.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.send(Some(session), method, params)
    }

    /// Waits for a page event, keeping the events read meanwhile.
    fn wait_for(&mut self, method: &str) -> Value {
        if let Some(index) = self
            .events
            .iter()
            .position(|event| event["method"] == method)
        {
            return self.events.remove(index);
        }
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            let message = self
                .read(deadline)
                .unwrap_or_else(|| panic!("no {method} event within {STEP_TIMEOUT:?}"));
            if message["method"] == method {
                return message;
            }
            self.events.push(message);
        }
    }

    /// Loads `path`, waits for its load event and for scripts to settle, and
    /// returns the errors, requests and dialogs seen.
    pub fn load(&mut self, path: &Path) -> PageLoad {
        self.events.clear();
        let url = format!(
            "file://{}",
            path.canonicalize().expect("page exists").display()
        );
        self.call("Page.navigate", json!({"url": url}));
        self.wait_for("Page.loadEventFired");
        // A round trip through the page's script runner delivers the events the
        // page produced before it.
        self.evaluate("new Promise(resolve => setTimeout(() => resolve(true), 300))");
        let mut load = PageLoad::default();
        for event in &self.events {
            let params = &event["params"];
            match event["method"].as_str().unwrap_or_default() {
                "Runtime.consoleAPICalled"
                    if matches!(params["type"].as_str(), Some("error" | "assert")) =>
                {
                    load.errors
                        .push(format!("console.{}: {}", params["type"], params["args"]));
                }
                "Runtime.exceptionThrown" => {
                    load.errors
                        .push(format!("exception: {}", params["exceptionDetails"]));
                }
                "Log.entryAdded" if params["entry"]["level"] == "error" => {
                    load.errors.push(format!(
                        "log: {} ({})",
                        params["entry"]["text"], params["entry"]["url"]
                    ));
                }
                "Network.requestWillBeSent" => {
                    load.requests.push(
                        params["request"]["url"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                    );
                }
                "Page.javascriptDialogOpening" => {
                    load.dialogs.push(params["message"].to_string());
                }
                _ => {}
            }
        }
        load
    }

    /// Evaluates a JavaScript expression in the page, awaiting a promise, and
    /// returns its value.
    pub fn evaluate(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(details) = result.get("exceptionDetails") {
            panic!("evaluating `{expression}` threw: {details}");
        }
        result["result"]["value"].clone()
    }

    /// Returns the DOM as Chromium serialises it, as `--dump-dom` prints it.
    pub fn dom(&mut self) -> String {
        self.evaluate("document.documentElement.outerHTML")
            .as_str()
            .expect("outerHTML is a string")
            .to_string()
    }

    /// Writes a PNG of the first element matching a CSS selector.
    pub fn screenshot_element(&mut self, selector: &str, path: &Path) {
        let selector = serde_json::to_string(selector).unwrap();
        let rect = self.evaluate(&format!(
            "(() => {{ const box = document.querySelector({selector}).getBoundingClientRect(); \
             return [box.left + scrollX, box.top + scrollY, box.width, box.height]; }})()"
        ));
        let rect: Vec<f64> = serde_json::from_value(rect).expect("a bounding box");
        let params = json!({
            "format": "png",
            "captureBeyondViewport": true,
            "clip": {"x": rect[0], "y": rect[1], "width": rect[2], "height": rect[3].min(16_000.0), "scale": 1},
        });
        self.write_screenshot(params, path);
    }

    /// Writes a PNG of the viewport, or of the whole page when `full_page`.
    pub fn screenshot(&mut self, path: &Path, full_page: bool) {
        let mut params = json!({"format": "png"});
        if full_page {
            let metrics = self.call("Page.getLayoutMetrics", json!({}));
            let size = &metrics["cssContentSize"];
            params["captureBeyondViewport"] = Value::Bool(true);
            params["clip"] = json!({
                "x": 0,
                "y": 0,
                "width": size["width"].as_f64().unwrap_or(1280.0),
                "height": size["height"].as_f64().unwrap_or(900.0).min(16_000.0),
                "scale": 1,
            });
        }
        self.write_screenshot(params, path);
    }

    fn write_screenshot(&mut self, params: Value, path: &Path) {
        let shot = self.call("Page.captureScreenshot", params);
        let data = shot["data"].as_str().expect("screenshot data");
        use base64::Engine as _;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data)
            .expect("screenshot is base64");
        std::fs::write(path, png).expect("screenshot written");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.next_id += 1;
        let close = json!({"id": self.next_id, "method": "Browser.close"});
        let _ = self.socket.send(Message::text(close.to_string()));
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        while self.stderr.try_recv().is_ok() {}
    }
}
