// Panel 4: a live WebSocket from this browser, with the wire tap of that
// very connection. Left: what the WebSocket API reports. Right: the bytes
// the server saw and sent, decoded by the wasm core as they arrive
// (WireView: each chunk once). Each wire frame sits in the row of the event
// or action it belongs to.

import { read_bytes, close_code_info, WireView } from '../pkg/wscope_wasm.js';
import { h, $, toHex, hexPreview, randomBytes, showText, plural, fmtInt } from './util.js';
import { Timeline } from './timeline.js';
import { headRow, frameRow, ms } from './wirerow.js';
import { readNote, tapNoteText } from './notes.js';

/** "Firefox 153.0", "Chrome 156.0.0.0" from a User-Agent; the whole text
 * when it names neither. */
function browserName(ua) {
  const m = ua.match(/(Firefox|Edg|OPR|HeadlessChrome|Chrome|Safari)\/([\d.]+)/);
  return m ? `${m[1] === 'HeadlessChrome' ? 'Chrome (headless)' : m[1]} ${m[2]}` : ua;
}

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
  let sendCount = 0;
  let msgCount = 0;
  let closeRequested = false;
  let view = null; // the wasm core's decoder of this connection's wire
  let counts = { up: { frames: 0, masked: 0 }, down: { frames: 0, masked: 0 } };
  let partials = { up: null, down: null };
  let pings = {};
  let tapped = false;
  // The tapped request's User-Agent: which browser the wire is of.
  let agent = null;
  let noWireReason = 'Not connected yet.';
  // Milliseconds spent on each tap record and the frames it completed, for
  // `window.wscopeLiveTimings()`.
  let timings = [];
  let timedFrames = [];

  const since = () => ms(performance.now() - t0);

  /** Places a row and keeps the newest in view if it was. */
  const placed = (side, key, el) => {
    tl.place(side, key, el);
    tl.follow();
  };
  const left = (key, el) => placed('left', key, el);

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

  const wireNote = (key, text, cls = '') => placed('right', key, h('div', { class: `tl-item note-row ${cls}` }, text));

  const updateMaskSummary = () => {
    if (!tapped) {
      maskSummary.replaceChildren(h('span', { class: 'muted' }, noWireReason));
      return;
    }
    maskSummary.replaceChildren(
      agent ? h('span', { id: 'live-browser', title: agent }, `watching ${browserName(agent)}`) : null,
      h('span', { class: 'dir-up' }, `browser → server: ${plural(counts.up.frames, 'frame')}, ${fmtInt(counts.up.masked)} masked`),
      h('span', { class: 'dir-down' }, `server → browser: ${plural(counts.down.frames, 'frame')}, ${fmtInt(counts.down.masked)} masked`),
      ...(tl.trimmed ? [h('span', { class: 'muted' }, `(the oldest ${plural(tl.trimmed, 'row')} are no longer shown)`)] : []));
  };

  // ---- the wire ----
  /** Which row a frame sits in: a message's frames beside its send() or
   * onmessage, a close beside close() or onclose, a ping beside the pong
   * that answers it (the nth ping one way with the nth pong the other). */
  const frameKey = (dir, f) => {
    if (f.role === 'data') return dir === 'up' ? `send:${f.message}` : `msg:${f.message}`;
    const kind = f.header.kind;
    if (kind === 'close') return dir === 'down' ? 'close-event' : closeRequested ? 'close-action' : 'close-event';
    if (kind === 'ping' || kind === 'pong') {
      const counter = `${dir}:${kind}`;
      pings[counter] = (pings[counter] ?? 0) + 1;
      return `ping:${(dir === 'down') === (kind === 'ping') ? 'down' : 'up'}:${pings[counter]}`;
    }
    return `frame:${dir}:${f.index}`;
  };

  /** A frame's row: new, or replacing the row of its unfinished self. */
  const showFrame = (dir, f, micros, message = null) => {
    const known = partials[dir];
    const el = frameRow(dir, f, known?.index === f.index ? known.micros : micros, message);
    if (known && known.index === f.index) {
      tl.replace(known.el, el);
      partials[dir] = null;
    } else tl.place('right', frameKey(dir, f), el);
    counts[dir].frames += 1;
    if (f.header.masked) counts[dir].masked += 1;
    return el;
  };

  /** The frame still arriving on `dir`, drawn as far as it is. */
  const showPartial = (dir, micros) => {
    const f = view.partial_frame(dir === 'up' ? 'client' : 'server');
    const known = partials[dir];
    if (!f) return;
    if (known && known.index === f.index && known.seen === f.payload_seen) return;
    const el = frameRow(dir, f, known?.micros ?? micros);
    if (known && known.index === f.index) tl.replace(known.el, el);
    else tl.place('right', frameKey(dir, f), el);
    partials[dir] = { index: f.index, el, seen: f.payload_seen, micros: known?.micros ?? micros };
  };

  const agreedNote = (item) => {
    if (item.error) {
      wireNote('deflate', `The server’s permessage-deflate response is invalid: ${item.error}`, 'bad');
    } else if (item.params) {
      wireNote('deflate', `Agreed: ${item.params.value}. Frames with RSV1 carry compressed messages; each is shown compressed and inflated.`, 'muted');
    }
  };

  /** One tap record: what it completed, in order, then the frames still
   * arriving. Each chunk is decoded once (the core keeps the state). */
  const onRecord = (data) => {
    const t = performance.now();
    let rec;
    try {
      rec = view.push_record(new Uint8Array(data));
    } catch (e) {
      wireNote('tap-note', `Unreadable tap record: ${e.message ?? e}`, 'bad');
      return;
    }
    const dir = rec.from === 'client' ? 'up' : 'down';
    const framesBefore = counts.up.frames + counts.down.frames;
    let held = null; // the last frame of a compressed message waits for it
    for (const item of rec.items) {
      const side = item.from === 'client' ? 'up' : 'down';
      if (item.type === 'head' && item.agent) agent = item.agent;
      if (item.type === 'head') tl.place('right', side === 'up' ? 'connect' : 'open', headRow(side, item, rec.micros));
      else if (item.type === 'deflate') agreedNote(item);
      else if (item.type === 'raw') wireNote(`raw:${side}`, `Not WebSocket frames (${side === 'up' ? 'browser → server' : 'server → browser'}): ${hexPreview(item.bytes, 24)}`, 'bad');
      else if (item.type === 'frame') {
        if (held) showFrame(held.side, held.frame, rec.micros);
        held = null;
        if (item.frame.compressed && item.frame.header.fin) held = { side, frame: item.frame };
        else showFrame(side, item.frame, rec.micros);
      } else if (item.type === 'message') {
        if (held && held.frame.message === item.message.index && held.side === side) showFrame(side, held.frame, rec.micros, item.message);
        else if (held) showFrame(held.side, held.frame, rec.micros);
        held = null;
      }
    }
    if (held) showFrame(held.side, held.frame, rec.micros);
    showPartial(dir, rec.micros);
    updateMaskSummary();
    tl.follow();
    if (timings.length < 1_000_000) {
      timings.push(performance.now() - t);
      timedFrames.push(counts.up.frames + counts.down.frames - framesBefore);
    }
  };

  const onTapMessage = (e) => {
    if (typeof e.data !== 'string') {
      onRecord(e.data);
      return;
    }
    const note = readNote(e.data);
    if (!note) return;
    const text = tapNoteText(note);
    if (!text) return;
    const key = note.type === 'end' ? 'tap-end' : 'tap-note';
    wireNote(key, text, note.type === 'end' ? 'muted' : 'warn');
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
    view = new WireView();
    counts = { up: { frames: 0, masked: 0 }, down: { frames: 0, masked: 0 } };
    partials = { up: null, down: null };
    pings = {};
    agent = null;
    timings = [];
    timedFrames = [];
    t0 = performance.now();
    let url;
    try {
      url = new URL(urlIn.value.trim());
    } catch {
      left('connect', logRow({ action: 'connect', cls: 'error', title: 'Not a URL', detail: `“${urlIn.value}” is not a ws:// or wss:// URL.` }));
      return;
    }
    // An http(s) URL names the same endpoint: the WebSocket is opened with
    // ws(s), as the browser itself would, and the field says so.
    if (url.protocol === 'http:' || url.protocol === 'https:') {
      url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
      urlIn.value = url.toString();
      left('connect-note', logRow({ action: 'connect', title: 'URL changed to ws', detail: `An http(s) URL opens the same endpoint as ${url.protocol}//: the field now says so.` }));
    }
    tapped = (url.protocol === 'ws:' || url.protocol === 'wss:') && url.host === location.host && url.pathname === '/echo';
    noWireReason = url.host !== location.host
      ? `No wire view: only this server (${location.host}) can show the bytes of its own connections.`
      : url.pathname !== '/echo'
        ? 'No wire view: only this server’s /echo records its connections.'
        : `No wire view: a WebSocket URL starts with ws:// or wss://, not ${url.protocol}//.`;
    $('#live-wire-note').hidden = tapped;
    if (tapped) {
      const token = toHex(randomBytes(16), '');
      setState('connecting…');
      const t = await openTap(token);
      if (t) url.searchParams.set('tap', token);
      else {
        tapped = false;
        noWireReason = 'No wire view: the server’s /tap did not answer.';
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
      left('connect', logRow({ action: 'connect', cls: 'error', title: 'new WebSocket() threw', detail: `${e.name}: ${e.message}` }));
      setState('closed');
      return;
    }
    ws = sock;
    ws.binaryType = 'arraybuffer';
    left('connect', logRow({ action: 'connect', title: 'new WebSocket(url)', detail: h('span', { class: 'mono' }, shown) }));
    setState('connecting…');
    ws.onopen = () => {
      left('open', logRow({ event: 'open', title: 'onopen', detail: `readyState OPEN${ws.protocol ? ` · protocol ${ws.protocol}` : ''}${ws.extensions ? ` · extensions ${ws.extensions}` : ' · no extension'}` }));
      setState('open');
    };
    ws.onmessage = (e) => {
      const m = msgCount++;
      const isText = typeof e.data === 'string';
      const bytes = isText ? null : new Uint8Array(e.data);
      left(`msg:${m}`, logRow({
        event: 'message',
        title: 'onmessage',
        attrs: { 'data-kind': isText ? 'text' : 'binary' },
        detail: isText ? `text · ${e.data.length} characters` : `binary · ${plural(bytes.length, 'byte')}`,
        body: h('div', { class: 'tl-data mono' }, isText ? e.data : hexPreview(bytes, 64)),
      }));
    };
    ws.onerror = () => {
      left(`error:${performance.now()}`, logRow({ event: 'error', title: 'onerror', detail: 'The API gives no detail: see onclose and the wire.' }));
    };
    ws.onclose = (e) => {
      const info = e.code ? close_code_info(e.code) : null;
      left('close-event', logRow({
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
      left('close-action', logRow({ action: 'close', title: 'close()', detail: 'No code: the close frame carries no status.' }));
      ws.close();
      setState('closing…');
    } else connect();
  });
  urlIn.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') connectBtn.click();
  });

  const sendAction = (payload, label) => {
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      left(`note:${performance.now()}`, logRow({ action: 'send', cls: 'error', title: 'Not sent', detail: 'The socket is not open.' }));
      return;
    }
    const m = sendCount++;
    left(`send:${m}`, logRow({ action: 'send', title: `send(${label})`, detail: typeof payload === 'string' ? `text · ${plural(new TextEncoder().encode(payload).length, 'byte')}` : `binary · ${plural(payload.length, 'byte')}` }));
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
      bytes = read_bytes(binIn.value, 'hex').bytes;
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

  const closeError = $('#live-close-error');
  /** What close() will be called with, or why the browser would refuse
   * it: the browser's own rule (1000 or 3000–4999, a short reason), said
   * as the person types, from the core. */
  const closeCall = () => {
    const t = codeIn.value.trim();
    const reason = reasonIn.value;
    const reasonBytes = new TextEncoder().encode(reason).length;
    if (!t && !reason) return { text: 'No code: close() sends a Close frame without a status code.' };
    // A reason alone goes with a normal closure's code.
    const n = t ? Number(t) : close_code_info(0).normal_code;
    if (!Number.isInteger(n) || n < 0 || n > 65535) return { error: 'A close code is a whole number 0–65535.' };
    const c = close_code_info(n);
    const about = `${n} ${c.name || '(no name)'} · ${c.range}`;
    if (!c.browser_may_close) {
      return { error: `The browser’s close() takes only ${c.browser_codes}, not ${n} ${c.name || `(${c.range})`}${c.sendable ? ': an endpoint may send it, the browser keeps it for itself' : ''}.`, code: n };
    }
    if (reasonBytes > c.max_reason_bytes) {
      return { error: `The reason is ${plural(reasonBytes, 'byte')} of UTF-8; close() takes at most ${c.max_reason_bytes}.` };
    }
    const note = t ? '' : `A reason needs a code: Close sends it with ${n}. `;
    return { code: n, reason, text: `${note}${about} · reason ${reasonBytes} of ${c.max_reason_bytes} bytes.` };
  };
  const showCodeInfo = () => {
    const call = closeCall();
    codeInfo.textContent = call.error ?? call.text;
    codeInfo.classList.toggle('bad-text', Boolean(call.error));
    closeError.hidden = true;
    codeIn.setAttribute('aria-invalid', String(Boolean(call.error)));
  };
  for (const input of [codeIn, reasonIn]) {
    input.addEventListener('input', showCodeInfo);
    input.addEventListener('change', showCodeInfo);
  }
  showCodeInfo();

  $('#live-close').addEventListener('click', () => {
    if (!ws) return;
    const call = closeCall();
    const refuse = (text) => {
      closeError.textContent = `Not closed: ${text}`;
      closeError.hidden = false;
    };
    if (call.error) {
      refuse(`${call.code !== undefined ? `close(${call.code})` : 'close()'} would throw before sending anything (see the rule above); the connection stays open.`);
      return;
    }
    const reason = call.reason ?? '';
    const label = call.code !== undefined ? `close(${call.code}${reason ? `, “${reason}”` : ''})` : 'close()';
    try {
      if (call.code !== undefined) ws.close(call.code, reason);
      else ws.close();
    } catch (e) {
      refuse(`${label} threw ${e.name}: ${e.message}`);
      left(`note:${performance.now()}`, logRow({ action: 'close', cls: 'error', title: `${label} threw`, detail: `${e.name}: ${e.message} (the browser checks the code before sending anything)` }));
      return;
    }
    closeError.hidden = true;
    closeRequested = true;
    left('close-action', logRow({ action: 'close', title: label, detail: 'The browser sends a Close frame and waits for the server’s.' }));
    setState('closing…');
  });

  // For measuring the panel (`cargo xtask bench live`, BENCHMARKS.md): the
  // milliseconds each tap record took and the frames it completed, and the
  // frames shown each way.
  window.wscopeLiveTimings = () => ({
    records: timings.slice(),
    record_frames: timedFrames.slice(),
    frames: { up: counts.up.frames, down: counts.down.frames },
  });

  setState('not connected');
}
