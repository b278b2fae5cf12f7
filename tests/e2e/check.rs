//! The Check panel (issue 15): a run the server makes against its own
//! `/echo` with live progress, browsed down to a case's bytes with the
//! violation the core finds and its RFC section; the operator's target
//! (tokio-tungstenite's echo) offered beside it; and a report of that
//! target, opened from a file and as the server publishes it, shown with the
//! verdicts the file holds.

use super::*;
use futures_util::{SinkExt, StreamExt};

/// Waits for the long work of a run (a case may wait 20 s for a server
/// that never gives up on a slow head); bounded so a hang fails.
async fn until_done(c: &Client) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(240);
    loop {
        let t = c.find(Locator::Css("#chk-status")).await.unwrap().text().await.unwrap();
        if t.starts_with("Done:") || t.starts_with("Stopped") || t.starts_with("Refused") {
            return t;
        }
        assert!(tokio::time::Instant::now() < deadline, "the check did not end: {t}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Clicks `css` once it exists, scrolled to the middle of the view.
async fn click_on(c: &Client, css: &str) {
    present(c, css).await;
    let script = "document.querySelector(arguments[0]).scrollIntoView({ block: 'center' })";
    c.execute(script, vec![serde_json::json!(css)]).await.unwrap();
    c.find(Locator::Css(css)).await.unwrap().click().await.unwrap();
}

/// tokio-tungstenite's echo on a free port: another implementation's
/// verdicts for the panel to show.
async fn tungstenite_echo() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else { return };
                while let Some(Ok(m)) = ws.next().await {
                    if (m.is_text() || m.is_binary()) && ws.send(m).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// The verdict chip of case `id` in the list, once shown.
async fn listed_verdict(c: &Client, id: &str) -> String {
    let css = format!(".chk-case[data-id=\"{id}\"] .verdict");
    present(c, &css).await.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_check_panel_runs_and_reads_reports() {
    let other = tungstenite_echo().await;
    let other_url = format!("ws://{other}/");
    // A report of the checker's verdicts on tokio-tungstenite's echo, made
    // first: the server publishes it (--check-report) and the page opens it
    // from a file too.
    std::fs::create_dir_all(repo().join("target/e2e").join(browser_key())).unwrap();
    let path = repo().join("target").join("e2e").join(browser_key()).join("check-report.json");
    let target = wscope_check::Target::parse(&other_url).unwrap();
    let selected = wscope_check::cases::select(wscope_check::cases::all(), "1.1.1,5.1,14.*,16.*", "");
    let mut writer = wscope_check::report::Writer::create(&path, &other_url).unwrap();
    let mut results = Vec::new();
    for case in selected {
        let outcome =
            wscope_check::run_case(&target, &case, &wscope_check::Settings::new(Duration::from_secs(3))).await;
        writer.case(&case, &outcome).unwrap();
        results.push((case, outcome));
    }
    writer.finish(&results).unwrap();
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), repo().join("www"));
    // 17.3 (a head that never ends) lasts until the server gives up on it.
    config.handshake_timeout = Duration::from_secs(2);
    config.check.targets = vec![other_url.clone()];
    config.check.reports = vec![path.clone()];
    let server = Server::start(config).await.unwrap();
    let addr = server.local_addr();
    let driver = Driver::start().await;
    let c = browser(&driver).await;
    open(&c, &format!("http://{addr}/#check")).await;

    // The targets: this server's /echo, then the operator's (never a field
    // to type a host into).
    let option = present(&c, "#chk-target option[value=\"1\"]").await;
    assert_eq!(option.text().await.unwrap(), other_url);
    assert!(c.find(Locator::Css("#check input[type=\"url\"], #check input:not([type])")).await.is_err());

    // This server's /echo, wscope's own cases: all OK, with live progress.
    el(&c, "#chk-target").await.select_by_value("0").await.unwrap();
    el(&c, "#chk-cases").await.select_by_value("own").await.unwrap();
    click_on(&c, "#chk-run").await;
    let done = until_done(&c).await;
    assert!(done.starts_with("Done: 30 cases"), "{done}");
    let head = present(&c, ".chk-head").await.text().await.unwrap();
    assert!(head.contains(&format!("ws://{addr}/echo")) && head.contains("30 cases: 30 OK"), "{head}");
    for group in ["14", "15", "16", "17"] {
        present(&c, &format!(".chk-groups tr[data-group=\"{group}\"]")).await;
    }
    let progress = c.execute("const p = document.querySelector('#chk-progress'); return [p.value, p.max];", vec![]);
    assert_eq!(progress.await.unwrap(), serde_json::json!([30, 30]));
    // 16.1: the checker's unmasked frame, flagged by the core on the wire
    // (section 5.1, close 1002), and the server's 1002 after it.
    click_on(&c, ".chk-groups tr[data-group=\"16\"] button").await;
    click_on(&c, ".chk-case[data-id=\"16.1\"]").await;
    let detail = present(&c, "#chk-detail").await;
    let text = detail.text().await.unwrap();
    assert!(text.contains("Case 16.1") && text.contains("a close frame with 1002, then a FIN"), "{text}");
    let flagged = present(&c, "#chk-detail .tl-item.chk-violation[data-dir=\"up\"][data-masked=\"false\"]").await;
    let violation = flagged.find(Locator::Css(".violation")).await.unwrap();
    assert_eq!(violation.attr("data-code").await.unwrap().as_deref(), Some("1002"));
    assert!(violation.text().await.unwrap().contains("§5.1"), "{}", violation.text().await.unwrap());
    present(&c, "#chk-detail .chk-facts a.rfc").await;
    present(&c, "#chk-detail .tl-item[data-dir=\"down\"][data-opcode=\"8\"]").await;
    // The picture for the README: the case and its flagged frame in view.
    c.execute(
        "document.querySelector('#chk-detail').scrollIntoView({ block: 'start' }); window.scrollBy(0, -64);",
        vec![],
    )
    .await
    .unwrap();
    let png = c.screenshot().await.unwrap();
    std::fs::write(repo().join("target/e2e").join(browser_key()).join("6-check.png"), png).unwrap();

    // A report from a file: the page shows each case with the verdict the
    // file holds (here the checker's verdicts on tokio-tungstenite's echo).
    let path = path.canonicalize().unwrap();
    el(&c, "#chk-file").await.send_keys(path.to_str().unwrap()).await.unwrap();
    until("the report to load", || async {
        let t = c.find(Locator::Css("#chk-status")).await.ok()?.text().await.ok()?;
        t.contains(&format!("{} cases", results.len())).then_some(())
    })
    .await;
    let head = present(&c, ".chk-head").await.text().await.unwrap();
    assert!(head.contains(&other_url), "{head}");
    // The same report as the server publishes it: the same verdicts.
    el(&c, "#chk-reports").await.select_by_value("0").await.unwrap();
    click_on(&c, "#chk-open-report").await;
    until("the published report to load", || async {
        let t = c.find(Locator::Css("#chk-status")).await.ok()?.text().await.ok()?;
        t.starts_with(&format!("check-report.json: {} cases", results.len())).then_some(())
    })
    .await;
    for (case, outcome) in &results {
        click_on(&c, &format!(".chk-groups tr[data-group=\"{}\"] button", case.group())).await;
        assert_eq!(listed_verdict(&c, &case.id).await, outcome.verdict.to_string(), "{}", case.id);
    }
    click_on(&c, ".chk-groups tr[data-group=\"14\"] button").await;
    click_on(&c, ".chk-case[data-id=\"14.2\"]").await;
    let text = present(&c, "#chk-detail").await.text().await.unwrap();
    let (_, outcome) = results.iter().find(|(c, _)| c.id == "14.2").unwrap();
    assert!(text.contains(&outcome.reason), "{text}");
    present(&c, "#chk-detail .http-row[data-http=\"request\"]").await;
    screenshot(&c, "6b-check-report").await;

    c.close().await.unwrap();
    drop(driver);
    server.shutdown().await;
}
