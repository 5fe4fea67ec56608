//! A headless Chromium driven through chromedriver, with axe-core and screenshots.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

fn required() -> bool {
    std::env::var("ESSOR_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

fn axe_path() -> PathBuf {
    match std::env::var("ESSOR_AXE_DIR") {
        Ok(dir) if !dir.is_empty() => PathBuf::from(dir).join("axe.min.js"),
        _ => {
            let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
            PathBuf::from(home).join(".cache/essor/npm/node_modules/axe-core/axe.min.js")
        }
    }
}

/// Says why the browser tests cannot run; panics when they are required.
fn skip(why: &str) -> Option<Browser> {
    if required() {
        panic!("ESSOR_REQUIRE_BROWSER=1 but {why}");
    }
    eprintln!(
        "WARNING: {why}: this browser test is SKIPPED. Install chromium, chromium-driver and \
         axe-core (see docs/development.md) and set ESSOR_REQUIRE_BROWSER=1 to make this a failure."
    );
    None
}

pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
    /// Where the browser saves what a link downloads.
    pub downloads: tempfile::TempDir,
    pub base: String,
    axe: String,
    /// Screenshots go to target/screenshots/<label>/.
    label: String,
    pub js: bool,
    /// (page name, axe violations) of every page checked.
    pub audited: Vec<(String, usize)>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Browser {
    /// A fresh browser (own profile, so no cookie survives from another test).
    pub async fn open(base: &str, label: &str, js: bool) -> Option<Self> {
        for bin in [CHROMIUM, CHROMEDRIVER] {
            if !std::path::Path::new(bin).exists() {
                return skip(&format!("{bin} is not installed"));
            }
        }
        let axe = match std::fs::read_to_string(axe_path()) {
            Ok(s) => s,
            Err(e) => {
                return skip(&format!(
                    "axe-core not found at {} ({e})",
                    axe_path().display()
                ));
            }
        };
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().expect("profile directory");
        let downloads = tempfile::tempdir().expect("downloads directory");
        let mut args = vec![
            "--headless".to_owned(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            "--window-size=1280,900".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        if !js {
            args.push("--blink-settings=scriptEnabled=false".into());
        }
        let mut prefs = json!({
            "download.default_directory": downloads.path().display().to_string(),
            "download.prompt_for_download": false,
        });
        if !js {
            prefs["profile.managed_default_content_settings.javascript"] = json!(2);
        }
        let options = json!({ "binary": CHROMIUM, "args": args, "prefs": prefs });
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("goog:chromeOptions".into(), options);
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        for _ in 0..100 {
            let mut builder =
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
            builder.capabilities(caps.clone());
            match builder.connect(&url).await {
                Ok(client) => {
                    return Some(Self {
                        client,
                        driver,
                        _profile: profile,
                        downloads,
                        base: base.to_owned(),
                        axe,
                        label: label.to_owned(),
                        js,
                        audited: Vec::new(),
                    });
                }
                Err(e) => {
                    last = Some(e.to_string());
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        panic!("chromedriver did not answer: {last:?}");
    }

    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("goto {path}: {e}"));
    }

    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("current url");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    pub async fn title(&self) -> String {
        self.client.title().await.expect("title")
    }

    pub async fn h1(&self) -> String {
        self.text("h1").await
    }

    pub async fn text(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .text()
            .await
            .expect("text")
    }

    /// Waits (5 s at most) until the element's text contains `needle` (what a script
    /// writes into the page); returns the text.
    pub async fn wait_text(&self, css: &str, needle: &str) -> String {
        let mut last = String::new();
        for _ in 0..100 {
            if let Ok(el) = self.client.find(Locator::Css(css)).await {
                last = el.text().await.unwrap_or_default();
                if last.contains(needle) {
                    return last;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{css} never said « {needle} » (last: « {last} »)");
    }

    /// The page's text, with the narrow and no-break spaces of French typography as spaces.
    pub async fn body(&self) -> String {
        self.text("body").await.replace(['\u{202f}', '\u{a0}'], " ")
    }

    /// Whether the element with this id is displayed (not hidden by the page's style).
    pub async fn shown(&self, id: &str) -> bool {
        self.client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("#{id}: {e}"))
            .is_displayed()
            .await
            .expect("displayed")
    }

    /// Types into the field with this id (clearing it first).
    pub async fn fill(&self, id: &str, value: &str) {
        let el = self
            .client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("field #{id}: {e}"));
        el.clear().await.expect("clear");
        el.send_keys(value).await.expect("type");
    }

    pub async fn value(&self, id: &str) -> String {
        self.client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("field #{id}: {e}"))
            .prop("value")
            .await
            .expect("value")
            .unwrap_or_default()
    }

    /// Clicks the element with this id (a radio, a checkbox).
    pub async fn click_id(&self, id: &str) {
        self.client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("#{id}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click #{id}: {e}"));
    }

    pub async fn select(&self, id: &str, value: &str) {
        self.client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("#{id}: {e}"))
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("select {value} in #{id}: {e}"));
    }

    async fn document(&self) -> fantoccini::elements::ElementRef {
        self.client
            .find(Locator::Css("html"))
            .await
            .expect("a document")
            .element_id()
    }

    /// Waits (10 s at most) until the browser shows a new document: a click on a link or a
    /// submit button returns before the next page is there.
    async fn wait_for_new_document(&self, old: fantoccini::elements::ElementRef, what: &str) {
        for _ in 0..200 {
            if let Ok(el) = self.client.find(Locator::Css("html")).await
                && el.element_id() != old
                && el.text().await.is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no new page after « {what} »");
    }

    /// Clicks the button whose text contains `label` (a form's submit button) and waits for
    /// the page that answers.
    pub async fn press(&self, label: &str) {
        let xpath = format!("//button[contains(normalize-space(.), \"{label}\")]");
        let old = self.document().await;
        self.client
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("button « {label} »: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("press « {label} »: {e}"));
        self.wait_for_new_document(old, label).await;
    }

    /// Sends Enter to a focused element (a field or a button) and waits for the next page.
    pub async fn enter(&self, el: &fantoccini::elements::Element) {
        let old = self.document().await;
        el.send_keys(&char::from(fantoccini::key::Key::Enter).to_string())
            .await
            .expect("Enter");
        self.wait_for_new_document(old, "Entrée").await;
    }

    /// Records the page: axe-core and screenshots with JavaScript on, screenshots only
    /// without (axe runs in the page, which then runs no script).
    pub async fn visit(&mut self, name: &str) {
        if self.js {
            self.check_page(name).await;
        } else {
            self.screenshots(name).await;
        }
    }

    /// Presses Tab until the focused element satisfies `done(id, text)` (at most 60 times);
    /// returns it and the number of presses.
    pub async fn tab_to(
        &self,
        what: &str,
        done: impl Fn(&str, &str) -> bool,
    ) -> (fantoccini::elements::Element, usize) {
        let tab = char::from(fantoccini::key::Key::Tab).to_string();
        for presses in 1..=60 {
            let el = self.client.active_element().await.expect("focused element");
            el.send_keys(&tab).await.expect("Tab");
            let el = self.client.active_element().await.expect("focused element");
            let id = el.attr("id").await.ok().flatten().unwrap_or_default();
            let text = el.text().await.unwrap_or_default();
            if done(&id, &text) {
                return (el, presses);
            }
        }
        panic!("Tab never reached {what}");
    }

    /// Follows the link (or presses the button) whose text contains `label`, and waits for
    /// the next page.
    pub async fn click(&self, label: &str) {
        let xpath = format!(
            "//button[contains(normalize-space(.), \"{label}\")] | //a[contains(normalize-space(.), \"{label}\")]"
        );
        let old = self.document().await;
        self.client
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("button or link « {label} »: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click « {label} »: {e}"));
        self.wait_for_new_document(old, label).await;
    }

    pub async fn upload(&self, id: &str, path: &std::path::Path) {
        self.client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("#{id}: {e}"))
            .send_keys(&path.display().to_string())
            .await
            .expect("choose file");
    }

    /// Runs axe-core on the page (WCAG 2.0/2.1 A and AA rules), asserts no violation, and
    /// saves screenshots at 1280 and 375 px wide.
    pub async fn check_page(&mut self, name: &str) {
        let violations = self.axe().await;
        self.audited.push((name.to_owned(), violations.len()));
        assert!(
            violations.is_empty(),
            "axe-core on « {name} » ({}): {}",
            self.path().await,
            serde_json::to_string_pretty(&violations).unwrap()
        );
        self.screenshots(name).await;
    }

    /// At 375 px wide, nothing on the page scrolls sideways: neither the page nor any box in
    /// it (a table's region included). Names the boxes that do.
    pub async fn fits_at_375(&self, what: &str) {
        self.client
            .set_window_size(375, 900)
            .await
            .expect("window size");
        let wide = self
            .client
            .execute(
                r#"const out = [];
                   const doc = document.documentElement;
                   if (doc.scrollWidth > doc.clientWidth + 1) { out.push("page " + doc.scrollWidth); }
                   for (const el of document.querySelectorAll("body *")) {
                     const s = getComputedStyle(el);
                     if (s.display === "none" || el.closest(".visually-hidden")) { continue; }
                     // Inside a box hidden for the eyes only (1 px, clipped): not seen.
                     let p = el, clipped = false;
                     while (p && p !== document.body) {
                       if (getComputedStyle(p).position === "absolute" && p.getBoundingClientRect().width <= 1) { clipped = true; break; }
                       p = p.parentElement;
                     }
                     if (clipped) { continue; }
                     const scrolls = ["auto", "scroll"].includes(s.overflowX);
                     if (scrolls && el.scrollWidth > el.clientWidth + 1) {
                       out.push(el.tagName + "." + el.className + " scrolls " + el.scrollWidth + " > " + el.clientWidth);
                     }
                     const r = el.getBoundingClientRect();
                     if (r.width > 0 && r.right > doc.clientWidth + 1 && s.position !== "absolute") {
                       out.push(el.tagName + "." + el.className + " ends at " + Math.round(r.right));
                     }
                   }
                   return out.slice(0, 10);"#,
                vec![],
            )
            .await
            .expect("layout read");
        self.client
            .set_window_size(1280, 900)
            .await
            .expect("window size");
        let wide: Vec<String> = serde_json::from_value(wide).unwrap_or_default();
        assert!(wide.is_empty(), "{what} at 375 px: {wide:#?}");
    }

    /// Saves screenshots without an axe run (JavaScript off: axe cannot run in the page).
    pub async fn screenshots(&self, name: &str) {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("target/screenshots")
            .join(&self.label);
        std::fs::create_dir_all(&dir).expect("screenshot directory");
        for width in [1280u32, 375] {
            self.client
                .set_window_size(width, 900)
                .await
                .expect("window size");
            let height = self
                .client
                .execute("return document.documentElement.scrollHeight;", vec![])
                .await
                .ok()
                .and_then(|v| v.as_u64())
                .unwrap_or(900)
                .clamp(600, 6000) as u32;
            self.client
                .set_window_size(width, height + 140)
                .await
                .expect("window size");
            let png = self.client.screenshot().await.expect("screenshot");
            std::fs::write(dir.join(format!("{name}-{width}.png")), png).expect("save screenshot");
        }
        self.client
            .set_window_size(1280, 900)
            .await
            .expect("window size");
    }

    async fn axe(&self) -> Vec<Value> {
        // WebDriver's scripts are not the page's: the CSP (default-src 'self') does not stop
        // them, so axe is injected on every page without relaxing the policy.
        self.client
            .execute(&format!("{}\nreturn true;", self.axe), vec![])
            .await
            .expect("inject axe-core");
        let result = self
            .client
            .execute_async(
                r#"const done = arguments[arguments.length - 1];
                   axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } })
                     .then(r => done(JSON.stringify(r.violations.map(v => ({
                        id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.map(n => n.target.join(" ") + " : " + n.failureSummary) })))))
                     .catch(e => done(JSON.stringify([{ id: "axe-error", help: String(e) }])));"#,
                vec![],
            )
            .await
            .expect("axe-core runs");
        serde_json::from_str(result.as_str().unwrap_or("[]")).expect("axe result")
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}
