//! The explorer page and its files, served by hyper and tower-http's
//! `ServeDir` (content types, no path traversal, 404s, HEAD, conditional
//! requests).

use crate::io::Prefixed;
use crate::shared::Shared;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpStream;
use tower_http::services::ServeDir;

pub(crate) async fn serve(io: Prefixed<TcpStream>, shared: &Shared) {
    let service = TowerToHyperService::new(ServeDir::new(&shared.config.www).append_index_html_on_directories(true));
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(shared.config.handshake_timeout)
        .serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    // hyper bounds reading a request, not writing a response: a client that
    // never reads would hold its connection slot forever without this.
    let deadline = tokio::time::sleep(shared.config.idle_timeout);
    tokio::pin!(deadline);
    tokio::select! {
        _ = conn.as_mut() => {}
        () = &mut deadline => {}
        () = shared.shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(shared.config.close_timeout, conn).await;
        }
    }
}
