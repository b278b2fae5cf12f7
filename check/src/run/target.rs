//! The server under test: a `ws://` or `wss://` URL, and what the client
//! sends besides the case (origin, subprotocols, extra headers).

/// Where to connect and what to ask for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// `host:port` to connect to.
    pub addr: String,
    /// The host name (or address) alone, for TLS's server name.
    pub hostname: String,
    /// The `Host` header.
    pub host: String,
    /// The request target (path and query).
    pub path: String,
    /// `wss://`: TLS over TCP.
    pub tls: bool,
    /// `Origin`, if any.
    pub origin: Option<String>,
    /// Subprotocols offered, if any.
    pub protocols: Vec<String>,
    /// More request headers.
    pub headers: Vec<(String, String)>,
}

impl Target {
    /// A `ws://host[:port]/path` or `wss://…` URL.
    pub fn parse(url: &str) -> Result<Target, String> {
        let (tls, rest) = match url.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("ws") => (false, rest),
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("wss") => (true, rest),
            Some((scheme, _)) if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") => {
                return Err(format!("{url:?} is an {scheme} URL: a WebSocket URL starts with ws:// or wss://"));
            }
            _ => return Err(format!("{url:?} is not a ws:// or wss:// URL")),
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (rest.get(..i).unwrap_or_default(), rest.get(i..).unwrap_or("/")),
            None => (rest, "/"),
        };
        let path = if path.starts_with('?') { format!("/{path}") } else { path.to_owned() };
        let path = path.split('#').next().unwrap_or("/").to_owned();
        if authority.is_empty() || authority.contains('@') {
            return Err(format!("{url:?} names no host (user names in URLs are not supported)"));
        }
        let (hostname, port) = split_port(authority).ok_or_else(|| format!("{url:?}: the port is not a number"))?;
        if hostname.is_empty() {
            return Err(format!("{url:?} names no host"));
        }
        let port = port.unwrap_or(if tls { 443 } else { 80 });
        let bare = hostname.trim_start_matches('[').trim_end_matches(']');
        let addr = if bare.contains(':') { format!("[{bare}]:{port}") } else { format!("{bare}:{port}") };
        Ok(Target {
            addr,
            hostname: bare.to_owned(),
            host: authority.to_owned(),
            path,
            tls,
            origin: None,
            protocols: Vec::new(),
            headers: Vec::new(),
        })
    }
}

/// "host:port" → ("host", Some(port)); "[::1]:9" → ("[::1]", Some(9));
/// `None` when a port is there but not a number.
fn split_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let colon = if authority.starts_with('[') {
        authority
            .find(']')
            .and_then(|close| authority.get(close..))
            .and_then(|after| after.find(':').map(|i| authority.len().saturating_sub(after.len()).saturating_add(i)))
    } else {
        authority.rfind(':')
    };
    match colon {
        None => Some((authority, None)),
        Some(i) => {
            let port = authority.get(i.saturating_add(1)..)?.parse::<u16>().ok()?;
            Some((authority.get(..i)?, Some(port)))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn targets_from_urls() {
        let t = Target::parse("ws://127.0.0.1:9001/echo?x=1").unwrap();
        assert_eq!(
            (t.addr.as_str(), t.host.as_str(), t.path.as_str(), t.tls),
            ("127.0.0.1:9001", "127.0.0.1:9001", "/echo?x=1", false)
        );
        let t = Target::parse("ws://localhost").unwrap();
        assert_eq!((t.addr.as_str(), t.path.as_str()), ("localhost:80", "/"));
        let t = Target::parse("wss://example.com?a#frag").unwrap();
        assert_eq!(
            (t.addr.as_str(), t.hostname.as_str(), t.path.as_str(), t.tls),
            ("example.com:443", "example.com", "/?a", true)
        );
        let t = Target::parse("WS://[::1]:9/").unwrap();
        assert_eq!((t.addr.as_str(), t.hostname.as_str(), t.host.as_str()), ("[::1]:9", "::1", "[::1]:9"));
        assert!(Target::parse("http://x/").unwrap_err().contains("starts with ws://"));
        assert!(Target::parse("x/").is_err());
        assert!(Target::parse("ws:///x").is_err());
        assert!(Target::parse("ws://h:port/").unwrap_err().contains("port"));
        assert!(Target::parse("ws://u@h/").is_err());
    }
}
