//! End to end: the explorer page, served by `wscope-server`, in Debian's
//! Chromium (through chromedriver) or Firefox ESR (through geckodriver, with
//! `WSCOPE_E2E_BROWSER=firefox`), used as a person would: compute an
//! accept, build a frame and read its bytes, connect live and send, see the
//! events and the tapped frames, inject an unmasked frame and see 1002, close.
//!
//! A second test holds the live panel's note about chunks the tap dropped
//! to the numbers the server sends.
//!
//! Needs `www/pkg` (the wasm package) and the browser's driver on PATH;
//! `cargo xtask test` provides them and runs `cargo test -p wscope-tests
//! --features e2e --test e2e` once per browser. Screenshots go to
//! `target/e2e/<browser>/`.
//!
//! Every wait is bounded only so a hang becomes a failure; nothing asserts
//! on time.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use wscope_server::{Server, ServerConfig};

mod check;
mod clients;
mod newcomer;
mod sends;
mod sessions;

const WAIT: Duration = Duration::from_secs(15);

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The browser under test: `WSCOPE_E2E_BROWSER` = `chromium` (default) or
/// `firefox` (Debian's Firefox ESR through geckodriver).
fn browser_key() -> String {
    std::env::var("WSCOPE_E2E_BROWSER").unwrap_or_else(|_| "chromium".into())
}

fn is_firefox() -> bool {
    browser_key() == "firefox"
}

/// The browser's WebDriver server (chromedriver or geckodriver) on a free
/// port; killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    async fn start() -> Driver {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        // Waited for in Drop, or below when it never starts listening.
        #[allow(clippy::zombie_processes)]
        let driver = if is_firefox() {
            std::env::var("GECKODRIVER").unwrap_or_else(|_| "geckodriver".into())
        } else {
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into())
        };
        let mut child = Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{driver} on PATH (cargo xtask test installs it): {e}"));
        for _ in 0..300 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Driver { child, url: format!("http://127.0.0.1:{port}") };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("{driver} did not start listening on port {port}");
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn browser(driver: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    if is_firefox() {
        caps.insert(
            "moz:firefoxOptions".into(),
            serde_json::json!({
                "binary": "/usr/bin/firefox-esr",
                "args": ["-headless", "--width=1280", "--height=800"],
                "prefs": { "app.update.enabled": false, "datareporting.policy.dataSubmissionEnabled": false },
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let c = ClientBuilder::new(connector).capabilities(caps).connect(&driver.url).await.expect("a Firefox session");
        c.set_window_size(1280, 800).await.unwrap();
        let ua = c.execute("return navigator.userAgent", vec![]).await.unwrap();
        assert!(ua.as_str().is_some_and(|u| u.contains("Firefox/")), "not Firefox: {ua}");
        return c;
    }
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1280,800",
            ],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let c = ClientBuilder::new(connector).capabilities(caps).connect(&driver.url).await.expect("a Chromium session");
    let ua = c.execute("return navigator.userAgent", vec![]).await.unwrap();
    assert!(ua.as_str().is_some_and(|u| u.contains("Chrome/")), "not Chromium: {ua}");
    c
}

/// Navigates to `url` and waits until the page has wired its panels
/// (`main.js` marks `body.ready` after the wasm core loaded): WebDriver's
/// navigation returns at the load event, which can come before that, and a
/// click on a control not yet wired is lost.
async fn open(c: &Client, url: &str) {
    c.goto(url).await.unwrap();
    present(c, "body.ready").await;
}

/// Polls `check` until it yields a value.
async fn until<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The element for `css`, made visible first if it sits in a hidden panel
/// (by clicking the navigation entry that points at its panel).
async fn el(c: &Client, css: &str) -> Element {
    let e = until(css, || async { c.find(Locator::Css(css)).await.ok() }).await;
    if !e.is_displayed().await.unwrap_or(false) {
        let script = r##"
            const el = document.querySelector(arguments[0]);
            const panel = el && el.closest('section[id], [role=tabpanel][id]');
            if (!panel) return false;
            const id = panel.id;
            const nav = document.querySelector(`[href="#${id}"], [aria-controls="${id}"], [data-panel="${id}"]`);
            if (!nav) return false;
            nav.click();
            return true;
        "##;
        c.execute(script, vec![serde_json::json!(css)]).await.unwrap();
    }
    until(&format!("{css} to be shown"), || async { e.is_displayed().await.unwrap_or(false).then_some(()) }).await;
    e
}

async fn type_into(c: &Client, css: &str, text: &str) {
    let e = el(c, css).await;
    e.clear().await.unwrap();
    e.send_keys(text).await.unwrap();
}

async fn attr_is(c: &Client, css: &str, attr: &str, want: &str) {
    until(&format!("{css} [{attr}] = {want:?}"), || async {
        let got = c.find(Locator::Css(css)).await.ok()?.attr(attr).await.ok()??;
        (got == want).then_some(())
    })
    .await;
}

async fn text_is(c: &Client, css: &str, want: &str) {
    until(&format!("{css} text = {want:?}"), || async {
        let got = c.find(Locator::Css(css)).await.ok()?.text().await.ok()?;
        (got.trim() == want).then_some(())
    })
    .await;
}

/// Waits for an element matching `css` to exist; returns it.
async fn present(c: &Client, css: &str) -> Element {
    until(&format!("{css} to appear"), || async { c.find(Locator::Css(css)).await.ok() }).await
}

async fn set_checked(c: &Client, css: &str, on: bool) {
    let e = el(c, css).await;
    if e.is_selected().await.unwrap() != on {
        e.click().await.unwrap();
    }
}

/// A screenshot of the panel the person is working in (the one holding the
/// focused element), scrolled to its top, so both browsers show the same.
async fn screenshot(c: &Client, name: &str) {
    let scroll = "const s = document.activeElement && document.activeElement.closest('section.panel'); \
                  if (s) s.scrollIntoView({ block: 'start' });";
    c.execute(scroll, vec![]).await.unwrap();
    let dir = repo().join("target").join("e2e").join(browser_key());
    std::fs::create_dir_all(&dir).unwrap();
    let png = c.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_explorer_as_a_person_uses_it() {
    assert!(
        repo().join("www/pkg/wscope_wasm_bg.wasm").is_file(),
        "www/pkg is missing: run through `cargo xtask test`, which builds it"
    );
    let server = Server::start(ServerConfig::new("127.0.0.1:0".parse().unwrap(), repo().join("www"))).await.unwrap();
    let addr = server.local_addr();
    let driver = Driver::start().await;
    let c = browser(&driver).await;
    open(&c, &format!("http://{addr}/")).await;

    // Handshake: the RFC's sample key gives the RFC's accept.
    type_into(&c, "#hs-key", "dGhlIHNhbXBsZSBub25jZQ==").await;
    text_is(&c, "#hs-accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=").await;
    screenshot(&c, "1-handshake").await;

    // Frame builder: the RFC 5.7 masked "Hello", byte for byte.
    el(&c, "#fb-payload-format").await.select_by_value("text").await.unwrap();
    el(&c, "#fb-opcode").await.select_by_value("1").await.unwrap();
    set_checked(&c, "#fb-fin", true).await;
    set_checked(&c, "#fb-mask", true).await;
    type_into(&c, "#fb-key", "37fa213d").await;
    type_into(&c, "#fb-payload", "Hello").await;
    attr_is(&c, "#fb-hex", "data-hex", "818537fa213d7f9f4d5158").await;
    // A reserved opcode: the core's verdict is listed beside the frame.
    el(&c, "#fb-opcode").await.select_by_value("11").await.unwrap();
    present(&c, "#fb-violations [data-code=\"1002\"]").await;
    screenshot(&c, "2-builder").await;

    // Compressed: RFC 7692 section 7.2.3.1's "Hello", unmasked, RSV1 set by
    // the compression; judged on a connection that agreed to it.
    el(&c, "#fb-opcode").await.select_by_value("1").await.unwrap();
    set_checked(&c, "#fb-mask", false).await;
    set_checked(&c, "#fb-compress", true).await;
    attr_is(&c, "#fb-hex", "data-hex", "c107f248cdc9c90700").await;
    assert_eq!(el(&c, "#fb-rsv1").await.prop("checked").await.unwrap().as_deref(), Some("true"));
    present(&c, "#fb-compressed-badge").await;
    // "None: a receiver accepts this frame" is shown only without violations.
    el(&c, "#fb-violations-empty").await;
    assert!(c.find_all(Locator::Css("#fb-violations .violation")).await.unwrap().is_empty());
    // The inspector, handed these bytes, inflates them back to "Hello".
    el(&c, "#fb-send-inspect").await.click().await.unwrap();
    let message = present(&c, "#in-output .message[data-compressed=\"true\"]").await;
    assert!(message.text().await.unwrap().contains("Hello"));
    screenshot(&c, "2b-builder-compressed").await;
    // The same bytes on a connection without the extension: RSV1 is a 1002.
    el(&c, "#in-deflate").await.select_by_value("off").await.unwrap();
    present(&c, "#in-output .violation[data-code=\"1002\"]").await;
    // RFC 7692's two messages sharing a window: the second inflates only
    // with the context kept.
    el(&c, "[data-in-example=\"deflate-context\"]").await.click().await.unwrap();
    until("two inflated Hellos", || async {
        let texts =
            c.find_all(Locator::Css("#in-output .message[data-compressed=\"true\"] .payload-text")).await.ok()?;
        let mut all = Vec::new();
        for t in texts {
            all.push(t.text().await.ok()?);
        }
        (all == ["Hello", "Hello"]).then_some(())
    })
    .await;
    screenshot(&c, "2c-inspector-compressed").await;
    set_checked(&c, "#fb-compress", false).await;
    // RSV1 goes back to what the person had (clear) with Compress off.
    assert_eq!(el(&c, "#fb-rsv1").await.prop("checked").await.unwrap().as_deref(), Some("false"));
    set_checked(&c, "#fb-mask", true).await;

    // Live: connect to this server's echo, send, see events and wire frames.
    let url = el(&c, "#live-url").await.prop("value").await.unwrap().unwrap_or_default();
    assert!(url.ends_with("/echo"), "the live URL defaults to this server's echo, got {url:?}");
    el(&c, "#live-connect").await.click().await.unwrap();
    present(&c, "#live-log [data-event=\"open\"]").await;
    type_into(&c, "#live-text", "hello wire").await;
    el(&c, "#live-send-text").await.click().await.unwrap();
    let message = present(&c, "#live-log [data-event=\"message\"]").await;
    assert!(message.text().await.unwrap().contains("hello wire"));
    // Chromium offered permessage-deflate and the server agreed: its frame
    // is shown compressed (RSV1) with the text it inflates to.
    let compressed = present(&c, "#live-wire .wire-frame[data-dir=\"up\"][data-compressed=\"true\"]").await;
    let shown = compressed.text().await.unwrap();
    assert!(shown.contains("RSV1") && shown.contains("hello wire"), "compressed frame row: {shown}");
    let summary = el(&c, "#live-mask-summary").await.text().await.unwrap();
    // It names the browser whose wire it shows (from the request's User-Agent).
    let watching = el(&c, "#live-browser").await.text().await.unwrap();
    let expected = if is_firefox() { "watching Firefox " } else { "watching Chrome" };
    assert!(watching.starts_with(expected), "{watching}");
    assert!(summary.contains("browser → server"), "the wire summary counts frames: {summary}");
    // The browser masked its frame; the server did not.
    present(&c, "#live-wire [data-dir=\"up\"][data-opcode=\"1\"][data-masked=\"true\"]").await;
    present(&c, "#live-wire [data-dir=\"down\"][data-opcode=\"1\"][data-masked=\"false\"]").await;
    screenshot(&c, "3-live").await;

    // Inject: an unmasked client frame comes back as close 1002.
    type_into(&c, "#inj-input", "81 02 68 69").await;
    el(&c, "#inj-send").await.click().await.unwrap();
    present(&c, "#inj-output .inj-frame[data-opcode=\"8\"][data-close-code=\"1002\"]").await;
    present(&c, "#inj-output .inj-end").await;
    screenshot(&c, "4-inject").await;
    // With the permessage-deflate offer ticked, RFC 7692's compressed
    // "Hello" (masked with 37fa213d) is read and echoed as "Hello".
    set_checked(&c, "#inj-deflate", true).await;
    type_into(&c, "#inj-input", "c1 87 37 fa 21 3d c5 b2 ec f4 fe fd 21").await;
    el(&c, "#inj-send").await.click().await.unwrap();
    let echo = present(&c, "#inj-output .inj-frame[data-opcode=\"1\"]").await;
    assert!(echo.text().await.unwrap().contains("Hello"), "{}", echo.text().await.unwrap());
    assert!(c.find_all(Locator::Css("#inj-output .inj-frame[data-close-code=\"1002\"]")).await.unwrap().is_empty());
    set_checked(&c, "#inj-deflate", false).await;

    // Live close: the CloseEvent and both close frames on the wire.
    type_into(&c, "#live-close-code", "4000").await;
    type_into(&c, "#live-close-reason", "bye").await;
    el(&c, "#live-close").await.click().await.unwrap();
    let close = present(&c, "#live-log [data-event=\"close\"]").await;
    assert_eq!(close.attr("data-code").await.unwrap().as_deref(), Some("4000"));
    assert_eq!(close.attr("data-was-clean").await.unwrap().as_deref(), Some("true"));
    present(&c, "#live-wire [data-dir=\"up\"][data-opcode=\"8\"][data-masked=\"true\"]").await;
    present(&c, "#live-wire [data-dir=\"down\"][data-opcode=\"8\"][data-masked=\"false\"]").await;
    assert!(c.find_all(Locator::Css("#live-log [data-event=\"error\"]")).await.unwrap().is_empty());
    screenshot(&c, "5-live-closed").await;

    c.close().await.unwrap();
    drop(driver);
    server.shutdown().await;
}

/// Length of the message that overflows the tap in
/// [`the_live_panel_shows_what_the_tap_dropped`].
const OVERFLOW_MESSAGE: usize = 12_000;

/// The numbers of `text` with the word after each (`"3 chunks, 12,808
/// bytes"` gives `(3, "chunks")` and `(12808, "bytes")`), as a person reads
/// them; `NaN` or `undefined` in place of a number is no number.
fn counts(text: &str) -> Vec<(u64, String)> {
    let words: Vec<&str> =
        text.split_whitespace().map(|w| w.trim_matches(|c: char| !c.is_alphanumeric() && c != ',')).collect();
    words
        .windows(2)
        .filter_map(|pair| {
            let digits = pair[0].trim_end_matches(',').replace(',', "");
            let n = digits.parse().ok()?;
            Some((n, pair[1].trim_end_matches(',').to_owned()))
        })
        .collect()
}

/// Whether the dropped note as shown says, in numbers, how many chunks the
/// page missed, how many the record dropped in all (no fewer), and the
/// bytes of those (at least `least_bytes`).
fn check_dropped_note(note: &str, least_bytes: u64) -> Result<(), String> {
    if note.contains("NaN") || note.contains("undefined") {
        return Err("the note shows a field the server does not send".into());
    }
    let counts = counts(note);
    let chunks: Vec<u64> = counts.iter().filter(|(_, w)| w.starts_with("chunk")).map(|(n, _)| *n).collect();
    let bytes: Vec<u64> = counts.iter().filter(|(_, w)| w.starts_with("byte")).map(|(n, _)| *n).collect();
    match (chunks.as_slice(), bytes.as_slice()) {
        ([missed, all], [all_bytes]) if *missed >= 1 && missed <= all && *all_bytes >= least_bytes => Ok(()),
        _ => Err(format!("expected the chunks missed, the chunks and bytes dropped in all; read {counts:?}")),
    }
}

/// The check above, on the note as the page showed it before and after it
/// read the server's field names (runs without a browser).
#[test]
fn the_dropped_note_check_tells_nan_from_numbers() {
    let before = "The tap dropped 1 chunk (NaN bytes) to stay within its limit; decoding may be off from here.";
    assert!(check_dropped_note(before, 12_000).is_err());
    let after = "Missed here: the tap dropped 1 chunk to stay within its limit (3 chunks, 12,808 bytes dropped from \
                 this connection's record so far); decoding may be off from here.";
    assert_eq!(check_dropped_note(after, 12_000), Ok(()));
    assert!(check_dropped_note(after, 20_000).is_err(), "too few bytes");
    assert_eq!(counts("(3 chunks, 12,808 bytes"), [(3, "chunks".to_owned()), (12_808, "bytes".to_owned())]);
}

/// The live panel's `dropped` note shows how many chunks the page missed and
/// what the record dropped, as numbers (the page once read a field the
/// server does not send and showed "NaN bytes").
///
/// The tap keeps room for the echo of one 12 000-byte message and nothing
/// beside it, so that echo pushes the message itself out of the record. On
/// a runtime of one thread the echo task records the message and its echo
/// in one turn, so the page's tap subscription cannot be sent the message
/// in between: the gap, and the note, are certain, not a race.
#[tokio::test]
async fn the_live_panel_shows_what_the_tap_dropped() {
    assert!(
        repo().join("www/pkg/wscope_wasm_bg.wasm").is_file(),
        "www/pkg is missing: run through `cargo xtask test`, which builds it"
    );
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), repo().join("www"));
    // The echo costs its data, a 4-byte header and 64 bytes as a chunk
    // (12 068); any other chunk costs at least 65 more than the 100 left.
    config.tap.max_bytes = OVERFLOW_MESSAGE + 100;
    let server = Server::start(config).await.unwrap();
    let addr = server.local_addr();
    let driver = Driver::start().await;
    let c = browser(&driver).await;
    open(&c, &format!("http://{addr}/")).await;

    // Uncompressed, so the message costs the tap all its length.
    set_checked(&c, "#live-deflate", false).await;
    el(&c, "#live-connect").await.click().await.unwrap();
    present(&c, "#live-log [data-event=\"open\"]").await;
    // Pasted, not typed: twelve thousand key presses would take minutes.
    el(&c, "#live-text").await;
    let paste = "const e = document.querySelector('#live-text'); e.value = 'x'.repeat(arguments[0]);";
    c.execute(paste, vec![serde_json::json!(OVERFLOW_MESSAGE)]).await.unwrap();
    el(&c, "#live-send-text").await.click().await.unwrap();
    present(&c, "#live-log [data-event=\"message\"]").await;

    let note = until("the tap's dropped note in the wire column", || async {
        for row in c.find_all(Locator::Css("#live-wire .note-row")).await.ok()? {
            let text = row.text().await.ok()?;
            if text.contains("dropped") {
                return Some(text);
            }
        }
        None
    })
    .await;
    screenshot(&c, "6-live-dropped").await;
    if let Err(why) = check_dropped_note(&note, OVERFLOW_MESSAGE as u64) {
        panic!("{why}: {note}");
    }

    c.close().await.unwrap();
    drop(driver);
    server.shutdown().await;
}

/// Not a check but a measurement (issue 12): what the live panel spends on
/// each tap record over a long session, printed for BENCHMARKS.md. Each
/// chunk is decoded once, so the cost per record should not grow with the
/// messages before it. `cargo xtask bench live` runs it;
/// `WSCOPE_LIVE_MESSAGES` sets the count (default 20 000).
#[tokio::test]
#[ignore = "a measurement: cargo xtask bench live"]
async fn live_panel_cost_per_record() {
    let messages: usize = std::env::var("WSCOPE_LIVE_MESSAGES").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    const BATCH: usize = 500;
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), repo().join("www"));
    // Room for the whole session, so no chunk is dropped.
    config.tap.max_bytes = 64 << 20;
    let server = Server::start(config).await.unwrap();
    let addr = server.local_addr();
    let driver = Driver::start().await;
    let c = browser(&driver).await;
    open(&c, &format!("http://{addr}/")).await;
    el(&c, "#live-connect").await.click().await.unwrap();
    present(&c, "#live-log [data-event=\"open\"]").await;
    let send = "const n = arguments[0], from = arguments[1]; const t = document.querySelector('#live-text'); \
                const b = document.querySelector('#live-send-text'); \
                for (let i = 0; i < n; i++) { t.value = 'message ' + (from + i); b.click(); }";
    // After each batch: the page's JavaScript heap and its element count,
    // to tell a leak from garbage collection.
    let sample = "return [performance.memory ? performance.memory.usedJSHeapSize : 0, \
                  document.getElementsByTagName('*').length]";
    let mut samples = Vec::new();
    let started = std::time::Instant::now();
    let mut sent = 0;
    while sent < messages {
        let n = BATCH.min(messages - sent);
        c.execute(send, vec![serde_json::json!(n), serde_json::json!(sent)]).await.unwrap();
        sent += n;
        // The echoes of this batch are on the page before the next goes.
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            let stats = c.execute("return window.wscopeLiveTimings().frames", vec![]).await.unwrap();
            if stats["down"].as_u64().unwrap_or(0) >= sent as u64 {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "the echoes of {sent} messages did not all arrive: {stats}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let s = c.execute(sample, vec![]).await.unwrap();
        samples.push((sent, s[0].as_f64().unwrap_or(0.0) / 1e6, s[1].as_u64().unwrap_or(0)));
    }
    let elapsed = started.elapsed();
    let stats = c.execute("return window.wscopeLiveTimings()", vec![]).await.unwrap();
    let records: Vec<f64> = stats["records"].as_array().unwrap().iter().filter_map(serde_json::Value::as_f64).collect();
    let frames: Vec<f64> =
        stats["record_frames"].as_array().unwrap().iter().filter_map(serde_json::Value::as_f64).collect();
    assert_eq!(frames.len(), records.len());
    let tenth = (records.len() / 10).max(1);
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len().max(1) as f64;
    let median = |xs: &[f64]| {
        let mut v = xs.to_vec();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    println!("live panel: {messages} messages echoed in {:.1} s, {} tap records", elapsed.as_secs_f64(), records.len());
    println!("| records | mean ms per record | median ms per record | frames per record | ms per frame |");
    println!("| --- | --- | --- | --- | --- |");
    for (i, (part, f)) in records.chunks(tenth).zip(frames.chunks(tenth)).enumerate().take(10) {
        let per_frame = part.iter().sum::<f64>() / f.iter().sum::<f64>().max(1.0);
        println!("| tenth {} | {:.3} | {:.3} | {:.2} | {:.3} |", i + 1, mean(part), median(part), mean(f), per_frame);
    }
    println!("| messages sent | JS heap MB | elements |");
    println!("| --- | --- | --- |");
    let step = (samples.len() / 10).max(1);
    for (sent, heap, elements) in samples.iter().step_by(step).chain(samples.last()) {
        println!("| {sent} | {heap:.1} | {elements} |");
    }
    let (first, last) = (&records[..tenth], &records[records.len() - tenth..]);
    println!(
        "first tenth {:.3} ms, last tenth {:.3} ms: ratio last/first {:.2}",
        mean(first),
        mean(last),
        mean(last) / mean(first).max(1e-9)
    );
    c.close().await.unwrap();
    drop(driver);
    server.shutdown().await;
}
