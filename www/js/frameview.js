// Rendering of what the core says about frames: field tables, violations,
// payloads, whole frame cards. Shared by the builder, inspector, live view
// and inject panel.

import { h, rfcLink, fieldClass, fieldName, fmtInt, wrapInt, hexPreview, wirePayload, opcodeHex, opcodeText, showText, plural } from './util.js';
import { hexDump } from './hexdump.js';
import { frameDiagram } from './diagram.js';

/** One violation: message, close code + name, RFC section. */
export function violationItem(v, tag = 'li') {
  return h(tag, { class: 'violation', 'data-code': v.code },
    h('span', { class: 'v-msg' }, v.message),
    h('span', { class: 'v-meta' },
      h('span', { class: 'code-chip', title: `Close code ${v.code}${v.code_name ? ` (${v.code_name})` : ''}` },
        `close ${v.code}${v.code_name ? ` ${v.code_name}` : ''}`),
      rfcLink(v.section, v.rfc)));
}

export function violationList(violations, attrs = {}) {
  return h('ul', { class: 'violations', ...attrs }, violations.map((v) => violationItem(v)));
}

function fieldMeaning(f, header, frame) {
  switch (f.key) {
    case 'fin':
      if (frame?.position) {
        return { only: 'the only frame of its message', first: 'first fragment: more follow', middle: 'a middle fragment', last: 'last fragment of its message' }[frame.position];
      }
      return f.value === '1' ? 'final frame' : 'not final: fragments follow';
    case 'opcode':
      return opcodeText(Number(f.value));
    case 'mask':
      return header.masked ? `masked with key ${header.mask_key}` : 'not masked';
    case 'len7':
      return header.length_form === '7-bit' ? `${plural(f.value, 'byte')} of payload` : `${header.length_form} extended length follows`;
    case 'lenext':
      return `${plural(header.payload_len, 'byte')} of payload`;
    case 'key':
      return 'each payload byte i is XORed with key byte i mod 4';
    default:
      return '';
  }
}

function bitsText(start, len) {
  return len === 1 ? `bit ${start}` : `bits ${start}–${start + len - 1}`;
}

/** Table of the header fields (and the payload), Wireshark style.
 * Rows are focusable: focusing one highlights the field in its scope. */
export function fieldTable(header, { frame = null, payloadLen = null, baseOffset = 0, focusable = false } = {}) {
  const tab = focusable ? '0' : null;
  const body = h('tbody');
  for (const f of header.fields) {
    const value = f.key === 'opcode' ? opcodeHex(f.value) : f.key === 'lenext' ? wrapInt(f.value) : f.value;
    body.append(h('tr', { 'data-f': f.key, tabindex: tab },
      h('th', { scope: 'row' }, h('span', { class: `swatch ${fieldClass(f.key)}`, 'aria-hidden': 'true' }), fieldName(f.key)),
      h('td', { class: 'mono muted' }, bitsText(f.bit_start, f.bit_len)),
      h('td', { class: 'mono' }, value),
      h('td', { class: 'muted' }, fieldMeaning(f, header, frame))));
  }
  // 64-bit lengths: exact arithmetic.
  const plen = BigInt(payloadLen ?? header.payload_len);
  const pStart = BigInt(baseOffset + header.header_len);
  body.append(h('tr', { 'data-f': 'payload', tabindex: tab },
    h('th', { scope: 'row' }, h('span', { class: 'swatch f-payload', 'aria-hidden': 'true' }), fieldName('payload')),
    h('td', { class: 'mono muted' }, plen ? ['bytes ', wrapInt(String(pStart)), '–', wrapInt(String(pStart + plen - 1n))] : '—'),
    h('td', { class: 'mono' }, wrapInt(String(plen))),
    h('td', { class: 'muted' }, header.masked ? 'bytes, masked on the wire' : 'bytes')));
  return h('div', { class: 'table-wrap' }, h('table', { class: 'fields' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Position'), h('th', { scope: 'col' }, 'Value'), h('th', { scope: 'col' }, 'Meaning'))),
    body));
}

/** The payload, unmasked, as text or hex (and as on the wire if masked). */
export function payloadBlock(frame, view = 'text', max = 512) {
  const block = h('div', { class: 'payload' });
  const p = frame.payload;
  const isClose = frame.header.kind === 'close';
  if (!p.length) {
    block.append(h('p', { class: 'muted small' }, 'Empty payload.'));
    return block;
  }
  const asText = view === 'text' && frame.text !== null && frame.text !== undefined && !isClose;
  const title = `Payload${frame.header.masked ? ' (unmasked)' : ''}, ${asText ? 'as text' : 'as hex'}`;
  const shown = asText
    ? h('pre', { class: 'payload-text' }, showText(frame.text, max))
    : h('pre', { class: 'payload-hex' }, hexPreview(p, max));
  block.append(h('div', { class: 'kv' }, h('span', { class: 'k' }, title), shown));
  if (frame.header.masked) {
    block.append(h('div', { class: 'kv' }, h('span', { class: 'k' }, 'Payload as on the wire (masked)'), h('pre', { class: 'payload-hex muted' }, hexPreview(wirePayload(frame), Math.min(max, 64)))));
  }
  if (view === 'text' && !asText && !isClose && frame.text === null) {
    block.append(h('p', { class: 'muted small' }, 'Not UTF-8 text: shown as hex.'));
  }
  return block;
}

/** The close frame's code and reason, as the core read them. */
export function closeBlock(frame) {
  if (!frame.close) return null;
  const c = frame.close;
  return h('p', { class: 'close-info' },
    h('span', { class: 'k' }, 'Close: '),
    c.code === null ? 'no status code (empty payload)' : h('strong', {}, `${c.code}${c.code_name ? ` ${c.code_name}` : ''}`),
    c.reason ? [' · reason ', h('q', {}, c.reason)] : c.code !== null ? ' · no reason' : '');
}

/** Badges summarising a frame. */
export function frameBadges(frame) {
  const hd = frame.header;
  const badges = [h('span', { class: 'badge f-opcode' }, opcodeText(hd.opcode))];
  badges.push(h('span', { class: 'badge f-fin' }, hd.fin ? 'FIN' : 'FIN=0'));
  if (hd.rsv.some(Boolean)) badges.push(h('span', { class: 'badge f-rsv' }, `RSV ${hd.rsv.map(Number).join('')}`));
  badges.push(hd.masked
    ? h('span', { class: 'badge f-key strong' }, `masked · key ${hd.mask_key}`)
    : h('span', { class: 'badge plain' }, 'not masked'));
  badges.push(h('span', { class: 'badge f-len7' }, plural(hd.payload_len, 'byte')));
  if (!frame.complete) badges.push(h('span', { class: 'badge warn' }, `incomplete: ${fmtInt(frame.payload_seen)} of ${fmtInt(hd.payload_len)} bytes`));
  if (frame.violations.length) badges.push(h('span', { class: 'badge bad' }, plural(frame.violations.length, 'violation')));
  return badges;
}

/**
 * A whole frame: badges, violations, fields, payload, coloured dump and
 * diagram (of the frame's bytes as the core kept them).
 */
export function frameCard(frame, { cls = '', view = 'text', title = null, diagram = true, dumpRows = 6, compact = false } = {}) {
  const hd = frame.header;
  const index = frame.index;
  const bytes = frame.bytes;
  const card = h('article', { class: `frame-card hl-scope ${cls}`, 'data-opcode': hd.opcode, 'data-masked': String(hd.masked) },
    h('header', { class: 'frame-head' },
      h('h4', {}, title ?? `Frame ${index + 1}`, h('span', { class: 'muted' }, ` · offset ${fmtInt(frame.offset)} · ${plural(bytes.length, 'byte')}`)),
      h('div', { class: 'badges' }, frameBadges(frame))));
  if (frame.violations.length) card.append(violationList(frame.violations));
  card.append(closeBlock(frame) || '');
  const table = fieldTable(hd, { frame, baseOffset: frame.offset });
  const cols = h('div', { class: 'frame-cols' },
    h('div', {}, compact ? h('details', { class: 'fields-details' }, h('summary', {}, 'Fields'), table) : table, payloadBlock(frame, view)),
    h('div', {}, hexDump(bytes, { fields: hd.fields, headerLen: hd.header_len, baseOffset: frame.offset, headRows: dumpRows, label: `Hex dump of frame ${index + 1}` })));
  card.append(cols);
  if (diagram) {
    const det = h('details', { class: 'diagram-details' }, h('summary', {}, 'Frame diagram (RFC 6455 §5.2 layout)'));
    let built = false;
    det.addEventListener('toggle', () => {
      if (det.open && !built) {
        built = true;
        det.append(frameDiagram(bytes, hd));
      }
    });
    card.append(det);
  }
  return card;
}

/** The assembled messages of an inspection. */
export function messageList(messages, view = 'text') {
  return h('ol', { class: 'messages' }, messages.map((m, i) => {
    const shown = view === 'text' && m.text !== null && m.text !== undefined
      ? h('pre', { class: 'payload-text' }, showText(m.text, 400))
      : h('pre', { class: 'payload-hex' }, hexPreview(m.payload, 128));
    const wire = m.compressed ? m.wire_len : null;
    return h('li', { class: 'message', 'data-compressed': String(Boolean(m.compressed)) },
      h('div', { class: 'message-head' },
        h('strong', {}, `${m.kind === 'text' ? 'Text' : 'Binary'} message ${i + 1}`),
        h('span', { class: 'muted' }, ` · ${plural(m.len, 'byte')}${m.compressed ? ' inflated' : ''} · from frame${m.frame_count > 1 ? 's' : ''} ${m.frames.map((f) => f + 1).join(', ')}${m.frame_count > m.frames.length ? ', …' : ''}`),
        m.compressed ? h('span', { class: 'badge f-rsv strong', title: 'RSV1 on its first frame: the payload is DEFLATE data (RFC 7692), shown here inflated' },
          wire !== null ? `compressed: ${plural(wire, 'byte')} on the wire` : 'compressed') : '',
        m.complete ? '' : h('span', { class: 'badge warn' }, 'unfinished: no final frame yet')),
      shown);
  }));
}

