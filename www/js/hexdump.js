// Hex dumps as Wireshark shows them: offset | 16 hex bytes | ASCII.
// With a frame header's fields (bit spans from the core), each byte is
// tinted by the field that owns most of its bits and underlined with the
// exact share of each field.

import { h, asciiChar, fieldGroup, fieldClass, fieldName, fmtInt } from './util.js';

/** Phones get 8 bytes per row; everything else Wireshark's 16. */
export const narrowScreen = matchMedia('(max-width: 600px)');
const relayouts = [];
/** Registers a render function to run again when the row width changes. */
export function onDumpWidthChange(fn) {
  relayouts.push(fn);
}
narrowScreen.addEventListener('change', () => relayouts.forEach((fn) => fn()));

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * Which fields own the bits of each header byte.
 * `fields`: the core's header fields ({key, bit_start, bit_len}).
 * Returns, per byte index, [{key, from, to}] in bits 0-8 of that byte.
 */
export function byteOwners(fields, headerLen) {
  const owners = Array.from({ length: headerLen }, () => []);
  for (const f of fields) {
    for (let bit = f.bit_start; bit < f.bit_start + f.bit_len; bit++) {
      const byte = bit >> 3;
      if (byte >= headerLen) break;
      const segs = owners[byte];
      const last = segs[segs.length - 1];
      const inByte = bit & 7;
      if (last && last.key === f.key && last.to === inByte) last.to = inByte + 1;
      else segs.push({ key: f.key, from: inByte, to: inByte + 1 });
    }
  }
  return owners;
}

/** Attributes for the span of one byte: its fields, class and colour bar. */
function byteLook(i, owners, headerLen, hasFields) {
  if (!hasFields) return null;
  if (i >= headerLen) return { f: 'payload', cls: 'f-payload' };
  const segs = owners[i] || [];
  if (!segs.length) return null;
  const keys = [...new Set(segs.map((s) => s.key))];
  let major = segs[0];
  for (const s of segs) if (s.to - s.from > major.to - major.from) major = s;
  const look = { f: keys.join(' '), cls: fieldClass(major.key) };
  if (segs.length > 1) {
    const stops = segs.map((s) => `var(--c-${fieldGroup(s.key)}) ${(s.from / 8) * 100}% ${(s.to / 8) * 100}%`);
    look.bar = `linear-gradient(to right, ${stops.join(', ')})`;
    look.title = segs.map((s) => `${fieldName(s.key)}: ${s.to - s.from} bit${s.to - s.from > 1 ? 's' : ''}`).join(', ');
  }
  return look;
}

/**
 * A hex dump element.
 * opts: {fields, headerLen} to colour a frame; baseOffset (offset labels);
 * headRows, tailRows (rows kept when the dump is cut); label (aria).
 */
export function hexDump(bytes, opts = {}) {
  const { fields = null, headerLen = 0, baseOffset = 0, label = 'Hex dump' } = opts;
  const per = narrowScreen.matches ? 8 : 16;
  // Row counts are given in 16-byte rows.
  const headRows = (opts.headRows ?? 8) * (16 / per);
  const tailRows = opts.tailRows ?? 1;
  const hasFields = Array.isArray(fields);
  const owners = hasFields ? byteOwners(fields, headerLen) : [];
  const rows = Math.ceil(bytes.length / per);
  const offDigits = baseOffset + bytes.length > 0xffff ? 8 : 4;
  const dump = h('div', { class: `dump dump-${per}`, role: 'group', 'aria-label': label });
  if (!bytes.length) {
    dump.append(h('div', { class: 'dump-empty' }, '(no bytes)'));
    return dump;
  }
  const cut = rows > headRows + tailRows + 1;
  const rowList = cut
    ? [...range(0, headRows), -1, ...range(rows - tailRows, rows)]
    : [...range(0, rows)];
  for (const r of rowList) {
    if (r === -1) {
      const from = headRows * per;
      const to = (rows - tailRows) * per;
      dump.append(h('div', { class: 'dump-gap' }, `⋯ ${fmtInt(to - from)} bytes not shown (offsets ${hex(baseOffset + from, offDigits)}–${hex(baseOffset + to - 1, offDigits)}) ⋯`));
      continue;
    }
    const row = h('div', { class: 'dump-row' });
    row.append(h('span', { class: 'dump-off' }, hex(baseOffset + r * per, offDigits)));
    const hexCol = h('span', { class: 'dump-hex' });
    const ascCol = h('span', { class: 'dump-asc' });
    for (let c = 0; c < per; c++) {
      const i = r * per + c;
      if (i >= bytes.length) {
        hexCol.append(h('span', { class: 'b pad', 'aria-hidden': 'true' }, '  '));
        continue;
      }
      const look = byteLook(i, owners, headerLen, hasFields);
      const b = bytes[i];
      const attrs = { class: `b${look ? ` ${look.cls}` : ''}`, 'data-i': i };
      if (look) attrs['data-f'] = look.f;
      if (look?.title) attrs.title = look.title;
      const span = h('span', attrs, HEX[b]);
      if (look?.bar) span.style.setProperty('--bar', look.bar);
      hexCol.append(span);
      const a = h('span', { class: `a${look ? ` ${look.cls}` : ''}`, 'data-i': i }, asciiChar(b));
      if (look) a.dataset.f = look.f;
      ascCol.append(a);
    }
    row.append(hexCol, ascCol);
    dump.append(row);
  }
  return dump;
}

function* range(a, b) {
  for (let i = a; i < b; i++) yield i;
}

function hex(n, digits) {
  return n.toString(16).padStart(digits, '0');
}
