// Small DOM and byte helpers shared by the panels. No protocol rule lives
// here: names, lengths, validity and masking all come from the wasm core.

import { frame_fields, opcode_info } from '../pkg/wscope_wasm.js';

/** Creates an element: h('div', {class: 'x', onclick: f}, child, 'text', ...). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export const $ = (sel, root = document) => root.querySelector(sel);

export const utf8 = new TextEncoder();
const utf8dec = new TextDecoder('utf-8', { fatal: false });
export const decodeText = (bytes) => utf8dec.decode(bytes);

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Bytes as hex: `sep` between bytes ('' for the compact form). */
export function toHex(bytes, sep = ' ') {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += (i && sep ? sep : '') + HEX[bytes[i]];
  return out;
}

/** Hex of at most `max` bytes, with an ellipsis and the count left out. */
export function hexPreview(bytes, max = 24) {
  if (bytes.length <= max) return toHex(bytes);
  return `${toHex(bytes.subarray(0, max))} … (+${plural(bytes.length - max, 'byte')})`;
}

/** A frame's payload as it was on the wire (masked if the frame is): its
 * bytes after the header. */
export const wirePayload = (frame) => frame.bytes.subarray(frame.header.header_len);

export function randomBytes(n) {
  const b = new Uint8Array(n);
  crypto.getRandomValues(b);
  return b;
}

/** A whole number with thousands separators; exact for 64-bit lengths,
 * which the core hands over as strings. */
export const fmtInt = (n) => (typeof n === 'string' && /^\d+$/.test(n) ? BigInt(n) : Number(n)).toLocaleString('en-US');

/** `fmtInt` as an element that may wrap only between digit groups (never
 * inside one), for long numbers in narrow cells. */
export const wrapInt = (n) => h('span', { class: 'int' }, fmtInt(n).split(',').flatMap((g, i) => (i ? [',', h('wbr'), g] : [g])));

export function plural(n, one, many = `${one}s`) {
  return `${fmtInt(n)} ${Number(n) === 1 ? one : many}`;
}

/** A link to a section of RFC 6455, labelled "RFC 6455 §x.y". */
export function rfcLink(section, rfc = 6455) {
  return h('a', {
    class: 'rfc',
    href: `https://www.rfc-editor.org/rfc/rfc${rfc}#section-${section}`,
    target: '_blank',
    rel: 'noopener',
    title: `Open section ${section} of RFC ${rfc}`,
  }, `RFC ${rfc} §${section}`);
}

/** The colour group of a field key: the three RSV bits share one colour. */
export const fieldGroup = (key) => (key && key.startsWith('rsv') ? 'rsv' : key);

/** CSS class for a field key. */
export const fieldClass = (key) => `f-${fieldGroup(key)}`;

let fieldNames = null;
/** Field key -> name (from the core): fin -> FIN, len7 -> Payload length, ... */
export function fieldName(key) {
  if (!fieldNames) fieldNames = new Map(frame_fields().map((f) => [f.key, f.name]));
  return fieldNames.get(key) || key;
}

export function allFields() {
  return frame_fields();
}

let opcodes = null;
/** The 16 opcodes as the core names them. */
export function opcodeTable() {
  if (!opcodes) opcodes = Array.from({ length: 16 }, (_, i) => opcode_info(i));
  return opcodes;
}

export const opcodeHex = (bits) => `0x${Number(bits).toString(16).toUpperCase()}`;

/** The page's one way to name an opcode: "0x1 Text". */
export function opcodeLabel(bits) {
  return `${opcodeHex(bits)} ${opcodeTable()[bits].name}`;
}

/** The same with the core's control/reserved marks: "0x1 Text · data". */
export function opcodeText(bits) {
  const op = opcodeTable()[bits];
  const marks = [op.control ? 'control' : 'data', op.reserved ? 'reserved' : null].filter(Boolean);
  return `${opcodeLabel(bits)} · ${marks.join(', ')}`;
}

/** Printable ASCII for a hex dump, '.' otherwise (as Wireshark shows). */
export const asciiChar = (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.');

/** Text for display: control characters shown as escapes, cut to `max`. */
export function showText(s, max = 200) {
  let t = s.length > max ? `${s.slice(0, max)}…` : s;
  t = t.replace(/[\u0000-\u001f\u007f]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
  return t;
}

/** Sets the same value on an input and tells its listeners. */
export function setInput(el, value) {
  el.value = value;
  el.dispatchEvent(new Event('input', { bubbles: true }));
}

/** Hovering or focusing any [data-f] element highlights that field
 * everywhere inside the nearest `.hl-scope`. */
export function installFieldHighlight(root) {
  const keysOf = (el) => (el?.dataset.f || '').split(' ').filter(Boolean);
  let current = null;
  const apply = (el) => {
    const scope = el?.closest('.hl-scope');
    const keys = keysOf(el);
    if (current && current !== scope) current.querySelectorAll('.hl').forEach((n) => n.classList.remove('hl'));
    current = scope;
    if (!scope) return;
    scope.classList.toggle('hl-on', keys.length > 0);
    for (const n of scope.querySelectorAll('[data-f]')) {
      const nk = keysOf(n);
      n.classList.toggle('hl', keys.length > 0 && nk.some((k) => keys.includes(k)));
    }
  };
  const clear = () => {
    if (!current) return;
    current.classList.remove('hl-on');
    current.querySelectorAll('.hl').forEach((n) => n.classList.remove('hl'));
    current = null;
  };
  root.addEventListener('pointerover', (e) => {
    const el = e.target.closest?.('[data-f]');
    if (el) apply(el);
    else clear();
  });
  root.addEventListener('pointerleave', clear);
  root.addEventListener('focusin', (e) => {
    const el = e.target.closest?.('[data-f]');
    if (el) apply(el);
  });
  root.addEventListener('focusout', clear);
}

/** Empty-state paragraph. */
export const empty = (text) => h('p', { class: 'empty' }, text);

/** HTTP text in a <pre>, with each line end shown (CR LF as "\\r\\n"), so
 * the empty line that ends the head is visible. */
export function httpPre(text, cls = '') {
  const pre = h('pre', { class: `http ${cls}` });
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const last = i === lines.length - 1;
    if (last && line === '') return;
    const cr = line.endsWith('\r');
    pre.append(cr ? line.slice(0, -1) : line);
    if (!last) pre.append(h('span', { class: 'eol', 'aria-hidden': 'true' }, cr ? '\\r\\n' : '\\n'), '\n');
  });
  return pre;
}
