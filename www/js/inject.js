// Panel 5: inject raw bytes into the server's own /echo, through /inject,
// and watch its answer: the handshake, the frames it sends back, who closed
// the connection and how.

import { inspect, http_head_len, parse_bytes, response_deflate } from '../pkg/wscope_wasm.js';
import { h, $, toHex, decodeText, plural, fmtInt, setInput, empty, concat, hexPreview, httpPre } from './util.js';
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
    try {
      return { bytes: parse_bytes(t, 'auto') };
    } catch (e) {
      return { error: e.message };
    }
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
    const r = inspect(p.bytes, { sender: 'client', deflate: deflateBox.checked || undefined });
    const parts = r.frames.map((f) => `${f.header.opcode_name}${f.header.masked ? '' : ' (unmasked)'}${f.complete ? '' : ' (incomplete)'}`);
    preview.append(h('strong', {}, plural(p.bytes.length, 'byte')),
      `: ${r.frames.length ? parts.join(', ') : 'no whole frame header'}${r.partial_header ? ', then a partial header' : ''}. `,
      r.violation_count
        ? h('span', { class: 'bad-text' }, `As a client's bytes: ${plural(r.violation_count, 'violation')}, first: ${r.frames.flatMap((f) => f.violations)[0]?.message ?? 'see below'}.`)
        : 'No violation as a client’s bytes.');
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
      s.onclose = () => {
        // A connection replaced on purpose (see above) says nothing.
        if (sock !== s) return;
        sock = null;
        sendBtn.disabled = false;
        status.textContent = 'The /inject connection closed; it reopens on the next injection.';
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

  /** A fresh view of one injection. */
  const newRun = (note) => {
    run = {
      id: note?.id ?? null,
      up: new Uint8Array(0),
      down: new Uint8Array(0),
      upChunks: 0,
      headUp: -1,
      headDown: -1,
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
    const piece = (bytes, len, label) => {
      const text = decodeText(bytes.subarray(0, len));
      return h('details', { class: 'http-details' }, h('summary', { class: 'mono' }, `${label} ${text.split('\r\n')[0]} · ${plural(len, 'byte')}`), httpPre(text));
    };
    if (run.headUp > 0) e.handshake.append(piece(run.up, run.headUp, '→'));
    if (run.headDown > 0) e.handshake.append(piece(run.down, run.headDown, '←'));
    if (run.handshakeNote) e.handshake.append(run.handshakeNote);
  };

  const renderSent = () => {
    const e = run.els;
    const bytes = run.up.subarray(Math.max(0, run.headUp));
    e.sent.replaceChildren();
    if (!bytes.length) return;
    const r = inspect(bytes, { sender: 'client', deflate: run.agreed ?? undefined });
    r.frames.forEach((f, i) => e.sent.append(frameCard(f, i, bytes, { cls: 'inj-sent-frame', title: `Sent frame ${i + 1}`, diagram: false, dumpRows: 3, compact: true })));
    if (r.partial_header) e.sent.append(h('p', { class: 'note warn' }, `Then a partial header: ${plural(r.partial_header.have, 'byte')} of a header that needs at least ${plural(r.partial_header.needed, 'more byte')}. The server waits for the rest.`));
    if (!r.frames.length && !r.partial_header) e.sent.append(h('p', { class: 'muted' }, hexPreview(bytes, 64)));
  };

  const renderReplies = () => {
    const e = run.els;
    const body = run.down.subarray(Math.max(0, run.headDown));
    e.replies.replaceChildren();
    e.verdict.replaceChildren();
    if (run.headDown < 0 || !body.length) {
      e.replies.append(empty(run.ended ? 'The server sent no frame back.' : 'No frame from the server yet…'));
      return;
    }
    const r = inspect(body, { sender: 'server', deflate: run.agreed ?? undefined });
    r.frames.forEach((f, i) => {
      const card = frameCard(f, i, body, { cls: 'inj-frame', title: `Reply frame ${i + 1}`, diagram: false, dumpRows: 3, compact: true });
      if (f.close && f.close.code !== null) card.dataset.closeCode = String(f.close.code);
      e.replies.append(card);
    });
    if (r.partial_header) e.replies.append(h('p', { class: 'note warn' }, `The reply stops inside a frame header (${plural(r.partial_header.have, 'byte')}).`));
    const close = r.frames.find((f) => f.header.kind === 'close');
    if (close) {
      const c = close.close;
      e.verdict.append(h('p', { class: `note ${c && c.code !== 1000 ? 'bad' : 'ok'}` },
        h('strong', {}, 'The server sent a Close frame: '),
        c ? (c.code === null ? 'no status code' : `${c.code} ${c.code_name || ''}`) : 'an invalid close payload',
        c?.reason ? [' — ', h('q', {}, c.reason)] : ''));
    } else if (r.frames.length) {
      e.verdict.append(h('p', { class: 'note ok' }, h('strong', {}, 'The server answered: '), r.frames.map((f) => f.header.opcode_name + (f.text ? ` “${f.text}”` : '')).join(', ')));
    }
  };

  function onMessage(ev) {
    if (typeof ev.data === 'string') {
      let note;
      try {
        note = JSON.parse(ev.data);
      } catch {
        return;
      }
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
        sendBtn.disabled = false;
      }
      return;
    }
    if (!run) return;
    const rec = new Uint8Array(ev.data);
    if (rec.length < 9) return;
    const data = rec.subarray(9);
    if (rec[0] === 0) {
      run.up = concat(run.up, data);
      if (run.headUp < 0) {
        const n = http_head_len(run.up, true);
        if (n >= 0) run.headUp = n;
      }
      renderHandshake();
      renderSent();
    } else {
      run.down = concat(run.down, data);
      if (run.headDown < 0) {
        const n = http_head_len(run.down, false);
        if (n >= 0) {
          run.headDown = n;
          // What the 101 agreed to decides how both directions are read.
          try {
            run.agreed = response_deflate(run.down.subarray(0, n));
          } catch {
            run.agreed = null;
          }
          renderSent();
        } else if (n === -2) run.headDown = 0;
      }
      renderHandshake();
      renderReplies();
    }
  }

  const send = async () => {
    const p = parsed();
    if (p.empty || p.error) {
      showPreview();
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
