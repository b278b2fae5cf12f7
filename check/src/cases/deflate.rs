//! Groups 12 and 13, permessage-deflate (RFC 7692; Autobahn 12.*, 13.*):
//! 1000 compressed messages of 16 B to 128 KiB, one at a time, each echoed
//! as sent, whole or split into frames of 256 B to 32 KiB after
//! compression. Group 12 cuts them from five kinds of data with the
//! default offer; group 13 from the JSON data with seven offers (context
//! takeover and window sizes). A server that does not agree to
//! permessage-deflate is UNIMPLEMENTED, not FAILED: the extension is
//! optional.

use super::corpora::{self, Corpus};
use crate::case::{Action, Case, CloseExpectation, Echoes, Rule, Seen, Source};
use crate::verdict::Verdict;
use std::sync::Arc;
use std::time::Duration;

/// (message size, count, seconds, frame size after compression; 0 = one frame)
const SIZES: [(usize, usize, u64, usize); 18] = [
    (16, 1000, 60, 0),
    (64, 1000, 60, 0),
    (256, 1000, 120, 0),
    (1024, 1000, 240, 0),
    (4096, 1000, 480, 0),
    (8192, 1000, 480, 0),
    (16384, 1000, 480, 0),
    (32768, 1000, 480, 0),
    (65536, 1000, 480, 0),
    (131072, 1000, 480, 0),
    (8192, 1000, 480, 256),
    (16384, 1000, 480, 256),
    (32768, 1000, 480, 256),
    (65536, 1000, 480, 256),
    (131072, 1000, 480, 256),
    (131072, 1000, 480, 1024),
    (131072, 1000, 480, 4096),
    (131072, 1000, 480, 32768),
];

/// The client's offer: the client may be asked for no context takeover and
/// a smaller window; it may ask the same of the server.
const DEFAULT_OFFER: &str = "permessage-deflate; client_no_context_takeover; client_max_window_bits";

/// Group 13's offers.
const OFFERS: [&str; 7] = [
    DEFAULT_OFFER,
    "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover",
    "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_max_window_bits=9",
    "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_max_window_bits=15",
    "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover; \
     server_max_window_bits=9",
    "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover; \
     server_max_window_bits=15",
    "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover; \
     server_max_window_bits=9, permessage-deflate; client_no_context_takeover; client_max_window_bits; \
     server_no_context_takeover, permessage-deflate; client_no_context_takeover; client_max_window_bits",
];

fn case(id: String, corpus: &Corpus, offer: &str, size: (usize, usize, u64, usize)) -> Case {
    let (len, count, secs, max_frame) = size;
    let split =
        if max_frame == 0 { "each in one frame".to_owned() } else { format!("split into frames of {max_frame} bytes") };
    let kind = if corpus.text { "text" } else { "binary" };
    Case {
        id,
        description: format!(
            "Send {count} compressed {kind} messages of {len} bytes cut from {}, {split}, one at a time; \
             permessage-deflate as {offer:?} (the checker's offer as a client; as a server it asks of the client \
             what this asks of a server).",
            corpus.name
        ),
        expectation: format!(
            "permessage-deflate agreed (else UNIMPLEMENTED) and every message echoed as sent within {secs} s. \
             Clean close with 1000."
        ),
        actions: vec![
            Action::NeedDeflate,
            Action::Echoes(Echoes {
                text: corpus.text,
                source: Source::Corpus(Arc::clone(&corpus.bytes)),
                len,
                count,
                max_frame,
                chop: None,
            }),
        ],
        expected: vec![(Verdict::Ok, vec![Seen::Echoed(count)]), (Verdict::Unimplemented, vec![Seen::NoDeflate])],
        close: CloseExpectation::normal(),
        time_limit: Duration::from_secs(secs),
        rule: Rule::Plain,
        offer: Some(offer.to_owned()),
        own: None,
    }
}

pub(super) fn cases() -> Vec<Case> {
    let corpora = corpora::all();
    let mut all = Vec::new();
    for (sub, corpus) in (1..).zip(corpora) {
        for (n, size) in (1..).zip(SIZES) {
            all.push(case(format!("12.{sub}.{n}"), corpus, DEFAULT_OFFER, size));
        }
    }
    if let Some(json) = corpora.first() {
        for (sub, offer) in (1..).zip(OFFERS) {
            for (n, size) in (1..).zip(SIZES) {
                all.push(case(format!("13.{sub}.{n}"), json, offer, size));
            }
        }
    }
    all
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn groups_twelve_and_thirteen_have_autobahns_shape() {
        let all = cases();
        assert_eq!(all.len(), 5 * 18 + 7 * 18);
        assert!(all.iter().all(|c| c.offer.as_deref().is_some_and(|o| o.starts_with("permessage-deflate"))));
    }
}
