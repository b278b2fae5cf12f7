//! Frame headers (RFC 6455 section 5.2): decoded from any prefix, encoded
//! from any combination of bits, each field with its bit span.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! |     Extended payload length continued, if payload len == 127  |
//! + - - - - - - - - - - - - - - - +-------------------------------+
//! |                               |Masking-key, if MASK set to 1  |
//! +-------------------------------+-------------------------------+
//! | Masking-key (continued)       |          Payload Data         |
//! +-------------------------------- - - - - - - - - - - - - - - - +
//! ```
//!
//! Decoding never judges: any 16 opcodes, any RSV bits, any length form is
//! represented faithfully, so the explorer can show a broken frame exactly.
//! Judging is [`crate::rules`]' job.

use crate::Decoded;
use alloc::vec::Vec;

/// Largest possible header: 2 + 8 (64-bit length) + 4 (masking key).
pub const MAX_HEADER_LEN: usize = 14;

/// The largest payload a control frame may carry (section 5.5).
pub const MAX_CONTROL_PAYLOAD: u64 = 125;

/// The 4-bit opcode (section 5.2), all 16 values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// `0x0`: continues a fragmented message.
    Continuation,
    /// `0x1`: text (UTF-8) data.
    Text,
    /// `0x2`: binary data.
    Binary,
    /// `0x8`: connection close.
    Close,
    /// `0x9`: ping.
    Ping,
    /// `0xA`: pong.
    Pong,
    /// `0x3`-`0x7`: reserved for further non-control frames.
    ReservedData(u8),
    /// `0xB`-`0xF`: reserved for further control frames.
    ReservedControl(u8),
}

impl OpCode {
    /// The opcode for the low 4 bits of `bits`.
    pub const fn from_bits(bits: u8) -> OpCode {
        match bits & 0x0F {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            b @ 0x3..=0x7 => OpCode::ReservedData(b),
            b => OpCode::ReservedControl(b),
        }
    }

    /// The 4-bit value.
    pub const fn bits(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
            OpCode::ReservedData(b) | OpCode::ReservedControl(b) => b & 0x0F,
        }
    }

    /// Control frames have the opcode's high bit set (section 5.5).
    pub const fn is_control(self) -> bool {
        self.bits() & 0x08 != 0
    }

    /// Reserved opcodes must not be sent without an extension (section 5.2).
    pub const fn is_reserved(self) -> bool {
        matches!(self, OpCode::ReservedData(_) | OpCode::ReservedControl(_))
    }

    /// The name Wireshark and the RFC use.
    pub const fn name(self) -> &'static str {
        match self {
            OpCode::Continuation => "Continuation",
            OpCode::Text => "Text",
            OpCode::Binary => "Binary",
            OpCode::Close => "Close",
            OpCode::Ping => "Ping",
            OpCode::Pong => "Pong",
            OpCode::ReservedData(_) => "Reserved (non-control)",
            OpCode::ReservedControl(_) => "Reserved (control)",
        }
    }
}

impl core::fmt::Display for OpCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} (0x{:X})", self.name(), self.bits())
    }
}

/// Which of the three payload length encodings a header uses (section 5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LengthForm {
    /// 0-125 in the 7-bit field.
    Short,
    /// 126 in the 7-bit field, then a 16-bit length.
    Extended16,
    /// 127 in the 7-bit field, then a 64-bit length.
    Extended64,
}

impl LengthForm {
    /// The shortest form that holds `len`: the one the RFC requires.
    pub const fn minimal(len: u64) -> LengthForm {
        if len <= 125 {
            LengthForm::Short
        } else if len <= 0xFFFF {
            LengthForm::Extended16
        } else {
            LengthForm::Extended64
        }
    }

    /// The form by the width of its length: `7-bit`, `16-bit` or `64-bit`
    /// (the words the explorer uses everywhere).
    pub const fn name(self) -> &'static str {
        match self {
            LengthForm::Short => "7-bit",
            LengthForm::Extended16 => "16-bit",
            LengthForm::Extended64 => "64-bit",
        }
    }

    /// Bytes of extended length after the first two header bytes.
    pub const fn extended_len(self) -> usize {
        match self {
            LengthForm::Short => 0,
            LengthForm::Extended16 => 2,
            LengthForm::Extended64 => 8,
        }
    }

    /// Whether `len` can be written in this form.
    pub const fn holds(self, len: u64) -> bool {
        match self {
            LengthForm::Short => len <= 125,
            LengthForm::Extended16 => len <= 0xFFFF,
            LengthForm::Extended64 => true,
        }
    }
}

/// A frame header, exactly as on the wire: nothing is normalised away.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    /// FIN: this is the final fragment of a message.
    pub fin: bool,
    /// RSV1, RSV2, RSV3.
    pub rsv: [bool; 3],
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, present exactly when the MASK bit is set.
    pub mask: Option<[u8; 4]>,
    /// The payload length (in the 64-bit form its top bit may be set).
    pub payload_len: u64,
    /// The length encoding used.
    pub length_form: LengthForm,
}

/// Header encoding failed: the fields cannot be written as asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The payload length does not fit the chosen length form.
    #[error("a payload length of {len} does not fit the {} length form", form.name())]
    LengthDoesNotFit {
        /// The length.
        len: u64,
        /// The form asked for.
        form: LengthForm,
    },
}

/// Header length for a length form, with or without a masking key.
const fn header_len(form: LengthForm, masked: bool) -> usize {
    let key = if masked { 4 } else { 0 };
    form.extended_len().saturating_add(2).saturating_add(key)
}

/// One field of a header, for drawing the frame diagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// FIN bit.
    Fin,
    /// RSV1 bit.
    Rsv1,
    /// RSV2 bit.
    Rsv2,
    /// RSV3 bit.
    Rsv3,
    /// 4-bit opcode.
    Opcode,
    /// MASK bit.
    Mask,
    /// The 7-bit payload length (or 126/127).
    PayloadLen,
    /// The 16- or 64-bit extended payload length.
    ExtendedPayloadLen,
    /// The 32-bit masking key.
    MaskingKey,
}

impl Field {
    /// The RFC's (and Wireshark's) name of the field.
    pub const fn name(self) -> &'static str {
        match self {
            Field::Fin => "FIN",
            Field::Rsv1 => "RSV1",
            Field::Rsv2 => "RSV2",
            Field::Rsv3 => "RSV3",
            Field::Opcode => "Opcode",
            Field::Mask => "MASK",
            Field::PayloadLen => "Payload length",
            Field::ExtendedPayloadLen => "Extended payload length",
            Field::MaskingKey => "Masking-Key",
        }
    }
}

/// Where a field sits in the header, counted in bits from the frame's first
/// bit (bit 0 is the most significant bit of byte 0), and its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FieldSpan {
    /// Which field.
    pub field: Field,
    /// First bit.
    pub bit_start: u16,
    /// Width in bits.
    pub bit_len: u16,
    /// The field's value as an unsigned number.
    pub value: u64,
}

impl FieldSpan {
    /// The bytes the field touches: `start..end`.
    pub const fn byte_range(&self) -> (usize, usize) {
        let start = (self.bit_start / 8) as usize;
        let end = self.bit_start.saturating_add(self.bit_len).div_ceil(8) as usize;
        (start, end)
    }
}

impl FrameHeader {
    /// A header with FIN set as given, no RSV bits and the minimal length form.
    pub const fn new(fin: bool, opcode: OpCode, mask: Option<[u8; 4]>, payload_len: u64) -> Self {
        FrameHeader { fin, rsv: [false; 3], opcode, mask, payload_len, length_form: LengthForm::minimal(payload_len) }
    }

    /// The RSV bits as the 3-bit number `RSV1 RSV2 RSV3`.
    pub const fn rsv_bits(&self) -> u8 {
        (self.rsv[0] as u8) << 2 | (self.rsv[1] as u8) << 1 | self.rsv[2] as u8
    }

    /// Decodes a header from the start of `buf`, which may be any prefix of
    /// a frame. `Incomplete { needed }` is exact: with that many more bytes
    /// the header decodes (or asks again, once the length form is known).
    #[inline]
    pub fn decode(buf: &[u8]) -> Decoded<FrameHeader> {
        let [b0, b1, rest @ ..] = buf else {
            return Decoded::Incomplete { needed: 2usize.saturating_sub(buf.len()) };
        };
        let (b0, b1) = (*b0, *b1);
        let masked = b1 & 0x80 != 0;
        let len7 = b1 & 0x7F;
        let length_form = match len7 {
            126 => LengthForm::Extended16,
            127 => LengthForm::Extended64,
            _ => LengthForm::Short,
        };
        let ext = length_form.extended_len();
        let after_len = if masked { ext | 4 } else { ext };
        if rest.len() < after_len {
            return Decoded::Incomplete { needed: after_len.saturating_sub(rest.len()) };
        }
        let payload_len = match length_form {
            LengthForm::Short => u64::from(len7),
            LengthForm::Extended16 => rest.first_chunk::<2>().map_or(0, |b| u64::from(u16::from_be_bytes(*b))),
            LengthForm::Extended64 => rest.first_chunk::<8>().map_or(0, |b| u64::from_be_bytes(*b)),
        };
        let mask = if masked { rest.get(ext..).and_then(|k| k.first_chunk::<4>()).copied() } else { None };
        Decoded::Complete {
            value: FrameHeader {
                fin: b0 & 0x80 != 0,
                rsv: [b0 & 0x40 != 0, b0 & 0x20 != 0, b0 & 0x10 != 0],
                opcode: OpCode::from_bits(b0),
                mask,
                payload_len,
                length_form,
            },
            len: after_len.saturating_add(2),
        }
    }

    /// The header's length in bytes (2 to 14).
    pub const fn encoded_len(&self) -> usize {
        header_len(self.length_form, self.mask.is_some())
    }

    /// Writes the header into `out`, returning its length. Any header can be
    /// written, invalid ones included, as long as the length fits its form.
    pub fn encode_to(&self, out: &mut [u8; MAX_HEADER_LEN]) -> Result<usize, EncodeError> {
        if !self.length_form.holds(self.payload_len) {
            return Err(EncodeError::LengthDoesNotFit { len: self.payload_len, form: self.length_form });
        }
        let [b0, b1, rest @ ..] = out;
        *b0 = (self.fin as u8) << 7 | self.rsv_bits() << 4 | self.opcode.bits();
        let len7 = match self.length_form {
            LengthForm::Short => u8::try_from(self.payload_len).unwrap_or(0),
            LengthForm::Extended16 => 126,
            LengthForm::Extended64 => 127,
        };
        let ext = self.length_form.extended_len();
        *b1 = (self.mask.is_some() as u8) << 7 | len7;
        let be = self.payload_len.to_be_bytes();
        let (ext_out, key_out) = rest.split_at_mut(ext);
        ext_out.copy_from_slice(be.get(8usize.saturating_sub(ext)..).unwrap_or_default());
        if let (Some(key), Some(slot)) = (self.mask, key_out.get_mut(..4)) {
            slot.copy_from_slice(&key);
        }
        Ok(self.encoded_len())
    }

    /// Appends the header to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let mut buf = [0u8; MAX_HEADER_LEN];
        let n = self.encode_to(&mut buf)?;
        out.extend_from_slice(buf.get(..n).unwrap_or_default());
        Ok(())
    }

    /// Appends the frame: this header, then `payload` masked with the
    /// header's key if it has one (section 5.3). The header's length field
    /// is written as it is, even when it differs from the payload's.
    pub fn encode_frame(&self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let mut head = [0u8; MAX_HEADER_LEN];
        let n = self.encode_to(&mut head)?;
        out.reserve(n.saturating_add(payload.len()));
        out.extend_from_slice(head.get(..n).unwrap_or_default());
        let at = out.len();
        out.extend_from_slice(payload);
        if let (Some(key), Some(body)) = (self.mask, out.get_mut(at..)) {
            crate::mask::apply_mask(body, key, 0);
        }
        Ok(())
    }

    /// Every field with its bit span and value, in wire order.
    pub fn fields(&self) -> Vec<FieldSpan> {
        let span = |field, bit_start, bit_len, value| FieldSpan { field, bit_start, bit_len, value };
        let len7 = match self.length_form {
            LengthForm::Short => self.payload_len,
            LengthForm::Extended16 => 126,
            LengthForm::Extended64 => 127,
        };
        let mut v = Vec::with_capacity(9);
        v.push(span(Field::Fin, 0, 1, self.fin as u64));
        v.push(span(Field::Rsv1, 1, 1, self.rsv[0] as u64));
        v.push(span(Field::Rsv2, 2, 1, self.rsv[1] as u64));
        v.push(span(Field::Rsv3, 3, 1, self.rsv[2] as u64));
        v.push(span(Field::Opcode, 4, 4, u64::from(self.opcode.bits())));
        v.push(span(Field::Mask, 8, 1, self.mask.is_some() as u64));
        v.push(span(Field::PayloadLen, 9, 7, len7));
        let ext_bits: u16 = match self.length_form {
            LengthForm::Short => 0,
            LengthForm::Extended16 => 16,
            LengthForm::Extended64 => 64,
        };
        if ext_bits > 0 {
            v.push(span(Field::ExtendedPayloadLen, 16, ext_bits, self.payload_len));
        }
        if let Some(key) = self.mask {
            v.push(span(Field::MaskingKey, ext_bits.saturating_add(16), 32, u64::from(u32::from_be_bytes(key))));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(bytes: &[u8]) -> (FrameHeader, usize) {
        FrameHeader::decode(bytes).complete().expect("complete header")
    }

    #[test]
    fn opcode_round_trips_all_sixteen() {
        for b in 0..16u8 {
            let op = OpCode::from_bits(b);
            assert_eq!(op.bits(), b);
            assert_eq!(op.is_control(), b >= 8);
            assert_eq!(op.is_reserved(), matches!(b, 3..=7 | 0xB..=0xF));
        }
    }

    #[test]
    fn decodes_rfc_examples() {
        let (h, n) = dec(&[0x81, 0x05]);
        assert_eq!((h.fin, h.opcode, h.mask, h.payload_len, n), (true, OpCode::Text, None, 5, 2));
        let (h, n) = dec(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d]);
        assert_eq!((h.mask, h.payload_len, n), (Some([0x37, 0xfa, 0x21, 0x3d]), 5, 6));
        let (h, n) = dec(&[0x82, 0x7e, 0x01, 0x00]);
        assert_eq!((h.payload_len, h.length_form, n), (256, LengthForm::Extended16, 4));
        let (h, n) = dec(&[0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]);
        assert_eq!((h.payload_len, h.length_form, n), (65536, LengthForm::Extended64, 10));
    }

    #[test]
    fn incomplete_says_exactly_how_much_is_missing() {
        let full = [0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4];
        assert_eq!(FrameHeader::decode(&[]), Decoded::Incomplete { needed: 2 });
        assert_eq!(FrameHeader::decode(&full[..1]), Decoded::Incomplete { needed: 1 });
        for cut in 2..14 {
            assert_eq!(FrameHeader::decode(&full[..cut]), Decoded::Incomplete { needed: 14 - cut });
        }
        assert_eq!(dec(&full).1, 14);
    }

    #[test]
    fn top_bit_of_64_bit_length_is_kept() {
        let (h, _) = dec(&[0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(h.payload_len, 0x8000_0000_0000_0001);
    }

    #[test]
    fn encodes_invalid_headers_too() {
        let h = FrameHeader {
            fin: false,
            rsv: [true, false, true],
            opcode: OpCode::ReservedControl(0xB),
            mask: None,
            payload_len: 5,
            length_form: LengthForm::Extended64,
        };
        let mut out = Vec::new();
        h.encode(&mut out).unwrap();
        assert_eq!(out, [0x5B, 0x7F, 0, 0, 0, 0, 0, 0, 0, 5]);
        assert_eq!(dec(&out), (h, 10));
        let bad = FrameHeader { length_form: LengthForm::Short, payload_len: 126, ..h };
        assert!(bad.encode(&mut out).is_err());
    }

    #[test]
    fn field_spans_cover_the_header_without_gaps() {
        let h = FrameHeader::new(true, OpCode::Binary, Some([1, 2, 3, 4]), 300);
        let fields = h.fields();
        let mut next = 0;
        for f in &fields {
            assert_eq!(f.bit_start, next, "{:?}", f.field);
            next += f.bit_len;
        }
        assert_eq!(usize::from(next), h.encoded_len() * 8);
        let ext = fields.iter().find(|f| f.field == Field::ExtendedPayloadLen).unwrap();
        assert_eq!((ext.value, ext.byte_range()), (300, (2, 4)));
        let key = fields.iter().find(|f| f.field == Field::MaskingKey).unwrap();
        assert_eq!((key.value, key.byte_range()), (0x0102_0304, (4, 8)));
    }
}
