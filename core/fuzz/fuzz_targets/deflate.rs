//! permessage-deflate: any bytes inflated under a limit never panic and
//! never pass it; any payload compressed at any window and level inflates
//! back to itself, alone and as the next message of a shared window.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wscope_core::deflate::{MessageDeflater, MessageInflater, compress_message};

fuzz_target!(|input: &[u8]| {
    let Some((&control, data)) = input.split_first() else { return };
    // Arbitrary bytes as a compressed message, in two pieces.
    let max = u64::from(control) * 64;
    let split = (usize::from(control) * 7).min(data.len());
    let mut out = Vec::new();
    let mut inflater = MessageInflater::new(control & 1 == 1);
    if inflater.inflate(&data[..split], &mut out, max).is_ok()
        && inflater.inflate(&data[split..], &mut out, max).is_ok()
    {
        let _ = inflater.finish(&mut out, max);
    }
    assert!(out.len() as u64 <= max, "inflated {} bytes past the limit {max}", out.len());

    // Round trip: the data compressed, then inflated.
    let bits = 9 + (control >> 4) % 7;
    let level = u32::from(control % 10);
    let z = compress_message(data, bits, level).expect("compression of any bytes succeeds");
    let limit = data.len() as u64;
    let mut back = Vec::new();
    let mut inflater = MessageInflater::new(false);
    inflater.inflate(&z, &mut back, limit).expect("our own output inflates");
    inflater.finish(&mut back, limit).expect("our own output ends cleanly");
    assert_eq!(back, data);
    // A second message on the shared window (context takeover both ways).
    let mut deflater = MessageDeflater::new(bits, false, level);
    let mut inflater = MessageInflater::new(false);
    for _ in 0..2 {
        let mut z = Vec::new();
        deflater.compress(data, &mut z).expect("compression succeeds");
        let mut back = Vec::new();
        inflater.inflate(&z, &mut back, limit).expect("inflates");
        inflater.finish(&mut back, limit).expect("ends");
        assert_eq!(back, data);
    }
});
