// The right-hand column of the live panel: one row per HTTP head and per
// frame on the wire, as the wasm core decoded them (WireView).

import { h, hexPreview, wirePayload, showText, plural, fmtInt, opcodeLabel, httpPre } from './util.js';
import { hexDump, narrowScreen } from './hexdump.js';
import { frameCard, violationList } from './frameview.js';

/** `+12.3 ms` */
export const ms = (x) => `+${x < 10 ? x.toFixed(2) : x < 1000 ? x.toFixed(1) : fmtInt(Math.round(x))} ms`;

const SERVER_CLOCK = 'Time since the server accepted the TCP connection, by the server’s clock';
const arrowOf = (dir, who) => (dir === 'up' ? `${who} → server` : `server → ${who}`);
const arrowMark = (dir) => h('span', { class: 'dir-arrow', 'aria-hidden': 'true' }, dir === 'up' ? '↑' : '↓');

/** A side's HTTP head; `clock`: whose clock `micros` is; `open`: shown
 * unfolded (on wide screens, by default). */
export function headRow(dir, head, micros, clock = SERVER_CLOCK, open = !narrowScreen.matches) {
  const what = dir === 'up' ? 'request' : 'response';
  return h('div', { class: `tl-item http-row dir-${dir}`, 'data-http': what },
    h('div', { class: 'tl-line' },
      h('span', { class: 'tl-name' }, arrowMark(dir), ` HTTP ${what}`),
      h('span', { class: 'tl-time', title: clock }, `${ms(micros / 1000)}${clock === SERVER_CLOCK ? ' srv' : ''}`)),
    h('details', { class: 'http-details', open },
      h('summary', { class: 'mono' }, `${head.first_line} · ${plural(head.len, 'byte')}`), httpPre(head.text)));
}

/** What a frame's row shows of its payload, in one line. */
function preview(f, message) {
  if (f.close) {
    const c = f.close;
    return c.code === null ? 'no status code' : `${c.code} ${c.code_name || ''}${c.reason ? ` “${c.reason}”` : ''}`;
  }
  if (message?.compressed) {
    if (!message.complete) return '';
    return message.text !== null && message.text !== undefined ? `“${showText(message.text, 80)}”` : hexPreview(message.payload, 16);
  }
  if (f.header.kind === 'close' || !f.payload.length) return '';
  return f.text !== null && f.text !== undefined ? `“${showText(f.text, 80)}”` : hexPreview(f.payload, 16);
}

/**
 * One frame on the wire. `message`: for the last frame of a compressed
 * message, the message it completed (its frames hold DEFLATE bytes, the
 * message the inflated payload). `who`: the client's name in the row
 * ("browser", "checker"); `clock`: whose clock `micros` is.
 */
export function frameRow(dir, f, micros, message = null, who = 'browser', clock = SERVER_CLOCK) {
  const hd = f.header;
  const compressed = f.compressed;
  const lastOfMsg = Boolean(message?.compressed && message.complete);
  const arrow = arrowOf(dir, who);
  const shown = preview(f, message);
  const row = h('div', {
    class: `tl-item wire-frame dir-${dir} hl-scope`,
    'data-dir': dir,
    'data-opcode': hd.opcode,
    'data-masked': String(hd.masked),
    'data-compressed': String(compressed),
  },
  h('div', { class: 'tl-line' },
    h('span', { class: 'tl-name' }, arrowMark(dir), ` ${opcodeLabel(hd.opcode)}`, h('span', { class: 'tl-dir' }, ` ${arrow}`)),
    h('span', { class: 'tl-time', title: clock }, `${ms(micros / 1000)}${clock === SERVER_CLOCK ? ' srv' : ''}`)),
  h('div', { class: 'badges' },
    hd.masked ? h('span', { class: 'badge f-key strong' }, `MASKED · key ${hd.mask_key}`) : h('span', { class: 'badge plain' }, 'not masked'),
    hd.fin ? null : h('span', { class: 'badge f-fin' }, 'FIN=0'),
    h('span', { class: 'badge f-len7' }, plural(hd.payload_len, 'byte')),
    compressed && hd.rsv[0] ? h('span', { class: 'badge f-rsv strong', title: 'RSV1: this message is compressed (permessage-deflate)' }, 'RSV1 · compressed') : null,
    lastOfMsg ? h('span', { class: 'badge f-rsv' }, `inflates to ${plural(message.len, 'byte')}`) : null,
    f.complete ? null : h('span', { class: 'badge warn' }, `incomplete: ${fmtInt(f.payload_seen)} of ${fmtInt(hd.payload_len)} bytes`),
    shown ? h('span', { class: 'tl-preview mono' }, shown) : null),
  hexDump(f.bytes, { fields: hd.fields, headerLen: hd.header_len, headRows: 1, tailRows: 0, label: `Bytes of this ${arrow} frame` }),
  hd.masked && f.payload.length
    ? h('div', { class: 'tl-detail small mono' }, `payload on the wire ${hexPreview(wirePayload(f), 8)} → unmasked ${hexPreview(f.payload, 8)}${compressed ? ' (DEFLATE)' : ''}`)
    : null,
  lastOfMsg
    ? h('div', { class: 'tl-detail small mono' }, `message: ${plural(message.wire_len, 'compressed byte')} → inflated ${hexPreview(message.payload, 12)}`)
    : null,
  f.violations.length ? violationList(f.violations) : null);
  const det = h('details', { class: 'wire-details' }, h('summary', {}, 'All fields'));
  det.addEventListener('toggle', () => {
    if (det.open && det.children.length === 1) det.append(frameCard(f, { view: 'text', diagram: true, dumpRows: 4 }));
  });
  row.append(det);
  return row;
}
