//! The explorer's inspector entry point, natively: any bytes, judged as any
//! sender, with and without permessage-deflate and with small limits, go
//! through every conversion the page's `inspect` makes (text previews,
//! field spans, messages) without a panic, and serialise.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wscope_core::deflate::DeflateParams;
use wscope_core::Role;
use wscope_core::inspect::InspectOptions;
use wscope_core::stream::StreamOptions;

fuzz_target!(|input: &[u8]| {
    let Some((&control, data)) = input.split_first() else { return };
    let stream = StreamOptions {
        sender: match control % 3 {
            0 => Some(Role::Client),
            1 => Some(Role::Server),
            _ => None,
        },
        max_frame_size: (control & 8 == 8).then_some(64),
        max_message_size: (control & 16 == 16).then_some(100),
        deflate: (control & 64 == 64)
            .then(|| DeflateParams { server_no_context_takeover: control & 128 == 128, ..DeflateParams::default() }),
        keep_payload: if control & 4 == 4 { 16 } else { usize::MAX },
    };
    let options = InspectOptions { stream, max_frames: if control & 32 == 32 { 3 } else { 10_000 } };
    let report = wscope_wasm::inspection(data, &options);
    serde_json::to_string(&report).expect("the report serialises");
});
