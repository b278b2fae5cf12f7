// The frame as RFC 6455 section 5.2 draws it: 32 bits per row, every bit
// shown, each field coloured and labelled with its value. The bit spans
// come from the core (header.fields).

import { h, fieldClass, fieldName, fmtInt, opcodeLabel } from './util.js';

/** Label text of a field segment. `first`: the segment where it starts. */
function fieldLabel(f, header, first) {
  const name = fieldName(f.key);
  if (!first) return { text: `${name} (continued)`, short: `${name} (cont.)` };
  switch (f.key) {
    case 'fin':
    case 'rsv1':
    case 'rsv2':
    case 'rsv3':
    case 'mask':
      return { text: `${name} = ${f.value}`, short: name, vertical: true };
    case 'opcode':
      return { text: `${name} = ${opcodeLabel(Number(f.value))}`, short: opcodeLabel(Number(f.value)).split(' (')[0] };
    case 'len7':
      return header.length_form === '7-bit'
        ? { text: `${name} = ${f.value}`, short: `Payload len = ${f.value}` }
        : { text: `${name} = ${f.value} (${header.length_form} length follows)`, short: `len = ${f.value} → ${header.length_form}` };
    case 'lenext':
      return { text: `${name} = ${fmtInt(f.value)}`, short: `${name} = ${fmtInt(f.value)}` };
    case 'key':
      return { text: `${name} = ${f.value}`, short: `${name} = ${f.value}` };
    default:
      return { text: `${name} = ${f.value}`, short: name };
  }
}

/**
 * frameBytes: the frame as on the wire (header, then the payload present).
 * header: the core's header (fields, header_len, masked, payload_len).
 */
export function frameDiagram(frameBytes, header) {
  const headerBits = header.header_len * 8;
  const payloadHave = Math.max(0, frameBytes.length - header.header_len);
  // Show the payload to the end of the header's last row, plus one row.
  const fill = (4 - (header.header_len % 4)) % 4;
  const payloadShown = Math.min(payloadHave, fill + 4);
  const shownBits = headerBits + payloadShown * 8;
  const owner = new Array(shownBits);
  for (const f of header.fields) {
    for (let b = f.bit_start; b < f.bit_start + f.bit_len && b < shownBits; b++) owner[b] = f;
  }
  const payloadField = { key: 'payload', bit_start: headerBits, bit_len: payloadShown * 8 };
  for (let b = headerBits; b < shownBits; b++) owner[b] = payloadField;

  const wrap = h('div', { class: 'diagram-wrap' });
  const grid = h('div', { class: 'diagram', role: 'img', 'aria-label': diagramAlt(header, payloadHave) });
  // Ruler: bit numbers 0-31, as in the RFC.
  const ruler = h('div', { class: 'dg-row dg-ruler', 'aria-hidden': 'true' }, h('span', { class: 'dg-off' }, 'byte'));
  for (let i = 0; i < 32; i++) ruler.append(h('span', { class: `dg-rule${i % 8 === 7 ? ' byte-end' : ''}` }, String(i)));
  grid.append(ruler);

  const rows = Math.ceil(shownBits / 32);
  for (let r = 0; r < rows; r++) {
    const labels = h('div', { class: 'dg-row dg-labels', 'aria-hidden': 'true' }, h('span', { class: 'dg-off' }, ''));
    const bits = h('div', { class: 'dg-row dg-bits', 'aria-hidden': 'true' }, h('span', { class: 'dg-off' }, `+${r * 4}`));
    let c = 0;
    while (c < 32) {
      const bit = r * 32 + c;
      if (bit >= shownBits) {
        labels.append(h('span', { class: 'dg-label blank', style: { gridColumn: `span ${32 - c}` } }));
        for (; c < 32; c++) bits.append(h('span', { class: 'dg-bit blank' }));
        break;
      }
      const f = owner[bit];
      let n = 1;
      while (c + n < 32 && owner[bit + n] === f && bit + n < shownBits) n++;
      if (f) {
        const first = bit === f.bit_start;
        let lab;
        if (f.key === 'payload') {
          lab = first
            ? { text: `${fieldName('payload')}${header.masked ? ' (masked)' : ''}`, short: `${fieldName('payload')}${header.masked ? ' (masked)' : ''}` }
            : { text: `${fieldName('payload')} (continued)`, short: `${fieldName('payload')} (cont.)` };
        } else lab = fieldLabel(f, header, first);
        labels.append(h('span', {
          class: `dg-label ${fieldClass(f.key)}${lab.vertical ? ' vertical' : ''}`,
          style: { gridColumn: `span ${n}` },
          title: lab.text,
          'data-f': f.key,
        }, h('span', {}, (n <= 2 && !lab.vertical) || (n < 8 && lab.short.endsWith('(cont.)')) ? '' : lab.short)));
      } else {
        labels.append(h('span', { class: 'dg-label blank', style: { gridColumn: `span ${n}` } }));
      }
      for (let k = 0; k < n; k++) {
        const b = bit + k;
        const byte = frameBytes[b >> 3];
        const v = byte === undefined ? '' : (byte >> (7 - (b & 7))) & 1;
        bits.append(h('span', {
          class: `dg-bit${f ? ` ${fieldClass(f.key)}` : ''}${v === 1 ? ' one' : ''}${b % 8 === 7 ? ' byte-end' : ''}`,
          'data-f': f ? f.key : null,
        }, String(v)));
      }
      c += n;
    }
    grid.append(labels, bits);
  }
  const rest = payloadHave - payloadShown;
  if (rest > 0) {
    grid.append(h('div', { class: 'dg-row dg-more', 'aria-hidden': 'true' },
      h('span', { class: 'dg-off' }, ''),
      h('span', { class: 'dg-label f-payload wide', 'data-f': 'payload' },
        `${fieldName('payload')} continued: ${fmtInt(rest)} more byte${rest === 1 ? '' : 's'}`)));
  }
  wrap.append(grid);
  return wrap;
}

function diagramAlt(header, payloadHave) {
  const parts = header.fields.map((f) => `${fieldName(f.key)} ${f.value}`);
  parts.push(`${fieldName('payload')}: ${payloadHave} bytes`);
  return `Frame diagram: ${parts.join(', ')}`;
}
