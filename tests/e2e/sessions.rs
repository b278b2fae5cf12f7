//! The Sessions panel (issue 17): the browser's own `WebSocket` through a
//! relay to another server's `/echo`, listed live, read frame by frame
//! (compressed messages inflated, masked frames from the browser), a raw
//! client's unmasked frame flagged as the client's with its RFC section,
//! the filters, and the HAR export as the page downloads it.

use super::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Text of `css` once it contains `want`.
async fn text_has(c: &Client, css: &str, want: &str) -> String {
    until(&format!("{css} to contain {want:?}"), || async {
        let t = c.find(Locator::Css(css)).await.ok()?.text().await.ok()?;
        t.contains(want).then_some(t)
    })
    .await
}

/// Clicks `css` once it exists, scrolled to the middle of the view.
async fn click_on(c: &Client, css: &str) {
    present(c, css).await;
    let script = "document.querySelector(arguments[0]).scrollIntoView({ block: 'center' })";
    c.execute(script, vec![serde_json::json!(css)]).await.unwrap();
    c.find(Locator::Css(css)).await.unwrap().click().await.unwrap();
}

/// A screenshot of the page as it is scrolled now.
async fn shot(c: &Client, name: &str) {
    let dir = repo().join("target").join("e2e").join(browser_key());
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.png")), c.screenshot().await.unwrap()).unwrap();
}

/// How many rows of the session view are shown (not filtered out).
async fn shown_rows(c: &Client) -> u64 {
    let script = "return [...document.querySelectorAll('#ses-rows > *')].filter((r) => !r.hidden).length";
    c.execute(script, vec![]).await.unwrap().as_u64().unwrap()
}

/// A raw client through the relay: a valid request, then a text frame
/// without a mask; reads until the upstream closes.
async fn raw_unmasked_client(relay: std::net::SocketAddr) {
    let mut tcp = tokio::net::TcpStream::connect(relay).await.unwrap();
    let request = format!(
        "GET /echo?raw=1 HTTP/1.1\r\nHost: {relay}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    // FIN + text, no mask bit, 5 bytes: "naked".
    tcp.write_all(b"\x81\x05naked").await.unwrap();
    let mut buf = [0u8; 4096];
    while tokio::time::timeout(WAIT, tcp.read(&mut buf)).await.is_ok_and(|r| r.is_ok_and(|n| n > 0)) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sessions_panel_shows_a_browsers_connection_through_the_relay() {
    let upstream = Server::start(ServerConfig::new("127.0.0.1:0".parse().unwrap(), repo().join("www"))).await.unwrap();
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), repo().join("www"));
    config.relay.relays = vec![wscope_server::RelaySpec {
        listen: "127.0.0.1:0".parse().unwrap(),
        upstream: format!("ws://{}", upstream.local_addr()),
    }];
    let server = Server::start(config).await.unwrap();
    let relay = server.relay_addrs()[0];
    let driver = Driver::start().await;
    let c = browser(&driver).await;
    open(&c, &format!("http://{}/#sessions", server.local_addr())).await;

    // The panel names the relay, and nothing is listed yet.
    let relays = text_has(&c, "#ses-relays", &format!("ws://{relay}")).await;
    assert!(relays.contains(&format!("ws://{}", upstream.local_addr())), "{relays}");
    present(&c, "#ses-empty").await;

    // The browser's own WebSocket through the relay, from the Live panel as
    // a person would: the relay's URL, Connect, a text, Close.
    type_into(&c, "#live-url", &format!("ws://{relay}/echo")).await;
    el(&c, "#live-connect").await.click().await.unwrap();
    attr_is(&c, "#live-state", "data-state", "open").await;
    type_into(&c, "#live-text", "hello through the relay").await;
    el(&c, "#live-send-text").await.click().await.unwrap();
    present(&c, "#live-log [data-event=\"message\"]").await;
    el(&c, "#live-close").await.click().await.unwrap();
    attr_is(&c, "#live-state", "data-state", "closed").await;

    // Listed live, then read.
    let row = "#ses-table tbody tr[data-id=\"1\"]";
    until("the session to be listed closed", || async {
        let state = c.find(Locator::Css(row)).await.ok()?.attr("data-state").await.ok()??;
        (state == "closed").then_some(())
    })
    .await;
    let listed = c.find(Locator::Css(row)).await.unwrap().text().await.unwrap();
    assert!(listed.contains("/echo") && listed.contains("1 msg"), "{listed}");
    click_on(&c, &format!("{row} button.ses-open")).await;
    text_has(&c, "#ses-title", "Session 1: /echo").await;
    // The browser's frame: masked, compressed (Chromium offers
    // permessage-deflate and /echo agrees), shown inflated.
    let up = present(&c, "#ses-rows .wire-frame[data-dir=\"up\"][data-opcode=\"1\"]").await;
    assert_eq!(up.attr("data-masked").await.unwrap().as_deref(), Some("true"));
    let up_text = up.text().await.unwrap();
    assert!(up_text.contains("hello through the relay"), "{up_text}");
    let down = present(&c, "#ses-rows .wire-frame[data-dir=\"down\"][data-opcode=\"1\"]").await;
    assert_eq!(down.attr("data-masked").await.unwrap().as_deref(), Some("false"));
    present(&c, "#ses-rows .http-row[data-http=\"request\"]").await;
    present(&c, "#ses-rows .wire-frame[data-dir=\"up\"][data-opcode=\"8\"]").await;
    let summary = text_has(&c, "#ses-summary", "client → server: 1 message").await;
    assert!(summary.contains("0 violations"), "{summary}");
    // The README's picture: the list and the first frames, in a taller window.
    c.set_window_size(1280, 1100).await.unwrap();
    c.execute(
        "document.querySelector('#ses-relays').scrollIntoView({ block: 'start' }); window.scrollBy(0, -70);",
        vec![],
    )
    .await
    .unwrap();
    shot(&c, "sessions").await;
    c.set_window_size(1280, 800).await.unwrap();

    // Filters: one direction; control frames only; a search.
    let all = shown_rows(&c).await;
    el(&c, "#ses-dir").await.select_by_value("server").await.unwrap();
    let server_rows = shown_rows(&c).await;
    assert!(server_rows > 0 && server_rows < all, "{server_rows} of {all}");
    assert!(c.find(Locator::Css("#ses-rows .wire-frame[data-dir=\"up\"]:not([hidden])")).await.is_err());
    el(&c, "#ses-dir").await.select_by_value("both").await.unwrap();
    el(&c, "#ses-kind").await.select_by_value("control").await.unwrap();
    assert!(c.find(Locator::Css("#ses-rows .wire-frame[data-opcode=\"1\"]:not([hidden])")).await.is_err());
    el(&c, "#ses-kind").await.select_by_value("all").await.unwrap();
    type_into(&c, "#ses-search", "hello through").await;
    assert_eq!(shown_rows(&c).await, 2, "the text frame each way");
    type_into(&c, "#ses-search", "").await;

    // The HAR export, fetched as the link downloads it.
    let href = el(&c, "#ses-har").await.attr("href").await.unwrap().unwrap();
    assert_eq!(href, "/relay/export/1.har");
    let har = c
        .execute_async(
            "const done = arguments[arguments.length - 1]; fetch(arguments[0]).then((r) => r.json()).then(done, (e) => done(String(e)));",
            vec![serde_json::json!(href)],
        )
        .await
        .unwrap();
    let entry = &har["log"]["entries"][0];
    assert_eq!(entry["_resourceType"], "websocket");
    let messages = entry["_webSocketMessages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(messages[0]["type"], "send");
    assert_eq!(messages[0]["data"], "hello through the relay");
    assert_eq!(messages[0]["opcode"], 1);
    assert_eq!(messages[1]["type"], "receive");
    let agent = entry["request"]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"].as_str().unwrap().eq_ignore_ascii_case("user-agent"));
    assert!(agent.is_some_and(|h| h["value"].as_str().unwrap().contains(if is_firefox() {
        "Firefox"
    } else {
        "Chrome"
    })));

    // A raw client's unmasked frame: flagged, the client's, section 5.1.
    raw_unmasked_client(relay).await;
    let row2 = "#ses-table tbody tr[data-id=\"2\"]";
    let listed = text_has(&c, row2, "client 1").await;
    assert!(!listed.contains("server 1"), "{listed}");
    click_on(&c, &format!("{row2} button.ses-open")).await;
    text_has(&c, "#ses-title", "Session 2").await;
    el(&c, "#ses-kind").await.select_by_value("bad").await.unwrap();
    let bad = present(&c, "#ses-rows .wire-frame[data-bad=\"true\"]").await;
    assert_eq!(bad.attr("data-dir").await.unwrap().as_deref(), Some("up"));
    assert_eq!(bad.attr("data-masked").await.unwrap().as_deref(), Some("false"));
    let violation = bad.find(Locator::Css(".violation")).await.unwrap();
    assert!(violation.text().await.unwrap().contains("§5.1"), "{}", violation.text().await.unwrap());
    assert_eq!(shown_rows(&c).await, 1, "only the frame that breaks a rule");
    el(&c, "#ses-kind").await.select_by_value("all").await.unwrap();
    c.execute(
        "document.querySelector('#ses-table').scrollIntoView({ block: 'start' }); window.scrollBy(0, -70);",
        vec![],
    )
    .await
    .unwrap();
    shot(&c, "sessions-violation").await;
    c.close().await.unwrap();
}

/// The intercept controls, the browser itself the client: its message held,
/// edited and sent on (the echo it gets back is the edit), another dropped
/// (no echo), a new one sent to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sessions_panel_holds_edits_drops_and_injects() {
    let upstream = Server::start(ServerConfig::new("127.0.0.1:0".parse().unwrap(), repo().join("www"))).await.unwrap();
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), repo().join("www"));
    config.relay.relays = vec![wscope_server::RelaySpec {
        listen: "127.0.0.1:0".parse().unwrap(),
        upstream: format!("ws://{}", upstream.local_addr()),
    }];
    config.relay.mode = wscope_server::RelayMode::Intercept;
    let server = Server::start(config).await.unwrap();
    let relay = server.relay_addrs()[0];
    let driver = Driver::start().await;
    let c = browser(&driver).await;
    open(&c, &format!("http://{}/#sessions", server.local_addr())).await;

    type_into(&c, "#live-url", &format!("ws://{relay}/echo")).await;
    el(&c, "#live-connect").await.click().await.unwrap();
    attr_is(&c, "#live-state", "data-state", "open").await;
    let row = "#ses-table tbody tr[data-id=\"1\"]";
    until("the session to be listed open", || async {
        let state = c.find(Locator::Css(row)).await.ok()?.attr("data-state").await.ok()??;
        (state == "open").then_some(())
    })
    .await;
    click_on(&c, &format!("{row} button.ses-open")).await;
    text_has(&c, "#ses-int-status", "Intercepting").await;

    // Hold the browser's messages; send one from the Live panel.
    click_on(&c, "#ses-hold-client").await;
    attr_is(&c, "#ses-hold-client", "aria-pressed", "true").await;
    type_into(&c, "#live-text", "as typed").await;
    el(&c, "#live-send-text").await.click().await.unwrap();
    let held = present(&c, "#ses-held .held-row[data-from=\"client\"]").await;
    let area = held.find(Locator::Css("textarea")).await.unwrap();
    assert_eq!(area.prop("value").await.unwrap().as_deref(), Some("as typed"));
    area.clear().await.unwrap();
    area.send_keys("as edited in wscope").await.unwrap();
    held.find(Locator::Css(".held-send")).await.unwrap().click().await.unwrap();
    // The echo the browser gets is the edit.
    let echo = present(&c, "#live-log [data-event=\"message\"]").await;
    let echoed = echo.text().await.unwrap();
    assert!(echoed.contains("as edited in wscope"), "{echoed}");
    screenshot(&c, "sessions-intercept").await;

    // Another, dropped: no echo comes.
    type_into(&c, "#live-text", "never arrives").await;
    el(&c, "#live-send-text").await.click().await.unwrap();
    let held = present(&c, "#ses-held .held-row[data-from=\"client\"]").await;
    held.find(Locator::Css(".held-drop")).await.unwrap().click().await.unwrap();
    text_has(&c, "#ses-int-status", "dropped").await;

    // A new message to the browser.
    el(&c, "#ses-inject-to").await.select_by_value("client").await.unwrap();
    type_into(&c, "#ses-inject-data", "from the relay").await;
    click_on(&c, "#ses-inject-send").await;
    until("the injected message in the browser", || async {
        let events = c.find_all(Locator::Css("#live-log [data-event=\"message\"]")).await.ok()?;
        let mut texts = Vec::new();
        for e in events {
            texts.push(e.text().await.ok()?);
        }
        (texts.len() == 2 && texts[1].contains("from the relay") && !texts.iter().any(|t| t.contains("never arrives")))
            .then_some(())
    })
    .await;
    c.close().await.unwrap();
}
