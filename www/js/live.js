// Panel 4: a live WebSocket from this browser, with the wire tap of that
// very connection. Left: what the WebSocket API reports. Right: the bytes
// the server saw and sent, decoded by the wasm core. Each wire frame sits
// in the row of the event or action it belongs to.

import { inspect, http_head_len, parse_bytes, close_code_info, response_deflate } from '../pkg/wscope_wasm.js';
import { h, $, toHex, hexPreview, randomBytes, decodeText, showText, plural, fmtInt, opcodeLabel, concat, httpPre } from './util.js';
import { hexDump, narrowScreen } from './hexdump.js';
import { frameCard, violationList } from './frameview.js';

/** Rows shared by the two columns: each slot holds at most one item per side. */
class Timeline {
  constructor(grid, left, right, emptyEl) {
    Object.assign(this, { grid, left, right, emptyEl });
    this.slots = [];
    // Hovering an item outlines its partner in the other column.
    grid.addEventListener('pointerover', (e) => {
      const item = e.target.closest?.('[data-slot]');
      const slot = item?.dataset.slot ?? null;
      for (const el of grid.querySelectorAll('.tl-pair')) if (el.dataset.slot !== slot) el.classList.remove('tl-pair');
      if (slot !== null) for (const el of grid.querySelectorAll(`[data-slot="${slot}"]`)) el.classList.add('tl-pair');
    });
    grid.addEventListener('pointerleave', () => grid.querySelectorAll('.tl-pair').forEach((el) => el.classList.remove('tl-pair')));
  }

  reset() {
    this.slots = [];
    this.left.replaceChildren();
    this.right.replaceChildren();
    this.layout();
  }

  /** Puts `el` on `side` in the row of `key`: the first row of that key
   * with a free place on that side, else a new row after the key's last. */
  place(side, key, el) {
    const stick = this.nearBottom();
    const rows = this.slots.filter((s) => s.key === key);
    const free = rows.find((s) => !s[side]);
    if (free) free[side] = el;
    else {
      const slot = { key, left: null, right: null, [side]: el };
      if (rows.length) this.slots.splice(this.slots.indexOf(rows[rows.length - 1]) + 1, 0, slot);
      else this.slots.push(slot);
    }
    (side === 'left' ? this.left : this.right).append(el);
    this.layout();
    if (stick) this.grid.scrollTop = this.grid.scrollHeight;
  }

  replace(oldEl, newEl) {
    for (const s of this.slots) {
      if (s.left === oldEl) s.left = newEl;
      if (s.right === oldEl) s.right = newEl;
    }
    oldEl.replaceWith(newEl);
    this.layout();
  }

  layout() {
    this.slots.forEach((s, i) => {
      for (const el of [s.left, s.right]) {
        if (!el) continue;
        el.style.setProperty('--row', String(i + 1));
        el.dataset.slot = String(i);
      }
    });
    const n = Math.max(1, this.slots.length);
    this.grid.style.setProperty('--rows', String(n));
    this.emptyEl.hidden = this.slots.length > 0;
  }

  nearBottom() {
    const g = this.grid;
    return g.scrollHeight - g.scrollTop - g.clientHeight < 40;
  }
}

/** Bytes of one direction of the tapped connection, decoded as they come. */
class Direction {
  constructor(dir) {
    this.dir = dir; // 'up' (browser → server) or 'down'
    this.buf = new Uint8Array(0);
    this.headLen = -1;
    this.headEl = null;
    this.frames = []; // {el, complete, len}
  }

  push(bytes) {
    this.buf = concat(this.buf, bytes);
  }
}

const ms = (x) => `+${x < 10 ? x.toFixed(2) : x < 1000 ? x.toFixed(1) : fmtInt(Math.round(x))} ms`;

export function setupLive() {
  const urlIn = $('#live-url');
  const connectBtn = $('#live-connect');
  const stateEl = $('#live-state');
  const textIn = $('#live-text');
  const binIn = $('#live-bin');
  const codeIn = $('#live-close-code');
  const reasonIn = $('#live-close-reason');
  const codeInfo = $('#live-close-info');
  const maskSummary = $('#live-mask-summary');
  const tl = new Timeline($('#live-timeline'), $('#live-log'), $('#live-wire'), $('#live-empty'));
  const wsScheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  urlIn.value = `${wsScheme}//${location.host || 'localhost:8080'}/echo`;

  let ws = null;
  let tap = null;
  let t0 = 0;
  // permessage-deflate as the server's 101 agreed to it (null: not in use).
  let agreed = null;
  let sendCount = 0;
  let msgCount = 0;
  let closeRequested = false;
  let up = null;
  let down = null;
  let tapped = false;

  const since = () => ms(performance.now() - t0);

  const setState = (s) => {
    stateEl.textContent = s;
    stateEl.dataset.state = s;
    const active = ws && (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN);
    connectBtn.textContent = active ? 'Disconnect' : 'Connect';
    connectBtn.setAttribute('aria-pressed', String(!!active));
    for (const b of ['#live-send-text', '#live-send-bin', '#live-close']) $(b).disabled = !(ws && ws.readyState === WebSocket.OPEN);
  };

  /** A row of the left column: an API event, or an action of the page. */
  const logRow = ({ event = null, action = null, cls = '', title, detail = null, body = null, attrs = {} }) => {
    const row = h('div', {
      class: `tl-item ${event ? `ev ev-${event}` : 'act'} ${cls}`,
      'data-event': event,
      'data-action': action,
      ...attrs,
    },
    h('div', { class: 'tl-line' },
      h('span', { class: 'tl-name' }, title),
      h('span', { class: 'tl-time', title: 'Time since Connect, by the browser’s clock' }, since())),
    detail ? h('div', { class: 'tl-detail' }, detail) : null,
    body);
    return row;
  };

  const wireNote = (key, text, cls = '') => tl.place('right', key, h('div', { class: `tl-item note-row ${cls}` }, text));

  const updateMaskSummary = () => {
    if (!tapped) {
      maskSummary.replaceChildren(h('span', { class: 'muted' }, up ? 'No wire view for this URL.' : 'Not connected yet.'));
      return;
    }
    const count = (d) => {
      const fr = d.frames.filter((f) => f.el);
      return [fr.length, fr.filter((f) => f.masked).length];
    };
    const [un, um] = count(up);
    const [dn, dm] = count(down);
    maskSummary.replaceChildren(
      h('span', { class: 'dir-up' }, `browser → server: ${plural(un, 'frame')}, ${um} masked`),
      h('span', { class: 'dir-down' }, `server → browser: ${plural(dn, 'frame')}, ${dm} masked`));
  };

  // ---- the wire ----
  const frameKey = (d, f, i, r) => {
    if (f.role === 'data') {
      const m = r.messages.findIndex((msg) => msg.frames.includes(i));
      return d.dir === 'up' ? `send:${m}` : `msg:${m}`;
    }
    const kind = f.header.kind;
    if (kind === 'close') return d.dir === 'down' ? 'close-event' : closeRequested ? 'close-action' : 'close-event';
    if (kind === 'ping' || kind === 'pong') {
      // A ping and the pong that answers it share a row.
      const nth = r.frames.slice(0, i + 1).filter((x) => x.header.kind === kind).length;
      return `ping:${(d.dir === 'down') === (kind === 'ping') ? 'down' : 'up'}:${nth}`;
    }
    return `frame:${d.dir}:${i}`;
  };

  const wireFrame = (d, f, i, micros, r) => {
    const hd = f.header;
    // A compressed message: the frames hold DEFLATE bytes, the message the
    // inflated payload (shown on its last frame).
    const msg = f.role === 'data' ? r.messages.find((m) => m.frames.includes(i)) : null;
    const compressed = Boolean(msg && msg.compressed);
    const lastOfMsg = compressed && msg.frames[msg.frames.length - 1] === i && msg.complete;
    const frameBytes = d.buf.subarray(d.headLen + f.offset, d.headLen + f.offset + hd.header_len + f.payload.length);
    const arrow = d.dir === 'up' ? 'browser → server' : 'server → browser';
    const isClose = hd.kind === 'close';
    let preview = '';
    if (f.close) preview = f.close.code === null ? 'no status code' : `${f.close.code} ${f.close.code_name || ''}${f.close.reason ? ` “${f.close.reason}”` : ''}`;
    else if (compressed && lastOfMsg) preview = msg.text !== null && msg.text !== undefined ? `“${showText(msg.text, 80)}”` : hexPreview(msg.payload, 16);
    else if (compressed) preview = '';
    else if (f.text !== null && f.text !== undefined && !isClose && f.payload.length) preview = `“${showText(f.text, 80)}”`;
    else if (f.payload.length) preview = hexPreview(f.payload, 16);
    const row = h('div', {
      class: `tl-item wire-frame dir-${d.dir} hl-scope`,
      'data-dir': d.dir,
      'data-opcode': hd.opcode,
      'data-masked': String(hd.masked),
      'data-compressed': String(compressed),
    },
    h('div', { class: 'tl-line' },
      h('span', { class: 'tl-name' },
        h('span', { class: 'dir-arrow', 'aria-hidden': 'true' }, d.dir === 'up' ? '↑' : '↓'), ` ${opcodeLabel(hd.opcode)}`,
        h('span', { class: 'tl-dir' }, ` ${arrow}`)),
      h('span', { class: 'tl-time', title: 'Time since the server accepted the TCP connection, by the server’s clock' }, `${ms(Number(micros) / 1000)} srv`)),
    h('div', { class: 'badges' },
      hd.masked ? h('span', { class: 'badge f-key strong' }, `MASKED · key ${hd.mask_key}`) : h('span', { class: 'badge plain' }, 'not masked'),
      hd.fin ? null : h('span', { class: 'badge f-fin' }, 'FIN=0'),
      h('span', { class: 'badge f-len7' }, plural(hd.payload_len, 'byte')),
      compressed && hd.rsv[0] ? h('span', { class: 'badge f-rsv strong', title: 'RSV1: this message is compressed (permessage-deflate)' }, 'RSV1 · compressed') : null,
      lastOfMsg ? h('span', { class: 'badge f-rsv' }, `inflates to ${plural(msg.payload.length, 'byte')}`) : null,
      f.complete ? null : h('span', { class: 'badge warn' }, 'incomplete'),
      preview ? h('span', { class: 'tl-preview mono' }, preview) : null),
    hexDump(frameBytes, { fields: hd.fields, headerLen: hd.header_len, headRows: 1, tailRows: 0, label: `Bytes of this ${arrow} frame` }),
    hd.masked && f.payload.length
      ? h('div', { class: 'tl-detail small mono' }, `payload on the wire ${hexPreview(f.payload_wire, 8)} → unmasked ${hexPreview(f.payload, 8)}${compressed ? ' (DEFLATE)' : ''}`)
      : null,
    lastOfMsg
      ? h('div', { class: 'tl-detail small mono' }, `message: ${plural(msg.frames.reduce((n, j) => n + r.frames[j].payload.length, 0), 'compressed byte')} → inflated ${hexPreview(msg.payload, 12)}`)
      : null,
    f.violations.length ? violationList(f.violations) : null);
    const det = h('details', { class: 'wire-details' }, h('summary', {}, 'All fields'));
    det.addEventListener('toggle', () => {
      if (det.open && det.children.length === 1) det.append(frameCard(f, i, d.buf.subarray(d.headLen), { view: 'text', diagram: true, dumpRows: 4 }));
    }, { once: false });
    row.append(det);
    return row;
  };

  const decodeDirection = (d, micros) => {
    if (d.headLen < 0) {
      const n = http_head_len(d.buf, d.dir === 'up');
      if (n === -1) return; // the head is not complete yet
      if (n === -2) {
        d.headLen = 0;
        wireNote(`raw:${d.dir}`, `The ${d.dir === 'up' ? 'request' : 'response'} is not HTTP: ${hexPreview(d.buf, 24)}`, 'bad');
      } else {
        d.headLen = n;
        if (d.dir === 'down') {
          try {
            agreed = response_deflate(d.buf.subarray(0, n));
          } catch (e) {
            wireNote('deflate', `The server’s permessage-deflate response is invalid: ${e.message ?? e}`, 'bad');
          }
          if (agreed) {
            const p = [];
            if (agreed.server_no_context_takeover) p.push('server_no_context_takeover');
            if (agreed.client_no_context_takeover) p.push('client_no_context_takeover');
            wireNote('deflate', `permessage-deflate agreed${p.length ? ` (${p.join(', ')})` : ''}: frames with RSV1 carry compressed messages; each is shown compressed and inflated.`, 'muted');
          }
        }
        const text = decodeText(d.buf.subarray(0, n));
        const first = text.split('\r\n')[0];
        const el = h('div', { class: `tl-item http-row dir-${d.dir}`, 'data-http': d.dir === 'up' ? 'request' : 'response' },
          h('div', { class: 'tl-line' },
            h('span', { class: 'tl-name' }, h('span', { class: 'dir-arrow', 'aria-hidden': 'true' }, d.dir === 'up' ? '↑' : '↓'), ` HTTP ${d.dir === 'up' ? 'request' : 'response'}`),
            h('span', { class: 'tl-time' }, `${ms(Number(micros) / 1000)} srv`)),
          h('details', { class: 'http-details', open: !narrowScreen.matches }, h('summary', { class: 'mono' }, `${first} · ${plural(n, 'byte')}`), httpPre(text)));
        d.headEl = el;
        tl.place('right', d.dir === 'up' ? 'connect' : 'open', el);
      }
    }
    const body = d.buf.subarray(d.headLen);
    if (!body.length) return;
    const r = inspect(body, { sender: d.dir === 'up' ? 'client' : 'server', deflate: agreed ?? undefined });
    r.frames.forEach((f, i) => {
      const known = d.frames[i];
      if (known && known.complete) return;
      if (known && known.len === f.payload.length) return;
      const el = wireFrame(d, f, i, known?.micros ?? micros, r);
      const info = { el, complete: f.complete, len: f.payload.length, masked: f.header.masked, micros: known?.micros ?? micros };
      if (known) tl.replace(known.el, el);
      else tl.place('right', frameKey(d, f, i, r), el);
      d.frames[i] = info;
    });
    updateMaskSummary();
  };

  const onTapMessage = (e) => {
    if (typeof e.data === 'string') {
      let note;
      try {
        note = JSON.parse(e.data);
      } catch {
        return;
      }
      // The notes and their fields are described in native-server/src/notes.rs. `chunks`: what this page
      // will never be sent; `record_dropped_*`: all the record has dropped so far, bytes counting data only.
      if (note.type === 'dropped') wireNote('tap-note', `Missed here: the tap dropped ${plural(note.chunks, 'chunk')} to stay within its limit (${plural(note.record_dropped_chunks, 'chunk')}, ${plural(note.record_dropped_bytes, 'byte')} dropped from this connection's record so far); decoding may be off from here.`, 'warn');
      else if (note.type === 'evicted') wireNote('tap-note', 'The tap record was dropped to make room for newer connections.', 'warn');
      else if (note.type === 'end') wireNote('tap-end', `Tap: the connection is over${note.reason ? ` (${note.reason})` : ''}.`, 'muted');
      return;
    }
    const rec = new Uint8Array(e.data);
    if (rec.length < 9) return;
    const micros = new DataView(rec.buffer, rec.byteOffset, 9).getBigUint64(1);
    const d = rec[0] === 0 ? up : down;
    d.push(rec.subarray(9));
    decodeDirection(d, micros);
  };

  const openTap = (token) => new Promise((resolve) => {
    const t = new WebSocket(`${wsScheme}//${location.host}/tap?token=${token}`);
    t.binaryType = 'arraybuffer';
    const done = (ok) => {
      clearTimeout(timer);
      resolve(ok ? t : null);
    };
    const timer = setTimeout(() => done(false), 3000);
    t.onopen = () => done(true);
    t.onerror = () => done(false);
    t.onmessage = onTapMessage;
    tap = t;
  });

  const detach = () => {
    if (ws) {
      ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
      if (ws.readyState < 2) ws.close();
    }
    if (tap) {
      tap.onmessage = tap.onerror = tap.onopen = null;
      if (tap.readyState < 2) tap.close();
    }
    ws = null;
    tap = null;
  };

  const connect = async () => {
    detach();
    tl.reset();
    sendCount = 0;
    msgCount = 0;
    closeRequested = false;
    up = new Direction('up');
    down = new Direction('down');
    agreed = null;
    t0 = performance.now();
    let url;
    try {
      url = new URL(urlIn.value.trim());
    } catch {
      tl.place('left', 'connect', logRow({ action: 'connect', cls: 'error', title: 'Not a URL', detail: `“${urlIn.value}” is not a ws:// or wss:// URL.` }));
      return;
    }
    tapped = (url.protocol === 'ws:' || url.protocol === 'wss:') && url.host === location.host && url.pathname === '/echo';
    $('#live-wire-note').hidden = tapped;
    if (tapped) {
      const token = toHex(randomBytes(16), '');
      setState('connecting…');
      const t = await openTap(token);
      if (t) url.searchParams.set('tap', token);
      else {
        tapped = false;
        $('#live-wire-note').hidden = false;
      }
    }
    // An explicit ?deflate= in the URL wins over the checkbox.
    if (!$('#live-deflate').checked && !url.searchParams.has('deflate')) url.searchParams.set('deflate', 'off');
    updateMaskSummary();
    t0 = performance.now();
    const shown = url.toString().replace(/tap=[0-9a-f]+/, 'tap=…');
    let sock;
    try {
      sock = new WebSocket(url.toString());
    } catch (e) {
      tl.place('left', 'connect', logRow({ action: 'connect', cls: 'error', title: 'new WebSocket() threw', detail: `${e.name}: ${e.message}` }));
      setState('closed');
      return;
    }
    ws = sock;
    ws.binaryType = 'arraybuffer';
    tl.place('left', 'connect', logRow({ action: 'connect', title: 'new WebSocket(url)', detail: h('span', { class: 'mono' }, shown) }));
    setState('connecting…');
    ws.onopen = () => {
      tl.place('left', 'open', logRow({ event: 'open', title: 'onopen', detail: `readyState OPEN${ws.protocol ? ` · protocol ${ws.protocol}` : ''}${ws.extensions ? ` · extensions ${ws.extensions}` : ' · no extension'}` }));
      setState('open');
    };
    ws.onmessage = (e) => {
      const m = msgCount++;
      const isText = typeof e.data === 'string';
      const bytes = isText ? null : new Uint8Array(e.data);
      tl.place('left', `msg:${m}`, logRow({
        event: 'message',
        title: 'onmessage',
        attrs: { 'data-kind': isText ? 'text' : 'binary' },
        detail: isText ? `text · ${e.data.length} characters` : `binary · ${plural(bytes.length, 'byte')}`,
        body: h('div', { class: 'tl-data mono' }, isText ? e.data : hexPreview(bytes, 64)),
      }));
    };
    ws.onerror = () => {
      tl.place('left', `error:${performance.now()}`, logRow({ event: 'error', title: 'onerror', detail: 'The API gives no detail: see onclose and the wire.' }));
    };
    ws.onclose = (e) => {
      const info = e.code ? close_code_info(e.code) : null;
      tl.place('left', 'close-event', logRow({
        event: 'close',
        title: 'onclose',
        attrs: { 'data-code': e.code, 'data-was-clean': String(e.wasClean) },
        detail: h('span', {},
          h('strong', {}, `code ${e.code}${info?.name ? ` ${info.name}` : ''}`),
          ` · reason ${e.reason ? `“${e.reason}”` : '(none)'} · wasClean ${e.wasClean}`),
      }));
      setState('closed');
    };
  };

  connectBtn.addEventListener('click', () => {
    if (ws && ws.readyState <= WebSocket.OPEN) {
      closeRequested = true;
      tl.place('left', 'close-action', logRow({ action: 'close', title: 'close()', detail: 'No code: the close frame carries no status.' }));
      ws.close();
      setState('closing…');
    } else connect();
  });
  urlIn.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') connectBtn.click();
  });

  const sendAction = (payload, label) => {
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      tl.place('left', `note:${performance.now()}`, logRow({ action: 'send', cls: 'error', title: 'Not sent', detail: 'The socket is not open.' }));
      return;
    }
    const m = sendCount++;
    tl.place('left', `send:${m}`, logRow({ action: 'send', title: `send(${label})`, detail: typeof payload === 'string' ? `text · ${plural(new TextEncoder().encode(payload).length, 'byte')}` : `binary · ${plural(payload.length, 'byte')}` }));
    ws.send(payload);
  };

  $('#live-send-text').addEventListener('click', () => sendAction(textIn.value, `“${showText(textIn.value, 40)}”`));
  textIn.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') $('#live-send-text').click();
  });
  const binErr = $('#live-bin-error');
  $('#live-send-bin').addEventListener('click', () => {
    let bytes;
    try {
      bytes = parse_bytes(binIn.value, 'hex');
    } catch (e) {
      binErr.textContent = e.message;
      return;
    }
    binErr.textContent = '';
    sendAction(bytes, `Uint8Array [${hexPreview(bytes, 8)}]`);
  });
  binIn.addEventListener('input', () => {
    binErr.textContent = '';
  });
  binIn.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') $('#live-send-bin').click();
  });

  const showCodeInfo = () => {
    const t = codeIn.value.trim();
    if (!t) {
      codeInfo.textContent = 'No code: close() sends a Close frame without a status code.';
      return;
    }
    const n = Number(t);
    if (!Number.isInteger(n) || n < 0 || n > 65535) {
      codeInfo.textContent = 'a code is a number 0–65535';
      return;
    }
    const c = close_code_info(n);
    codeInfo.textContent = `${c.name || 'unnamed'} · ${c.sendable ? 'may be sent' : 'must not be sent'} · ${c.range}`;
  };
  codeIn.addEventListener('input', showCodeInfo);
  codeIn.addEventListener('change', showCodeInfo);
  showCodeInfo();

  $('#live-close').addEventListener('click', () => {
    if (!ws) return;
    const t = codeIn.value.trim();
    const reason = reasonIn.value;
    const label = t ? `close(${t}${reason ? `, “${reason}”` : ''})` : 'close()';
    try {
      if (t) ws.close(Number(t), reason);
      else ws.close();
    } catch (e) {
      tl.place('left', `note:${performance.now()}`, logRow({ action: 'close', cls: 'error', title: `${label} threw`, detail: `${e.name}: ${e.message} (the browser checks the code before sending anything)` }));
      return;
    }
    closeRequested = true;
    tl.place('left', 'close-action', logRow({ action: 'close', title: label, detail: 'The browser sends a Close frame and waits for the server’s.' }));
    setState('closing…');
  });

  setState('not connected');
  tl.layout();
}
