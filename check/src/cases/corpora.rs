//! The texts the permessage-deflate cases (12.*, 13.*) cut their messages
//! from: the same five kinds Autobahn uses (JSON, a bitmap, prose, HTML, a
//! PDF-like file), generated here from a fixed seed so the checker carries
//! no data files and every run sends the same bytes.

use std::sync::{Arc, OnceLock};

/// A corpus: what it is, whether its messages go as text, and its bytes.
pub(super) struct Corpus {
    pub(super) name: &'static str,
    pub(super) text: bool,
    pub(super) bytes: Arc<[u8]>,
}

/// A small, fixed pseudo-random sequence (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() >> 33).unwrap_or(0).checked_rem(n).unwrap_or(0)
    }

    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list.get(self.below(list.len())).copied().unwrap_or("")
    }
}

const WORDS: &[&str] = &[
    "der",
    "die",
    "das",
    "und",
    "nicht",
    "ich",
    "ist",
    "mit",
    "sich",
    "mir",
    "dem",
    "den",
    "ein",
    "zu",
    "so",
    "was",
    "wie",
    "auch",
    "nur",
    "doch",
    "Geist",
    "Welt",
    "Herz",
    "Nacht",
    "Licht",
    "Himmel",
    "Erde",
    "Natur",
    "Seele",
    "Wissen",
    "Kraft",
    "Zeit",
    "Leben",
    "Augenblick",
    "verweile",
    "schoen",
    "ewig",
    "Drang",
    "Streben",
    "Mephisto",
];

fn prose(rng: &mut Rng, target: usize) -> Vec<u8> {
    let mut s = String::new();
    while s.len() < target {
        let n = 4usize.saturating_add(rng.below(9));
        let line: Vec<&str> = (0..n).map(|_| rng.pick(WORDS)).collect();
        s.push_str(&line.join(" "));
        s.push_str(if rng.below(4) == 0 { ".\r\n\r\n" } else { ",\r\n" });
    }
    s.into_bytes()
}

fn json(rng: &mut Rng, target: usize) -> Vec<u8> {
    let mut s = String::from("[\n");
    let mut id = 0u32;
    while s.len() < target {
        id = id.saturating_add(1);
        let name = format!("{}-{}", rng.pick(WORDS), rng.below(1000));
        let tags: Vec<String> = (0..rng.below(4)).map(|_| format!("\"{}\"", rng.pick(WORDS))).collect();
        s.push_str(&format!(
            "  {{\"id\": {id}, \"name\": \"{name}\", \"score\": {}.{:03}, \"active\": {}, \"tags\": [{}]}},\n",
            rng.below(100),
            rng.below(1000),
            rng.below(2) == 0,
            tags.join(", ")
        ));
    }
    s.push_str("  {}\n]\n");
    s.into_bytes()
}

fn html(rng: &mut Rng, target: usize) -> Vec<u8> {
    let mut s = String::from("<!DOCTYPE html>\n<html><head><title>wscope corpus</title></head><body>\n");
    while s.len() < target {
        let words: Vec<&str> = (0..6usize.saturating_add(rng.below(20))).map(|_| rng.pick(WORDS)).collect();
        let class = rng.pick(&["intro", "note", "quote", "item"]);
        s.push_str(&format!(
            "<div class=\"{class}\"><p id=\"p{}\">{}</p><a href=\"/page/{}\">{}</a></div>\n",
            rng.below(100_000),
            words.join(" "),
            rng.below(500),
            rng.pick(WORDS)
        ));
    }
    s.push_str("</body></html>\n");
    s.into_bytes()
}

/// A 512 x 512 grey bitmap (BMP): smooth shading with noise, as a photo.
fn bitmap(rng: &mut Rng) -> Vec<u8> {
    const SIDE: usize = 512;
    const PIXELS: u32 = 512 * 512;
    const HEADER: u32 = 14 + 40 + 256 * 4;
    let mut b = b"BM".to_vec();
    for v in [HEADER + PIXELS, 0, HEADER, 40, 512, 512] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(&[1, 0, 8, 0]);
    for v in [0u32, PIXELS, 2835, 2835, 256, 0] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    for g in 0..=255u8 {
        b.extend_from_slice(&[g, g, g, 0]);
    }
    for y in 0..SIDE {
        for x in 0..SIDE {
            let shade = (x.saturating_mul(3).saturating_add(y.saturating_mul(2)) / 5) % 256;
            let noise = rng.below(24);
            b.push(u8::try_from(shade.saturating_add(noise).min(255)).unwrap_or(255));
        }
    }
    b
}

/// A PDF-like file: text objects between streams of incompressible bytes.
fn pdf(rng: &mut Rng, target: usize) -> Vec<u8> {
    let mut b = b"%PDF-1.4\n".to_vec();
    let mut n = 0u32;
    while b.len() < target {
        n = n.saturating_add(1);
        let len = 2000usize.saturating_add(rng.below(6000));
        b.extend_from_slice(format!("{n} 0 obj\n<< /Length {len} /Filter /FlateDecode >>\nstream\n").as_bytes());
        b.extend((0..len).map(|_| (rng.next() >> 56) as u8));
        b.extend_from_slice(b"\nendstream\nendobj\n");
    }
    b.extend_from_slice(b"%%EOF\n");
    b
}

/// The five corpora, made once.
pub(super) fn all() -> &'static [Corpus] {
    static ALL: OnceLock<Vec<Corpus>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut rng = Rng(0x005e_ed0f_6455);
        let make = |name, text, bytes: Vec<u8>| Corpus { name, text, bytes: bytes.into() };
        let json = json(&mut rng, 194_000);
        let bitmap = bitmap(&mut rng);
        let prose = prose(&mut rng, 222_000);
        let html = html(&mut rng, 263_000);
        let pdf = pdf(&mut rng, 1_040_000);
        vec![
            make("JSON data (generated)", true, json),
            make("a 512x512 grey bitmap (generated)", false, bitmap),
            make("German-like prose (generated)", false, prose),
            make("HTML (generated)", true, html),
            make("a PDF-like file, mostly incompressible streams (generated)", false, pdf),
        ]
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn corpora_are_fixed_sized_and_text_is_utf8() {
        let all = all();
        assert_eq!(all.len(), 5);
        for c in all {
            assert!(c.bytes.len() > 190_000, "{}", c.name);
            assert!(!c.text || std::str::from_utf8(&c.bytes).is_ok_and(str::is_ascii), "{}", c.name);
        }
        // Text messages are cut anywhere: the text corpora are ASCII.
        // And the same seed makes the same bytes.
        assert_eq!(json(&mut Rng(7), 5000), json(&mut Rng(7), 5000));
        assert_ne!(json(&mut Rng(7), 5000), json(&mut Rng(8), 5000));
    }
}
