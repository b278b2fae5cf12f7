//! "Test this browser" (issue 16): the browser's own `new WebSocket(...)`
//! against the server's client checker (`/clients/…`), every case of the
//! quick selection (Autobahn's 1-8 and 10, wscope's own 18 and 19) judged
//! on the server's side. The verdicts are the finding, not asserted: they
//! are written to `target/e2e/<browser>/clients.json` for docs/BROWSERS.md.
//! What is asserted: the run completes with a verdict for every case, and a
//! case shows the browser's events beside the bytes both ways.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_is_tested_as_a_client() {
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), repo().join("www"));
    config.check.case_timeout = Duration::from_secs(3);
    let server = Server::start(config).await.unwrap();
    let addr = server.local_addr();
    let driver = Driver::start().await;
    let c = browser(&driver).await;
    open(&c, &format!("http://{addr}/#check")).await;

    el(&c, "#chk-browser-cases").await.select_by_value("quick").await.unwrap();
    let script = "document.querySelector('#chk-browser-run').scrollIntoView({ block: 'center' })";
    c.execute(script, vec![]).await.unwrap();
    el(&c, "#chk-browser-run").await.click().await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
    let done = loop {
        let t = el(&c, "#chk-status").await.text().await.unwrap();
        if t.starts_with("Done:") || t.starts_with("Stopped") || t.starts_with("The server") {
            break t;
        }
        assert!(tokio::time::Instant::now() < deadline, "the browser's run did not end: {t}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(done.starts_with("Done:") && done.contains("260 cases"), "{done}");

    // Every case's verdict, as the page holds it, with the browser's events.
    let cases = c
        .execute("return [...document.querySelectorAll('.chk-groups tbody tr')].map((r) => r.dataset.group);", vec![])
        .await
        .unwrap();
    let groups: Vec<String> = serde_json::from_value(cases).unwrap();
    assert!(groups.contains(&"18".to_owned()) && groups.contains(&"19".to_owned()), "{groups:?}");
    let mut verdicts = serde_json::Map::new();
    for g in &groups {
        let css = format!(".chk-groups tr[data-group=\"{g}\"] button");
        c.execute(&format!("document.querySelector('{}').click()", css.replace('\'', "\\'")), vec![]).await.unwrap();
        let listed = c
            .execute(
                "return [...document.querySelectorAll('.chk-case')].map((b) => [b.dataset.id, b.querySelector('.verdict').textContent]);",
                vec![],
            )
            .await
            .unwrap();
        for pair in listed.as_array().unwrap() {
            verdicts.insert(pair[0].as_str().unwrap().to_owned(), pair[1].clone());
        }
    }
    assert_eq!(verdicts.len(), 260, "{verdicts:?}");

    let agent = c.execute("return document.querySelector('.chk-head strong').textContent;", vec![]).await.unwrap();
    assert!(agent.as_str().unwrap().starts_with("this browser: "), "{agent}");

    // A case in detail: 18.1 (a wrong Sec-WebSocket-Accept) with what the
    // browser said and the 101 the checker sent.
    c.execute("document.querySelector('.chk-groups tr[data-group=\"18\"] button').click()", vec![]).await.unwrap();
    c.execute("document.querySelector('.chk-case[data-id=\"18.1\"]').click()", vec![]).await.unwrap();
    let text = present(&c, "#chk-detail").await.text().await.unwrap();
    assert!(
        text.contains("Case 18.1") && text.contains("The browser said") && text.contains("Holds the client to"),
        "{text}"
    );
    present(&c, "#chk-detail .http-row[data-http=\"response\"]").await;
    c.execute(
        "document.querySelector('#chk-detail').scrollIntoView({ block: 'start' }); window.scrollBy(0, -64);",
        vec![],
    )
    .await
    .unwrap();
    let png = c.screenshot().await.unwrap();
    std::fs::write(repo().join("target/e2e").join(browser_key()).join("6c-check-browser.png"), png).unwrap();

    // Why each case not OK got its verdict, as the page says it.
    let mut reasons = serde_json::Map::new();
    for (id, verdict) in &verdicts {
        if verdict.as_str() == Some("OK") {
            continue;
        }
        let group = id.rsplit_once('.').map_or(id.as_str(), |(g, _)| g);
        let script = format!(
            "document.querySelector('.chk-groups tr[data-group=\"{group}\"] button').click(); \
             document.querySelector('.chk-case[data-id=\"{id}\"]').click(); \
             const dt = [...document.querySelectorAll('#chk-detail .chk-facts dt')].find((d) => d.textContent === 'Verdict'); \
             return dt ? dt.nextElementSibling.textContent : null;"
        );
        let reason = c.execute(&script, vec![]).await.unwrap();
        reasons.insert(id.clone(), reason);
    }
    let user_agent = c.execute("return navigator.userAgent;", vec![]).await.unwrap();
    let record =
        serde_json::json!({ "user_agent": user_agent, "summary": done, "verdicts": verdicts, "reasons": reasons });
    let dir = repo().join("target").join("e2e").join(browser_key());
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("clients.json"), serde_json::to_string_pretty(&record).unwrap()).unwrap();
    let not_ok: Vec<String> = verdicts
        .iter()
        .filter(|(_, v)| v.as_str() != Some("OK"))
        .map(|(id, v)| format!("{id} {}", v.as_str().unwrap_or_default()))
        .collect();
    println!("{}: {done}; not OK: {}", browser_key(), not_ok.join(", "));

    c.close().await.unwrap();
    drop(driver);
    server.shutdown().await;
}
