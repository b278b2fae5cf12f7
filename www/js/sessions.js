// Panel 7: the relayed sessions (wscope-server --relay LISTEN=URL). The list
// comes live from /relay/sessions (notes documented in the server's
// notes.rs, `RelayNote`); a session picked is read from /relay/tap?session=N
// (the /tap record format) and decoded here by the wasm core's WireView,
// each chunk once: heads, frames, messages, each side's violations, ping →
// pong times. Exports are made by the server from the same record.

import { WireView } from '../pkg/wscope_wasm.js';
import { h, $, plural, fmtInt, showText, hexPreview } from './util.js';
import { headRow, frameRow, ms } from './wirerow.js';
import { readNote, tapNoteText } from './notes.js';
import { serverLimits, sizeText } from './limits.js';
import { setupIntercept } from './intercept.js';

/** Rows shown at most in one session's view; older ones go. */
const MAX_ROWS = 2000;
const RELAY_CLOCK = 'Time since the relay accepted the client’s connection, by the relay’s clock';

const STATE_TEXT = {
  connecting: 'reaching the upstream',
  requested: 'request sent',
  open: 'open',
  refused: 'refused by the upstream',
  closed: 'closed',
};

export function setupSessions() {
  const relaysEl = $('#ses-relays');
  const body = $('#ses-table tbody');
  const table = $('#ses-table');
  const emptyEl = $('#ses-empty');
  const statusEl = $('#ses-status');
  const detail = $('#ses-detail');
  const rowsEl = $('#ses-rows');
  const titleEl = $('#ses-title');
  const summaryEl = $('#ses-summary');
  const dirSel = $('#ses-dir');
  const kindSel = $('#ses-kind');
  const search = $('#ses-search');
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';

  const relays = serverLimits()?.relay?.relays ?? [];
  relaysEl.replaceChildren(...(relays.length
    ? [h('span', {}, plural(relays.length, 'relay') + ': '),
      ...relays.flatMap((r, i) => [i ? ', ' : '', h('code', {}, `ws://${r.listen}`), ' → ', h('code', {}, r.upstream)]),
      h('span', { class: 'muted' }, `. Point your client at the relay instead of its server; each session keeps its last ${sizeText(serverLimits().relay.record_bytes)}.`)]
    : [h('span', {}, 'No relay is running. Start the server with '), h('code', {}, '--relay 127.0.0.1:9000=ws://127.0.0.1:3000'),
      h('span', {}, ' (your server’s address after the =) and point your client at ws://127.0.0.1:9000: every byte goes through unchanged and shows up here, both directions judged by the RFC.')]));

  const intercept = setupIntercept();
  const sessions = new Map(); // id → last summary
  const rowOf = new Map(); // id → <tr>
  let selected = null;

  // ---- the list ----
  const countCell = (c) => h('td', { class: 'count' },
    h('span', { title: `${fmtInt(c.bytes)} bytes, ${fmtInt(c.frames)} frames (${fmtInt(c.control)} control)` },
      `${plural(c.messages, 'msg')} · ${sizeShort(c.bytes)}`));

  const drawRow = (s) => {
    const bad = s.client.violations + s.server.violations;
    const started = new Date(s.started);
    const close = s.close ? `${s.close.code ?? 'no code'}${s.close.reason ? ` “${showText(s.close.reason, 24)}”` : ''} (${s.close.from})` : '';
    const tr = h('tr', {
      'data-id': s.id,
      'data-state': s.state,
      class: s.id === selected ? 'selected' : '',
      'aria-selected': String(s.id === selected),
      // The whole row picks it; its number is the button keyboards reach.
      onclick: () => select(s.id),
    },
    h('td', { class: 'count' }, h('button', { type: 'button', class: 'ses-open', 'aria-label': `Read session ${s.id}` }, String(s.id))),
    h('td', { class: 'mono path', title: `${s.peer} → ${s.upstream}${s.target}` }, showText(s.target, 48)),
    h('td', { title: s.started }, started.toLocaleTimeString()),
    h('td', {}, h('span', { class: `pill state-${s.state}`, title: s.ended ?? '' }, STATE_TEXT[s.state] ?? s.state),
      s.status && s.status !== 101 ? h('span', { class: 'small' }, ` HTTP ${s.status}`) : null,
      s.evicted ? h('span', { class: 'small muted', title: 'Its record was dropped for newer sessions (--relay-max-records)' }, ' (record dropped)') : null),
    countCell(s.client),
    countCell(s.server),
    h('td', { class: 'count' }, bad
      ? h('span', { class: 'badge bad', title: 'Rules broken, by the side that broke them' },
        [s.client.violations ? `client ${s.client.violations}` : '', s.server.violations ? `server ${s.server.violations}` : ''].filter(Boolean).join(', '))
      : h('span', { class: 'muted' }, 'none')),
    h('td', { class: 'small' }, close));
    const old = rowOf.get(s.id);
    if (old) old.replaceWith(tr);
    else body.prepend(tr);
    rowOf.set(s.id, tr);
  };

  const onSessions = (note) => {
    const kept = new Set(note.ids);
    for (const [id, tr] of rowOf) {
      if (!kept.has(id)) {
        tr.remove();
        rowOf.delete(id);
        sessions.delete(id);
      }
    }
    for (const s of note.changed) {
      sessions.set(s.id, s);
      drawRow(s);
    }
    emptyEl.hidden = rowOf.size > 0;
    table.hidden = rowOf.size === 0;
    if (selected !== null && sessions.has(selected)) {
      const s = sessions.get(selected);
      showSummary(s);
      // An intercepted session picked before its legs opened: its controls now.
      if (s.intercepted && s.state === 'open' && !intercept.attached()) intercept.attach(s);
    }
  };

  let list = null;
  let retry = 1000;
  const watch = () => {
    list = new WebSocket(`${scheme}//${location.host}/relay/sessions`);
    list.onopen = () => {
      retry = 1000;
      statusEl.textContent = relays.length ? 'watching: new sessions appear as clients connect' : '';
    };
    list.onmessage = (e) => {
      const note = typeof e.data === 'string' ? readNote(e.data) : null;
      if (note?.type === 'sessions') onSessions(note);
    };
    list.onclose = () => {
      statusEl.textContent = 'The list’s connection to the server closed; trying again…';
      setTimeout(watch, retry);
      retry = Math.min(retry * 2, 30000);
    };
  };

  // ---- one session ----
  let tap = null;
  let view = null;
  let held = null;
  let shown = 0;
  // Each side's latest ping ({ index, el }): the only one a pong can answer.
  let lastPing = { client: null, server: null };
  // The record lost chunks: decoding from the middle would invent frames.
  let gap = false;

  const showSummary = (s) => {
    const dur = s.duration_ms !== null && s.duration_ms !== undefined ? ` · ${fmtInt(s.duration_ms)} ms` : '';
    const deflate = s.deflate
      ? `permessage-deflate (client window ${s.deflate.client_max_window_bits} bits${s.deflate.client_no_context_takeover ? ', no context takeover' : ''}; server ${s.deflate.server_max_window_bits} bits${s.deflate.server_no_context_takeover ? ', no context takeover' : ''})`
      : 'no extension';
    summaryEl.replaceChildren(
      h('span', {}, `${STATE_TEXT[s.state] ?? s.state}${s.ended ? `: ${s.ended}` : ''}${dur}`),
      h('span', { class: 'dir-up' }, `client → server: ${plural(s.client.messages, 'message')}, ${plural(s.client.frames, 'frame')}, ${sizeShort(s.client.bytes)}, ${plural(s.client.violations, 'violation')}`),
      h('span', { class: 'dir-down' }, `server → client: ${plural(s.server.messages, 'message')}, ${plural(s.server.frames, 'frame')}, ${sizeShort(s.server.bytes)}, ${plural(s.server.violations, 'violation')}`),
      h('span', { class: 'muted' }, deflate));
  };

  const place = (el, side, kind, bad = false) => {
    el.dataset.side = side;
    el.dataset.kind = kind;
    if (bad) el.dataset.bad = 'true';
    el.hidden = !matches(el);
    rowsEl.append(el);
    shown += 1;
    while (rowsEl.childElementCount > MAX_ROWS) rowsEl.firstElementChild.remove();
    $('#ses-trimmed').hidden = shown <= MAX_ROWS;
  };

  const note = (text, cls = 'muted') => place(h('div', { class: `tl-item note-row ${cls}` }, text), 'both', 'note');

  const showFrame = (side, f, micros, message = null, answers = null) => {
    const dir = side === 'client' ? 'up' : 'down';
    const el = frameRow(dir, f, micros, message, 'client', RELAY_CLOCK);
    if (answers) {
      const other = lastPing[side === 'client' ? 'server' : 'client'];
      const ping = other && other.index === answers.ping ? other.el : null;
      el.querySelector('.badges')?.append(h('span', { class: 'badge rtt', title: 'Time from the ping’s last byte to this pong’s, as the relay saw them' },
        `answers the ping after ${ms(answers.micros / 1000).slice(1)}`));
      ping?.querySelector('.badges')?.append(h('span', { class: 'badge rtt' }, `pong after ${ms(answers.micros / 1000).slice(1)}`));
    }
    if (f.header.kind === 'ping') lastPing[side] = { index: f.index, el };
    place(el, side, f.role === 'data' ? 'data' : 'control', f.violations.length > 0);
  };

  const onRecord = (data) => {
    if (gap) return;
    let rec;
    try {
      rec = view.push_record(new Uint8Array(data));
    } catch (e) {
      note(`Unreadable record: ${e.message ?? e}`, 'bad');
      return;
    }
    for (const item of rec.items) {
      const side = item.from;
      if (item.type === 'head') place(headRow(side === 'client' ? 'up' : 'down', item, rec.micros, RELAY_CLOCK, false), side, 'head');
      else if (item.type === 'deflate') {
        note(item.error ? `The upstream’s permessage-deflate answer is invalid: ${item.error}` : item.params ? `Agreed: ${item.params.value}. Compressed messages are shown inflated.` : 'No extension agreed.', item.error ? 'bad' : 'muted');
      } else if (item.type === 'raw') {
        note(`Not WebSocket frames (${side} → ${side === 'client' ? 'server' : 'client'}): ${hexPreview(item.bytes, 24)}`, 'bad');
      } else if (item.type === 'frame') {
        if (held) showFrame(held.side, held.frame, held.micros);
        held = null;
        // The last frame of a compressed message waits for the message, to
        // show what it inflates to.
        if (item.frame.compressed && item.frame.header.fin) held = { side, frame: item.frame, micros: rec.micros };
        else showFrame(side, item.frame, rec.micros, null, item.answers);
      } else if (item.type === 'message') {
        if (held && held.side === side && held.frame.message === item.message.index) showFrame(side, held.frame, held.micros, item.message);
        else if (held) showFrame(held.side, held.frame, held.micros);
        held = null;
      }
    }
    if (held) {
      showFrame(held.side, held.frame, held.micros);
      held = null;
    }
  };

  const closeTap = () => {
    if (tap) {
      tap.onmessage = tap.onclose = tap.onerror = null;
      if (tap.readyState < 2) tap.close();
    }
    tap = null;
  };

  const select = (id) => {
    if (!sessions.has(id)) return;
    selected = id;
    for (const [rid, tr] of rowOf) {
      tr.classList.toggle('selected', rid === id);
      tr.setAttribute('aria-selected', String(rid === id));
    }
    closeTap();
    const s = sessions.get(id);
    detail.hidden = false;
    titleEl.textContent = `Session ${id}: ${s.target}`;
    $('#ses-jsonl').href = `/relay/export/${id}.jsonl`;
    $('#ses-har').href = `/relay/export/${id}.har`;
    showSummary(s);
    if (s.intercepted && s.state === 'open') intercept.attach(s);
    else intercept.detach();
    rowsEl.replaceChildren();
    shown = 0;
    held = null;
    lastPing = { client: null, server: null };
    gap = false;
    view = new WireView();
    tap = new WebSocket(`${scheme}//${location.host}/relay/tap?session=${id}`);
    tap.binaryType = 'arraybuffer';
    tap.onmessage = (e) => {
      if (typeof e.data !== 'string') {
        onRecord(e.data);
        return;
      }
      const n = readNote(e.data);
      if (n?.type === 'dropped') {
        gap = true;
        note(`The record dropped ${plural(n.chunks, 'chunk')} here (each session keeps its last ${sizeText(serverLimits()?.relay?.record_bytes ?? 0)}): frames cannot be read from the middle of a stream, so this view stops. The counts above and the log saw every byte.`, 'warn');
        return;
      }
      const text = n && n.type !== 'hello' && n.type !== 'open' ? tapNoteText(n) : null;
      if (text) note(text.replace(/^Tap: /, ''), n.type === 'end' ? 'muted' : 'warn');
    };
    tap.onerror = () => note('The session’s record could not be read (it may have been dropped for newer sessions).', 'warn');
  };

  // ---- filters ----
  const matches = (el) => {
    const dir = dirSel.value;
    const kind = kindSel.value;
    const side = el.dataset.side;
    if (dir !== 'both' && side !== 'both' && side !== dir) return false;
    if (kind === 'data' && el.dataset.kind !== 'data') return false;
    if (kind === 'control' && el.dataset.kind !== 'control') return false;
    if (kind === 'bad' && el.dataset.bad !== 'true') return false;
    const q = search.value.trim().toLowerCase();
    return !q || el.textContent.toLowerCase().includes(q);
  };
  const refilter = () => {
    for (const el of rowsEl.children) el.hidden = !matches(el);
  };
  for (const el of [dirSel, kindSel]) el.addEventListener('change', refilter);
  search.addEventListener('input', refilter);

  table.hidden = true;
  watch();
  return { select };
}

/** 1.2 KB, 3.4 MB: a count of bytes in one short word. */
function sizeShort(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
