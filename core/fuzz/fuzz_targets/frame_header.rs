//! Header decoding: any bytes; a decoded header re-encodes to the same bytes,
//! and the strict judgement is the first of the inspecting one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wscope_core::Decoded;
use wscope_core::frame::FrameHeader;
use wscope_core::rules::{FrameRules, Role};

fuzz_target!(|data: &[u8]| {
    match FrameHeader::decode(data) {
        Decoded::Complete { value, len } => {
            assert_eq!(len, value.encoded_len());
            let mut again = Vec::new();
            value.encode(&mut again).expect("a decoded header always encodes");
            assert_eq!(&again[..], &data[..len]);
            let spans = value.fields();
            assert_eq!(spans.iter().map(|s| usize::from(s.bit_len)).sum::<usize>(), len * 8);
            for sender in [Some(Role::Client), Some(Role::Server), None] {
                for deflate in [false, true] {
                    let rules = FrameRules::new(sender, deflate, Some(1 << 20));
                    assert_eq!(rules.check(&value).err(), rules.violations(&value).first().copied());
                }
            }
        }
        Decoded::Incomplete { needed } => {
            assert!(needed >= 1 && data.len() + needed <= 14);
        }
    }
});
