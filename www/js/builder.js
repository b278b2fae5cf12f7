// Panel 2: the frame builder. Every header bit is the user's; the wasm core
// encodes the frame, names its fields with their bit spans, and judges it.

import { build_frame, read_bytes, deflate_windows, close_payload, close_code_info } from '../pkg/wscope_wasm.js';
import { limitOptions, limitsText } from './limits.js';
import { h, $, utf8, toHex, randomBytes, opcodeTable, opcodeText, fmtInt, plural, setInput, fieldClass, allFields, decodeText } from './util.js';
import { hexDump, onDumpWidthChange } from './hexdump.js';
import { frameDiagram } from './diagram.js';
import { fieldTable, violationItem } from './frameview.js';

/** Largest generated payload (the page keeps the whole frame as hex). */
const MAX_SIZE = 1 << 20;

/** The compressor is a wasm module of its own (a fifth of the explorer's
 * size), loaded the first time someone compresses. */
let compressor = null;
const loadCompressor = () => {
  compressor ??= import('../pkg/wscope_wasm_compress.js').then(async (m) => {
    await m.default();
    return m;
  });
  compressor.catch(() => {
    compressor = null;
  });
  return compressor;
};

export function setupBuilder({ toInspector, toInject }) {
  const el = (id) => $(`#fb-${id}`);
  const opSel = el('opcode');
  for (const op of opcodeTable()) opSel.append(h('option', { value: String(op.bits) }, opcodeText(op.bits)));
  opSel.value = '1';
  for (const w of deflate_windows()) {
    const size = w.bytes >= 1024 ? `${w.bytes / 1024} KiB` : `${w.bytes} bytes`;
    el('window-bits').append(h('option', { value: String(w.bits) }, `${w.bits} bits · ${size}`));
  }

  // Legend: one chip per field, in the core's order and names.
  const legend = el('legend');
  for (const f of allFields()) {
    legend.append(h('li', {}, h('button', { type: 'button', class: `chip ${fieldClass(f.key)}`, 'data-f': f.key, 'aria-label': `Highlight ${f.name}` }, h('span', { class: 'swatch', 'aria-hidden': 'true' }), f.name)));
  }

  const fmtSel = el('payload-format');
  const payloadIn = el('payload');
  const keyIn = el('key');
  const maskBox = el('mask');
  const compressBox = el('compress');
  const rsv1Box = el('rsv1');
  let lastBuilt = null;
  // RSV1 as the person set it, while compression decides it.
  let ownRsv1 = rsv1Box.checked;

  /** The payload bytes the controls describe, or an error text. */
  const payloadBytes = () => {
    const v = payloadIn.value;
    switch (fmtSel.value) {
      case 'hex':
        try {
          return { bytes: read_bytes(v, 'hex').bytes };
        } catch (e) {
          return { error: e.message };
        }
      case 'size': {
        const t = v.trim().replace(/[_,\s]/g, '');
        if (!/^\d+$/.test(t)) return { error: 'Type a number of bytes (e.g. 126 or 65536).' };
        const n = Number(t);
        if (n > MAX_SIZE) return { error: `At most ${fmtInt(MAX_SIZE)} bytes can be generated here.` };
        const b = new Uint8Array(n);
        for (let i = 0; i < n; i++) b[i] = 0x61 + (i % 26);
        return { bytes: b, generated: true };
      }
      default:
        return { bytes: utf8.encode(v) };
    }
  };

  /** The key's bytes as the core reads hex (its length is the core's to judge). */
  const keyBytes = () => {
    try {
      const k = read_bytes(keyIn.value, 'hex').bytes;
      return k.length ? Array.from(k) : null;
    } catch {
      return null;
    }
  };

  /** Errors shown at the field they are about (ids of `fb-*-error`). */
  const FIELD_ERRORS = ['key', 'payload', 'close-code', 'length-form', 'declared'];
  const fieldError = (id, msg) => {
    const p = el(`${id}-error`);
    p.textContent = msg ? msg[0].toUpperCase() + msg.slice(1) : '';
    p.hidden = !msg;
    const input = el(id);
    if (msg) {
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', `fb-${id}-error`);
    } else {
      input.removeAttribute('aria-invalid');
      input.removeAttribute('aria-describedby');
    }
  };
  const setError = (msg) => {
    el('error').textContent = msg || '';
    el('error').hidden = !msg;
  };
  /** The spec field a core error names, as the id of the page's field. */
  const FIELD_OF = { declared_len: 'declared', length_form: 'length-form', mask: 'key' };

  /** With a close opcode, the payload comes from the code and reason
   * fields (unless the person edits it raw). */
  const closeFields = () => {
    const isClose = opcodeTable()[Number(opSel.value)].kind === 'close';
    el('close-fields').hidden = !isClose;
    const fromFields = isClose && !el('close-raw').checked;
    payloadIn.disabled = fromFields;
    fmtSel.disabled = fromFields;
    if (!fromFields) return null;
    const t = el('close-code').value.trim();
    if (t === '') {
      el('close-info').textContent = 'No code: the payload is empty (a reason needs a code).';
      return { bytes: close_payload(undefined, '') };
    }
    if (!/^\d+$/.test(t) || Number(t) > 65535) return { error: 'A close code is a whole number 0–65535.', field: 'close-code' };
    const info = close_code_info(Number(t));
    el('close-info').textContent = `${t}: ${info.name || 'no name'} · ${info.sendable ? 'may be sent' : 'must not be sent'} · ${info.range}`;
    return { bytes: close_payload(Number(t), el('close-reason').value) };
  };

  // Each render's number: a render that waited for the compressor to load
  // gives way to any that started after it.
  let generation = 0;
  const render = async () => {
    const gen = ++generation;
    keyIn.disabled = !maskBox.checked;
    el('key-random').disabled = !maskBox.checked;
    el('window-bits').disabled = !compressBox.checked;
    el('compress-hint').hidden = !compressBox.checked;
    rsv1Box.disabled = compressBox.checked;
    rsv1Box.title = compressBox.checked ? 'Set by compression: RSV1 marks a compressed message' : '';
    payloadIn.placeholder = { text: 'Hello', hex: '48 65 6c 6c 6f', size: '126' }[fmtSel.value];
    const errors = {};
    const p = closeFields() ?? payloadBytes();
    if (p.error) errors[p.field ?? 'payload'] = p.error;
    const spec = {
      fin: el('fin').checked,
      rsv: [el('rsv1').checked, el('rsv2').checked, el('rsv3').checked],
      opcode: Number(opSel.value),
      ...limitOptions(),
    };
    if (maskBox.checked) {
      const k = keyBytes();
      if (!k) errors.key = 'The Masking-Key is 8 hex digits (4 bytes), e.g. 37fa213d.';
      else spec.mask = k;
    }
    const lf = el('length-form').value;
    if (lf !== 'auto') spec.length_form = lf;
    const declared = el('declared').value.trim().replace(/[_,\s]/g, '');
    if (declared !== '') {
      if (!/^\d+$/.test(declared)) errors.declared = 'The declared length is a whole number of bytes.';
      else spec.declared_len = declared;
    }
    let problem = null;
    let payload = p.bytes;
    if (!Object.keys(errors).length && compressBox.checked) {
      const bits = Number(el('window-bits').value);
      try {
        const z = await loadCompressor();
        if (gen !== generation) return;
        payload = z.compress_message(p.bytes, bits);
        spec.compressed = { window_bits: bits };
      } catch (e) {
        if (gen !== generation) return;
        errors.payload = `Cannot compress this payload: ${e.message}.`;
      }
    }
    let built = null;
    if (!Object.keys(errors).length) {
      try {
        built = build_frame(spec, payload);
      } catch (e) {
        if (FIELD_OF[e.field]) errors[FIELD_OF[e.field]] = `${e.message}.`;
        else problem = `Cannot build this frame: ${e.message}.`;
      }
    }
    for (const id of FIELD_ERRORS) fieldError(id, errors[id]);
    setError(problem);
    // A frame that could not be built leaves the last one on show, marked
    // as no longer matching the settings.
    const result = el('result');
    result.classList.toggle('stale', !built);
    el('no-frame').hidden = Boolean(built);
    el('send-inspect').disabled = !built;
    el('send-inject').disabled = !built;
    if (!built) {
      el('violations-empty').hidden = true;
      lastBuilt = null;
      return;
    }
    lastBuilt = built;
    const bytes = built.bytes;
    const hd = built.header;
    const plen = bytes.length - hd.header_len;
    const z = built.compressed;
    if (z) rsv1Box.checked = hd.rsv[0];
    el('hex').dataset.hex = toHex(bytes, '');
    el('summary').replaceChildren(
      h('strong', {}, plural(bytes.length, 'byte')),
      ` = ${hd.header_len}-byte header + ${plural(plen, 'byte')} of payload`,
      h('span', { class: 'muted' }, ` · ${hd.length_form} length${hd.masked ? ' · masked' : ''}`),
      z ? h('span', { class: 'badge f-rsv strong', id: 'fb-compressed-badge' }, `compressed ${fmtInt(p.bytes.length)} → ${plural(plen, 'byte')} (${z.window_bits}-bit window)`) : '',
      String(plen) !== hd.payload_len ? h('span', { class: 'badge warn', id: 'fb-declares' }, `declares ${plural(hd.payload_len, 'byte')}`) : '');
    el('diagram').replaceChildren(frameDiagram(bytes, hd));
    el('hex').replaceChildren(hexDump(bytes, { fields: hd.fields, headerLen: hd.header_len, headRows: 8, label: 'Hex dump of the built frame' }));
    el('fields').replaceChildren(fieldTable(hd, { payloadLen: plen }));
    const masked = hd.masked && plen > 0 && !p.generated;
    const given = `${toHex(p.bytes.subarray(0, 24))}${p.bytes.length > 24 ? ' …' : ''}${fmtSel.value === 'text' && !p.generated ? ` (“${decodeText(p.bytes.subarray(0, 40))}”)` : ''}`;
    const wire = `${toHex(bytes.subarray(hd.header_len, hd.header_len + 24))}${plen > 24 ? ' …' : ''}`;
    const steps = [];
    if (z) {
      steps.push(h('p', { class: 'small muted', id: 'fb-compress-steps' },
        `Payload as given (${plural(p.bytes.length, 'byte')}): ${given} → DEFLATE (${plural(plen, 'byte')}, ${plen < p.bytes.length ? `${Math.round((100 * plen) / Math.max(1, p.bytes.length))} % of the original` : 'no smaller: short or random payloads do not shrink'})${hd.masked ? ', then masked' : ''} → on the wire: ${wire}`));
    } else if (masked) {
      steps.push(h('p', { class: 'small muted' }, `Payload before masking: ${given} → on the wire: ${wire}`));
    }
    el('unmasked').replaceChildren(...steps);
    const vl = el('violations');
    vl.replaceChildren(...built.violations.map((v) => violationItem(v)));
    el('violations-empty').hidden = built.violations.length > 0;
    el('judged-as').textContent = `a ${built.sender} frame (it is ${hd.masked ? '' : 'not '}masked), as a ${built.receiver} would, with ${limitsText()}`;
    el('violations-count').textContent = built.violations.length ? `(${built.violations.length})` : '';
  };

  // RSV1 is the person's while Compress is off; compression sets it, and
  // turning Compress off gives back what they had. (Registered before the
  // render listeners: a click fires `input`, then `change`.)
  rsv1Box.addEventListener('change', () => {
    if (!compressBox.checked) ownRsv1 = rsv1Box.checked;
  });
  const restoreRsv1 = () => {
    if (!compressBox.checked) rsv1Box.checked = ownRsv1;
  };
  compressBox.addEventListener('input', restoreRsv1);
  compressBox.addEventListener('change', restoreRsv1);
  for (const id of ['fin', 'rsv1', 'rsv2', 'rsv3', 'mask', 'opcode', 'key', 'payload', 'length-form', 'declared', 'compress', 'window-bits', 'close-code', 'close-reason', 'close-raw']) {
    el(id).addEventListener('input', render);
    el(id).addEventListener('change', render);
  }
  // Switching the format carries the payload over when it is small.
  let prevFormat = fmtSel.value;
  fmtSel.addEventListener('change', () => {
    const now = fmtSel.value;
    fmtSel.value = prevFormat;
    const p = payloadBytes();
    fmtSel.value = now;
    if (p.bytes && p.bytes.length <= 4096) {
      if (now === 'hex') payloadIn.value = toHex(p.bytes);
      else if (now === 'size') payloadIn.value = String(p.bytes.length);
      else payloadIn.value = decodeText(p.bytes);
    } else if (p.bytes && now === 'size') payloadIn.value = String(p.bytes.length);
    else if (p.bytes) payloadIn.value = '';
    prevFormat = now;
    render();
  });
  el('key-random').addEventListener('click', () => setInput(keyIn, toHex(randomBytes(4), '')));
  for (const b of document.querySelectorAll('[data-fb-size]')) {
    b.addEventListener('click', () => {
      fmtSel.value = 'size';
      prevFormat = 'size';
      setInput(payloadIn, b.dataset.fbSize);
    });
  }
  el('send-inspect').addEventListener('click', () => {
    if (lastBuilt) toInspector(lastBuilt.bytes, lastBuilt.sender, lastBuilt.compressed ? 'on' : 'off');
  });
  el('send-inject').addEventListener('click', () => {
    if (lastBuilt) toInject(lastBuilt.bytes, { deflate: Boolean(lastBuilt.compressed) });
  });
  render();
  onDumpWidthChange(render);
  return { bytes: () => lastBuilt?.bytes ?? null, compressed: () => Boolean(lastBuilt?.compressed) };
}
