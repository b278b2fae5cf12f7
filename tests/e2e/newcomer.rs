//! The page as a newcomer meets it (issue 13): each place where a person was
//! misled or stuck, met the way they met it, asserting what the page says.

use super::*;

/// Waits until the first element matching `css` shows text containing
/// every one of `parts`; returns the text.
async fn says(c: &Client, css: &str, parts: &[&str]) -> String {
    until(&format!("{css} to say {parts:?}"), || async {
        let t = c.find(Locator::Css(css)).await.ok()?.text().await.ok()?;
        parts.iter().all(|p| t.contains(p)).then_some(t)
    })
    .await
}

/// Sets a field's value as a paste would (one `input` event), for texts too
/// long to type key by key.
async fn paste(c: &Client, css: &str, text: &str) {
    el(c, css).await;
    let script = "const e = document.querySelector(arguments[0]); e.value = arguments[1]; \
                  e.dispatchEvent(new Event('input', { bubbles: true }));";
    c.execute(script, vec![serde_json::json!(css), serde_json::json!(text)]).await.unwrap();
}

/// Clicks `css` after scrolling it to the middle of the view (the sticky
/// top bar covers what sits at the top).
async fn click(c: &Client, css: &str) {
    el(c, css).await;
    let script = "document.querySelector(arguments[0]).scrollIntoView({ block: 'center' })";
    c.execute(script, vec![serde_json::json!(css)]).await.unwrap();
    el(c, css).await.click().await.unwrap();
}

async fn shown(c: &Client, css: &str) -> bool {
    c.find(Locator::Css(css)).await.unwrap().is_displayed().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_as_a_newcomer_meets_it() {
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), repo().join("www"));
    // A small injection cap, so a person can pass it with a short paste.
    config.inject.max_payload_bytes = 1000;
    let server = Server::start(config).await.unwrap();
    let addr = server.local_addr();
    let driver = Driver::start().await;
    let c = browser(&driver).await;
    open(&c, &format!("http://{addr}/")).await;

    // 1. The classic hand-written client's bug, the sender left unknown:
    // the page says what a server would object to, not "0 violations".
    type_into(&c, "#in-input", "81 05 48 65 6c 6c 6f").await;
    let status = el(&c, "#in-status").await;
    assert!(status.attr("class").await.unwrap().unwrap_or_default().contains("warn"), "not a green verdict");
    let client =
        says(&c, "#in-either li[data-sender=\"client\"]", &["If a client sent these bytes", "not masked"]).await;
    assert!(client.contains("close 1002"), "{client}");
    present(&c, "#in-either li[data-sender=\"client\"] .violation[data-code=\"1002\"]").await;
    says(&c, "#in-either li[data-sender=\"server\"]", &["If a server sent these bytes", "accepts them"]).await;
    el(&c, "#inspector").await;
    c.execute("document.querySelector('#inspector').scrollIntoView()", vec![]).await.unwrap();
    screenshot(&c, "6-inspector-unmasked-unknown-sender").await;

    // 4. Junk is an error that says where, not a surprising reading; the
    // usual spellings of hex are read, and the page says how.
    type_into(&c, "#in-input", "test").await;
    let error = says(&c, "#in-read-error", &["“t” at character 1 is not a hex digit"]).await;
    assert!(error.contains("As base64 it would be 3 bytes (b5 eb 2d)"), "{error}");
    paste(&c, "#in-input", "0x81,0x05,0x48,0x65,0x6c,0x6c,0x6f").await;
    says(&c, "#in-read-as", &["read as hex"]).await;
    paste(&c, "#in-input", "0000   81 05 48 65 6c 6c 6f                              ..Hello\n").await;
    says(&c, "#in-read-as", &["read as hex dump"]).await;
    says(&c, "#in-status", &["7 bytes", "1 frame"]).await;
    paste(&c, "#in-input", "\\x81\\x05\\x48\\x65\\x6c\\x6c\\x6f").await;
    says(&c, "#in-status", &["7 bytes", "1 frame"]).await;
    paste(&c, "#in-input", "gQVIZWxsbw==").await;
    says(&c, "#in-read-as", &["read as base64"]).await;

    // 2. A frame the RFC allows but this server refuses: judged with the
    // server's own limits (from /limits), naming the limit.
    el(&c, "#in-sender").await.select_by_value("server").await.unwrap();
    paste(&c, "#in-input", "82 7f 00 00 00 00 02 00 00 00").await;
    let v = says(&c, "#in-output .violation[data-code=\"1009\"]", &["exceeds the limit of 16777216"]).await;
    assert!(v.contains("33554432"), "{v}");
    says(&c, "#in-limits-used", &["this server’s limits", "frames up to 16 MiB"]).await;
    el(&c, "#in-limits").await.select_by_value("none").await.unwrap();
    says(&c, "#in-status", &["0 violations"]).await;
    // The builder: a declared length of 32 MiB.
    el(&c, "#fb-opcode").await.select_by_value("2").await.unwrap();
    set_checked(&c, "#fb-mask", false).await;
    type_into(&c, "#fb-declared", "33554432").await;
    says(&c, "#fb-violations .violation[data-code=\"1009\"]", &["exceeds the limit of 16777216"]).await;
    assert!(!shown(&c, "#fb-violations-empty").await, "no \"None\" beside a violation");
    // The inject preview: a client's frame declaring the same.
    paste(&c, "#inj-input", "82 ff 00 00 00 00 02 00 00 00 37 fa 21 3d").await;
    says(&c, "#inj-preview", &["exceeds the limit of 16777216"]).await;

    // 5. Builder errors sit at their field, and the result is marked stale.
    el(&c, "#fb-declared").await.clear().await.unwrap();
    type_into(&c, "#fb-declared", "18446744073709551616").await;
    says(&c, "#fb-declared-error", &["The declared length is a whole number of bytes, at most 18446744073709551615"])
        .await;
    attr_is(&c, "#fb-declared", "aria-invalid", "true").await;
    until("the stale result", || async {
        let class = c.find(Locator::Css("#fb-result")).await.ok()?.attr("class").await.ok()??;
        class.contains("stale").then_some(())
    })
    .await;
    assert!(shown(&c, "#fb-no-frame").await && !shown(&c, "#fb-violations-empty").await, "no stale verdict");
    screenshot(&c, "7-builder-field-error").await;
    el(&c, "#fb-declared").await.clear().await.unwrap();
    el(&c, "#fb-payload-format").await.select_by_value("hex").await.unwrap();
    type_into(&c, "#fb-payload", "48 6").await;
    says(&c, "#fb-payload-error", &["no partner"]).await;
    assert!(shown(&c, "#fb-no-frame").await);
    type_into(&c, "#fb-payload", "48 69").await;
    attr_is(&c, "#fb-hex", "data-hex", "82024869").await;
    assert!(!shown(&c, "#fb-no-frame").await && !shown(&c, "#fb-payload-error").await);

    // 6. A close frame from a code and a reason.
    el(&c, "#fb-opcode").await.select_by_value("8").await.unwrap();
    type_into(&c, "#fb-close-code", "1000").await;
    type_into(&c, "#fb-close-reason", "bye").await;
    attr_is(&c, "#fb-hex", "data-hex", "880503e8627965").await;
    says(&c, "#fb-close-info", &["Normal Closure", "may be sent"]).await;
    el(&c, "#fb-opcode").await.select_by_value("1").await.unwrap();

    // 3. An injection over the server's cap is refused before it is sent.
    paste(&c, "#inj-input", &"00 ".repeat(1001)).await;
    says(&c, "#inj-preview", &["more than this server injects at once (1,000 bytes)"]).await;
    click(&c, "#inj-send").await;
    says(&c, "#inj-too-large", &["Not sent", "1,001 bytes"]).await;

    // 7. Live close: the browser's rule as the person types, a refusal
    // beside the button, a reason alone sent with 1000; an http:// URL
    // opens the WebSocket with ws://.
    paste(&c, "#live-url", &format!("http://{addr}/echo")).await;
    click(&c, "#live-connect").await;
    present(&c, "#live-log [data-event=\"open\"]").await;
    let url = el(&c, "#live-url").await.prop("value").await.unwrap().unwrap_or_default();
    assert!(url.starts_with("ws://"), "{url}");
    // The wire is shown: this is the server's own tapped echo.
    type_into(&c, "#live-text", "hi").await;
    click(&c, "#live-send-text").await;
    present(&c, "#live-wire [data-dir=\"down\"][data-opcode=\"1\"]").await;
    type_into(&c, "#live-close-code", "1001").await;
    says(&c, "#live-close-info", &["close() takes only 1000 or 3000-4999, not 1001 Going Away"]).await;
    click(&c, "#live-close").await;
    says(&c, "#live-close-error", &["Not closed: close(1001) would throw", "stays open"]).await;
    screenshot(&c, "8-live-close-refused").await;
    text_is(&c, "#live-state", "open").await;
    el(&c, "#live-close-code").await.clear().await.unwrap();
    type_into(&c, "#live-close-reason", "bye").await;
    says(&c, "#live-close-info", &["Close sends it with 1000"]).await;
    click(&c, "#live-close").await;
    let close = present(&c, "#live-log [data-event=\"close\"]").await;
    assert_eq!(close.attr("data-code").await.unwrap().as_deref(), Some("1000"));
    assert!(close.text().await.unwrap().contains("bye"));

    // The inspector's verdict is announced (one live region that stays).
    let live = c.find(Locator::Css("#in-announce")).await.unwrap();
    assert_eq!(live.attr("aria-live").await.unwrap().as_deref(), Some("polite"));
    let announced = live.prop("textContent").await.unwrap().unwrap_or_default();
    assert!(announced.contains("violation"), "{announced}");

    // At 400 px nothing overflows the page sideways (the inspector's
    // permessage-deflate select did), and a 64-bit length in the builder's
    // field table wraps only between digit groups.
    c.set_window_size(400, 800).await.unwrap();
    paste(&c, "#fb-declared", "18446744073709551615").await;
    let script = "const de = document.documentElement; \
                  const sel = document.querySelector('#in-deflate').getBoundingClientRect(); \
                  const cell = document.querySelector('#fb-fields tr[data-f=\"lenext\"] .int'); \
                  const groups = [...cell.childNodes].filter((n) => n.nodeType === 3 && /\\d/.test(n.textContent)); \
                  const whole = groups.every((n) => { const r = document.createRange(); r.selectNodeContents(n); \
                                                      return r.getClientRects().length === 1; }); \
                  const scrolls = (e) => { for (let a = e.parentElement; a; a = a.parentElement) { \
                    const o = getComputedStyle(a).overflowX; if (o === 'auto' || o === 'scroll') return true; } return false; }; \
                  const wide = [...document.querySelectorAll('body *')].filter((e) => !scrolls(e) && (e.getBoundingClientRect().right > de.clientWidth + 1 \
                    || (getComputedStyle(e).overflowX === 'visible' && e.getBoundingClientRect().left + e.scrollWidth > de.clientWidth + 1))) \
                    .slice(0, 8).map((e) => `${e.tagName}#${e.id}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`) \
                    .concat([`scrollWidth ${de.scrollWidth}, clientWidth ${de.clientWidth}`]); \
                  return [de.scrollWidth <= de.clientWidth, sel.right <= de.clientWidth, cell.textContent, whole, wide];";
    let fit = c.execute(script, vec![]).await.unwrap();
    assert_eq!(fit[0], true, "the page is wider than 400 px: {}", fit[4]);
    assert_eq!(fit[1], true, "#in-deflate overflows at 400 px");
    assert_eq!(fit[2], "18,446,744,073,709,551,615");
    assert_eq!(fit[3], true, "a digit group of the 64-bit length is split across lines");
    screenshot(&c, "9-narrow-builder").await;

    c.close().await.unwrap();
    drop(driver);
    server.shutdown().await;
}
