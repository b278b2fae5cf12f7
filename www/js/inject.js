// Panel 5: inject raw bytes into the server's own /echo, through /inject,
// and watch its answer: the handshake, the frames it sends back, who closed
// the connection and how.

import { inspect, read_bytes, close_code_info, WireView } from '../pkg/wscope_wasm.js';
import { serverLimits, limitOptions, sizeText } from './limits.js';
import { h, $, toHex, plural, fmtInt, setInput, empty, hexPreview, httpPre } from './util.js';
import { readNote } from './notes.js';
import { frameCard } from './frameview.js';

const EXAMPLES = {
  unmasked: '81 02 68 69',
  masked: '81 82 37 fa 21 3d 5f 93',
  ping: '89 82 37 fa 21 3d 5f 93',
  reserved: '83 80 37 fa 21 3d',
  utf8: '81 82 37 fa 21 3d f4 d2',
  close: '88 82 37 fa 21 3d 34 12',
  cut: '81 85 37 fa',
};

export function setupInject({ builderBytes, builderCompressed }) {
  const input = $('#inj-input');
  const sendBtn = $('#inj-send');
  const out = $('#inj-output');
  const preview = $('#inj-preview');
  const status = $('#inj-status');
  const deflateBox = $('#inj-deflate');
  const wsScheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  let sock = null;
  let opening = null;
  let run = null; // the injection being shown

  const parsed = () => {
    const t = input.value;
    if (!t.trim()) return { empty: true };
    let read;
    try {
      read = read_bytes(t, 'auto');
    } catch (e) {
      return { error: e.message };
    }
    const most = serverLimits()?.inject.max_payload_bytes;
    if (most !== undefined && read.bytes.length > most) {
      return { error: `${plural(read.bytes.length, 'byte')} is more than this server injects at once (${sizeText(most)})`, tooLarge: true };
    }
    return { bytes: read.bytes, readAs: read.read_as };
  };

  const showPreview = () => {
    const p = parsed();
    preview.replaceChildren();
    preview.className = 'note small';
    if (p.empty) {
      preview.append('Type or paste the bytes to write after the handshake (hex or base64).');
      return;
    }
    if (p.error) {
      preview.classList.add('bad');
      preview.append(`Not bytes: ${p.error}.`);
      return;
    }
    const r = inspect(p.bytes, { sender: 'client', deflate: deflateBox.checked || undefined, ...limitOptions() });
    const parts = r.frames.map((f) => `${f.header.opcode_name}${f.header.masked ? '' : ' (unmasked)'}${f.complete ? '' : ' (incomplete)'}`);
    preview.append(h('strong', {}, plural(p.bytes.length, 'byte')), h('span', { class: 'muted' }, ` (read as ${p.readAs})`),
      `: ${r.frames.length ? parts.join(', ') : 'no whole frame header'}${r.partial_header ? ', then a partial header' : ''}. `,
      r.violation_count
        ? h('span', { class: 'bad-text' }, `As a client's bytes: ${plural(r.violation_count, 'violation')}, first: ${r.frames.flatMap((f) => f.violations)[0]?.message ?? 'see below'}.`)
        : `No violation as a client’s bytes${serverLimits() ? ', within this server’s limits' : ''}.`);
  };

  // The /inject connection offers permessage-deflate or not for all its
  // injections: a different choice opens a new one at the next injection.
  let sockDeflate = null;
  let openingDeflate = null;
  const ensureSocket = () => {
    const want = deflateBox.checked;
    if (sock && sock.readyState === WebSocket.OPEN && sockDeflate === want) return Promise.resolve(sock);
    if (opening && openingDeflate === want) return opening;
    if (sock && sockDeflate !== want) {
      const old = sock;
      sock = null;
      old.onmessage = null;
      old.close();
    }
    openingDeflate = want;
    opening = new Promise((resolve, reject) => {
      const s = new WebSocket(`${wsScheme}//${location.host}/inject${want ? '?deflate=on' : ''}`);
      s.binaryType = 'arraybuffer';
      s.onopen = () => {
        if (openingDeflate !== want) {
          // The choice changed while this one was opening.
          s.close();
          reject(new Error('the permessage-deflate choice changed'));
          return;
        }
        sock = s;
        sockDeflate = want;
        opening = null;
        status.textContent = `Connected to /inject${want ? ' (offering permessage-deflate)' : ''}.`;
        resolve(s);
      };
      s.onerror = () => {
        if (openingDeflate === want) opening = null;
        status.textContent = 'Could not reach /inject on this server.';
        reject(new Error('could not connect to /inject'));
      };
      s.onclose = (ev) => {
        // A connection replaced on purpose (see above) says nothing.
        if (sock !== s) return;
        sock = null;
        sendBtn.disabled = false;
        const info = ev.code ? close_code_info(ev.code) : null;
        const how = `${ev.code}${info?.name ? ` ${info.name}` : ''}${ev.reason ? ` (“${ev.reason}”)` : ''}`;
        status.textContent = `The /inject connection closed with ${how}; it reopens on the next injection.`;
        // An injection still waiting for its start hears why it never began.
        if (run && run.id === null && !run.ended) {
          run.ended = true;
          run.els.replies.replaceChildren();
          run.els.end.replaceChildren(h('p', { class: 'note bad inj-error', 'data-close-code': String(ev.code) },
            h('strong', {}, 'Not injected: '), `the server closed the /inject connection with ${how}.`));
        }
      };
      s.onmessage = onMessage;
    });
    return opening;
  };

  /** Takes effect at the next injection (see ensureSocket). */
  const setDeflate = (on) => {
    deflateBox.checked = on;
    showPreview();
  };
  deflateBox.addEventListener('change', showPreview);

  /** A fresh view of one injection: the wire as the core decodes it. */
  const newRun = (note) => {
    run = {
      id: note?.id ?? null,
      view: new WireView(),
      heads: { client: null, server: null },
      frames: { client: [], server: [] },
      raw: { client: [], server: [] },
      ended: false,
      els: {
        head: h('p', { class: 'note' }),
        handshake: h('div', { class: 'inj-handshake' }),
        sent: h('div', { class: 'inj-sent' }),
        verdict: h('div', { class: 'inj-verdict' }),
        replies: h('div', { class: 'inj-replies' }),
        end: h('div', {}),
      },
    };
const e = run.els;
    if (note) {
      e.head.append(h('strong', {}, `Injection #${note.id}`), `: ${plural(note.bytes, 'byte')} to ${note.target}. wscope opens a TCP connection, performs a normal client handshake, then writes your bytes exactly.`);
    } else e.head.append('Sending…');
    out.replaceChildren(e.head, e.verdict, h('h3', {}, '1 · Handshake (by wscope)'), e.handshake,
      h('h3', {}, '2 · Your bytes, as the server reads them (client → server)'), e.sent,
      h('h3', {}, '3 · What the server sent back (server → client)'), e.replies, e.end);
    e.replies.append(empty('Waiting for the server…'));
    e.end.append(h('p', { class: 'muted small' }, note ? 'The connection is open; waiting for it to end…' : ''));
  };

  const renderHandshake = () => {
    const e = run.els;
    e.handshake.replaceChildren();
    const piece = (head, label) => h('details', { class: 'http-details' },
      h('summary', { class: 'mono' }, `${label} ${head.first_line} · ${plural(head.len, 'byte')}`), httpPre(head.text));
    if (run.heads.client) e.handshake.append(piece(run.heads.client, '→'));
    if (run.heads.server) e.handshake.append(piece(run.heads.server, '←'));
    if (run.handshakeNote) e.handshake.append(run.handshakeNote);
  };

  /** The frames one side sent, the one still arriving, and a cut header. */
  const framesOf = (from) => {
    const partial = run.view.partial_frame(from);
    return partial ? [...run.frames[from], partial] : run.frames[from];
  };

  const renderSent = () => {
    const e = run.els;
    e.sent.replaceChildren();
    framesOf('client').forEach((f) => e.sent.append(frameCard(f, { cls: 'inj-sent-frame', title: `Sent frame ${f.index + 1}`, diagram: false, dumpRows: 3, compact: true })));
    const cut = run.view.partial_header('client');
    if (cut) e.sent.append(h('p', { class: 'note warn' }, `Then a partial header: ${plural(cut.have, 'byte')} of a header that needs at least ${plural(cut.needed, 'more byte')}. The server waits for the rest.`));
    for (const bytes of run.raw.client) e.sent.append(h('p', { class: 'muted mono' }, hexPreview(bytes, 64)));
  };

  const renderReplies = () => {
    const e = run.els;
    const frames = framesOf('server');
    e.replies.replaceChildren();
    e.verdict.replaceChildren();
    for (const bytes of run.raw.server) e.replies.append(h('p', { class: 'note warn' }, `Not frames: ${hexPreview(bytes, 48)}`));
    if (!frames.length) {
      if (!run.raw.server.length) e.replies.append(empty(run.ended ? 'The server sent no frame back.' : 'No frame from the server yet…'));
      return;
    }
    frames.forEach((f) => {
      const card = frameCard(f, { cls: 'inj-frame', title: `Reply frame ${f.index + 1}`, diagram: false, dumpRows: 3, compact: true });
      if (f.close && f.close.code !== null) card.dataset.closeCode = String(f.close.code);
      e.replies.append(card);
    });
    const cut = run.view.partial_header('server');
    if (cut) e.replies.append(h('p', { class: 'note warn' }, `The reply stops inside a frame header (${plural(cut.have, 'byte')}).`));
    const close = frames.find((f) => f.header.kind === 'close');
    if (close) {
      const c = close.close;
      e.verdict.append(h('p', { class: `note ${!c || c.reports_error ? 'bad' : 'ok'}` },
        h('strong', {}, 'The server sent a Close frame: '),
        c ? (c.code === null ? 'no status code' : `${c.code} ${c.code_name || ''}`) : 'an invalid close payload',
        c?.reason ? [' — ', h('q', {}, c.reason)] : ''));
    } else {
      e.verdict.append(h('p', { class: 'note ok' }, h('strong', {}, 'The server answered: '), frames.map((f) => f.header.opcode_name + (f.text ? ` “${f.text}”` : '')).join(', ')));
    }
  };

  /** One tap record of the injection: what it completed, each side redrawn. */
  const onRecord = (data) => {
    let rec;
    try {
      rec = run.view.push_record(new Uint8Array(data));
    } catch (err) {
      run.els.end.append(h('p', { class: 'note bad' }, `Unreadable record from the server: ${err.message ?? err}`));
      return;
    }
    for (const item of rec.items) {
      if (item.type === 'head') run.heads[item.from] = item;
      else if (item.type === 'frame') run.frames[item.from].push(item.frame);
      else if (item.type === 'raw') run.raw[item.from].push(item.bytes);
    }
    renderHandshake();
    if (rec.from === 'client') renderSent();
    else renderReplies();
  };

  function onMessage(ev) {
    if (typeof ev.data === 'string') {
      const note = readNote(ev.data);
      if (!note) return;
      if (note.type === 'start') newRun(note);
      else if (note.type === 'error') {
        if (!run) newRun(null);
        run.els.end.append(h('p', { class: 'note bad inj-error' }, `Refused: ${note.message}`));
        sendBtn.disabled = false;
      } else if (note.type === 'handshake' && run) {
        run.handshakeNote = note.ok
          ? h('p', { class: 'note ok small' }, '✓ The server accepted the handshake: the next bytes wscope writes are yours.')
          : h('p', { class: 'note bad' }, `Handshake failed: ${note.error}`);
        renderHandshake();
      } else if (note.type === 'end' && run) {
        run.ended = true;
        renderReplies();
        run.els.end.replaceChildren(h('p', { class: `note inj-end ${note.closed_by === 'server' ? '' : 'warn'}`, 'data-closed-by': note.closed_by },
          h('strong', {}, note.closed_by === 'server' ? 'The server closed the connection' : 'wscope closed the connection'),
          `: ${note.how} (after ${fmtInt(note.elapsed_ms)} ms).`));
        status.textContent = `Injection #${run.id} done; /inject stays open for the next one.`;
        sendBtn.disabled = false;
      }
      return;
    }
    if (run) onRecord(ev.data);
  }

  const send = async () => {
    const p = parsed();
    if (p.empty || p.error) {
      showPreview();
      if (p.tooLarge) out.replaceChildren(h('p', { class: 'note bad inj-error', id: 'inj-too-large' }, h('strong', {}, 'Not sent: '), `${p.error}.`));
      input.focus();
      return;
    }
    sendBtn.disabled = true;
    newRun(null);
    if (!sock) status.textContent = 'Connecting to /inject…';
    try {
      const s = await ensureSocket();
      s.send(p.bytes);
    } catch (e) {
      out.replaceChildren(h('p', { class: 'note bad' }, `Could not inject: ${e.message}.`));
      sendBtn.disabled = false;
    }
  };

  input.addEventListener('input', showPreview);
  input.addEventListener('change', showPreview);
  sendBtn.addEventListener('click', send);
  $('#inj-from-builder').addEventListener('click', () => {
    const b = builderBytes();
    if (b && builderCompressed()) setDeflate(true);
    if (b) setInput(input, toHex(b));
  });
  for (const b of document.querySelectorAll('[data-inj-example]')) {
    b.addEventListener('click', () => setInput(input, EXAMPLES[b.dataset.injExample]));
  }
  out.replaceChildren(empty('Nothing injected yet. Try “81 02 68 69”: a text frame “hi” that a client forgot to mask.'));
  showPreview();

  return {
    load(bytes, { deflate = false } = {}) {
      if (deflate) setDeflate(true);
      setInput(input, toHex(bytes));
      $('#inject').scrollIntoView({ behavior: 'smooth', block: 'start' });
      input.focus({ preventScroll: true });
    },
  };
}
