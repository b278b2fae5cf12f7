// The Sessions panel's controls of an intercepted session (wscope-server
// --relay-mode intercept): hold a direction, then send each held message on
// as it was or edited, or drop it; send a new message to either side. The
// page only sends commands and shows the server's notes (documented in the
// server's notes.rs, `InterceptNote`); the relay's core connections write
// every frame.

import { h, $, plural } from './util.js';
import { readNote } from './notes.js';

const SIDE = { client: 'client → server', server: 'server → client' };

export function setupIntercept() {
  const box = $('#ses-intercept');
  const holdClient = $('#ses-hold-client');
  const holdServer = $('#ses-hold-server');
  const heldEl = $('#ses-held');
  const statusEl = $('#ses-int-status');
  const injectTo = $('#ses-inject-to');
  const injectKind = $('#ses-inject-kind');
  const injectData = $('#ses-inject-data');
  const injectBtn = $('#ses-inject-send');
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';

  let ws = null;
  let hold = { client: false, server: false };
  const heldRows = new Map();

  const say = (text, cls = 'muted') => {
    statusEl.className = `small ${cls}`;
    statusEl.textContent = text;
  };

  const send = (command) => {
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      say('Not connected to this session’s controls.', 'bad-text');
      return;
    }
    ws.send(JSON.stringify(command));
  };

  const showHold = () => {
    for (const [btn, side] of [[holdClient, 'client'], [holdServer, 'server']]) {
      btn.setAttribute('aria-pressed', String(hold[side]));
      btn.textContent = `${hold[side] ? 'Let go' : 'Hold'} ${SIDE[side]}`;
      btn.classList.toggle('primary', hold[side]);
    }
  };

  const heldRow = (m) => {
    const editable = m.kind !== 'binary' && !m.truncated;
    const area = h('textarea', {
      class: 'mono held-data',
      rows: '2',
      'aria-label': `Message ${m.id}${editable ? ', editable' : ''}`,
      readonly: editable ? null : true,
    });
    area.value = m.text ?? m.base64 ?? '';
    const original = area.value;
    const row = h('div', { class: `tl-item held-row dir-${m.from === 'client' ? 'up' : 'down'}`, 'data-id': m.id, 'data-from': m.from },
      h('div', { class: 'tl-line' },
        h('span', { class: 'tl-name' }, `Held #${m.id} · ${m.kind}${m.kind === 'close' && m.code ? ` ${m.code}` : ''} · ${SIDE[m.from]}`),
        h('span', { class: 'small muted' }, `${plural(m.len, 'byte')}${m.truncated ? ' (only its start is shown: send it on or drop it as it is)' : ''}`)),
      area,
      h('div', { class: 'row' },
        h('button', { type: 'button', class: 'held-send', onclick: () => {
          if (editable && area.value !== original) send({ type: 'edit', id: m.id, text: area.value });
          else send({ type: 'release', id: m.id });
        } }, 'Send on'),
        h('button', { type: 'button', class: 'held-drop', onclick: () => send({ type: 'drop', id: m.id }) }, 'Drop'),
        editable ? h('span', { class: 'small muted' }, 'Edit the text first to send it changed.') : null));
    return row;
  };

  const addHeld = (m) => {
    const row = heldRow(m);
    heldRows.set(m.id, row);
    heldEl.append(row);
    $('#ses-held-empty').hidden = heldRows.size > 0;
  };

  const removeHeld = (id) => {
    heldRows.get(id)?.remove();
    heldRows.delete(id);
    $('#ses-held-empty').hidden = heldRows.size > 0;
  };

  const onNote = (n) => {
    switch (n.type) {
      case 'state':
        hold = { client: n.hold_client, server: n.hold_server };
        showHold();
        heldEl.replaceChildren();
        heldRows.clear();
        for (const m of n.held) addHeld(m);
        $('#ses-held-empty').hidden = heldRows.size > 0;
        break;
      case 'held':
        addHeld(n.message);
        say(`Message #${n.message.id} (${SIDE[n.message.from]}) is held.`);
        break;
      case 'sent':
        if (n.id !== null) removeHeld(n.id);
        say(n.injected ? `Sent a new ${n.kind} message (${plural(n.len, 'byte')}) ${n.from === 'client' ? 'to the server' : 'to the client'}.`
          : `Message #${n.id} sent on${n.edited ? ', edited' : ''}.`);
        break;
      case 'dropped':
        removeHeld(n.id);
        say(`Message #${n.id} dropped: the other side never sees it.`);
        break;
      case 'error':
        say(n.message, 'bad-text');
        break;
      case 'lagged':
        say(`This page missed ${plural(n.missed, 'note')}; pick the session again to reload its state.`, 'bad-text');
        break;
      case 'end':
        say(`The session is over (${n.reason}).`);
        for (const b of [holdClient, holdServer, injectBtn]) b.disabled = true;
        break;
      default:
    }
  };

  holdClient.addEventListener('click', () => send({ type: 'hold', from: 'client', on: !hold.client }));
  holdServer.addEventListener('click', () => send({ type: 'hold', from: 'server', on: !hold.server }));
  injectBtn.addEventListener('click', () => {
    const command = { type: 'inject', to: injectTo.value };
    command[injectKind.value] = injectData.value;
    send(command);
  });

  const detach = () => {
    if (ws) {
      ws.onmessage = ws.onclose = ws.onerror = null;
      if (ws.readyState < 2) ws.close();
    }
    ws = null;
    box.hidden = true;
  };

  /** Shows the controls of session `s` when it is intercepted and open. */
  const attach = (s) => {
    detach();
    if (!s.intercepted || s.ended) return;
    box.hidden = false;
    heldEl.replaceChildren();
    heldRows.clear();
    hold = { client: false, server: false };
    showHold();
    for (const b of [holdClient, holdServer, injectBtn]) b.disabled = false;
    say('Connecting to the session’s controls…');
    ws = new WebSocket(`${scheme}//${location.host}/relay/intercept?session=${s.id}`);
    ws.onopen = () => say('Intercepting: hold a direction to stop its messages here, or send a new one either way.');
    ws.onmessage = (e) => {
      const n = typeof e.data === 'string' ? readNote(e.data) : null;
      if (n) onNote(n);
    };
    ws.onclose = () => {
      if (!box.hidden) say('The controls’ connection closed.', 'muted');
    };
  };

  return { attach, detach, attached: () => ws !== null };
}
