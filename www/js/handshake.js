// Panel 1: the opening handshake (RFC 6455 section 4).

import { key_report, key_from_nonce, client_request, inspect_request } from '../pkg/wscope_wasm.js';
import { h, $, utf8, randomBytes, rfcLink, setInput, plural, empty, httpPre } from './util.js';
import { hexDump, onDumpWidthChange } from './hexdump.js';

const EXAMPLES = {
  valid: null, // filled from the request above
  nokey: 'GET /echo HTTP/1.1\nHost: localhost\nUpgrade: websocket\nConnection: Upgrade\nSec-WebSocket-Version: 13\n',
  version: 'GET /echo HTTP/1.1\nHost: localhost\nUpgrade: websocket\nConnection: Upgrade\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 8\n',
  post: 'POST /echo HTTP/1.1\nHost: localhost\nUpgrade: websocket\nConnection: keep-alive\nSec-WebSocket-Key: c2hvcnQ=\nSec-WebSocket-Version: 13\n',
};

export function setupHandshake() {
  const keyIn = $('#hs-key');
  const acceptOut = $('#hs-accept');
  const keyNote = $('#hs-key-note');
  const formula = $('#hs-formula');
  const reqOut = $('#hs-request-view');
  const resOut = $('#hs-response-view');
  const resTitle = $('#hs-response-title');
  let lastRequest = '';

  const render = () => {
    const key = keyIn.value;
    const rep = key_report(key);
    acceptOut.textContent = rep.valid ? rep.accept : '';
    keyIn.setAttribute('aria-invalid', String(!rep.valid));
    keyNote.replaceChildren();
    keyNote.className = `note ${rep.valid ? 'ok' : 'bad'}`;
    if (rep.valid) {
      keyNote.append(h('strong', {}, '✓ Valid key'), `: ${rep.chars} characters, the base64 encoding of ${rep.decoded_len} bytes.`);
    } else {
      const facts = [`${plural(rep.chars, 'character')}`];
      if (rep.decode_error) facts.push(`not valid base64 (${rep.decode_error.replace(/\.$/, '')})`);
      else facts.push(`decodes to ${plural(rep.decoded_len, 'byte')}`);
      keyNote.append(h('strong', {}, '✗ Invalid key'), `: ${facts.join('; ')}. `,
        `A server refuses it: ${rep.problem.message} → HTTP ${rep.problem.status} `, rfcLink(rep.problem.section), '.');
    }
    formula.replaceChildren(
      h('span', { class: 'muted' }, 'Sec-WebSocket-Accept = base64( SHA-1( '),
      h('code', {}, key || '""'), h('span', { class: 'muted' }, ' + '), h('code', { title: 'The GUID of RFC 6455 §1.3' }, rep.guid),
      h('span', { class: 'muted' }, ' ) )'),
      rep.valid ? '' : h('span', { class: 'muted' }, ` (would be ${rep.accept}, but a server answers an invalid key with an error instead)`));

    // The request a client sends, and what the server answers.
    let request;
    try {
      request = client_request(location.host || 'localhost', '/echo', key);
    } catch (e) {
      reqOut.replaceChildren(h('p', { class: 'error' }, `No request: ${e.message}`));
      resOut.replaceChildren();
      resTitle.textContent = 'Server response';
      return;
    }
    lastRequest = request;
    const reqBytes = utf8.encode(request);
    reqOut.replaceChildren(httpPre(request), hexDump(reqBytes, { label: 'Hex dump of the request', headRows: 20 }));
    const report = inspect_request(reqBytes);
    const response = report.response || '';
    const statusLine = response.split('\r\n')[0] || '';
    resTitle.textContent = `Server response: ${statusLine.replace(/^HTTP\/1\.1 /, '')}`;
    resOut.replaceChildren(httpPre(response, report.problems.length ? 'bad' : ''), hexDump(utf8.encode(response), { label: 'Hex dump of the response', headRows: 20 }));
  };

  keyIn.addEventListener('input', render);
  keyIn.addEventListener('change', render);
  $('#hs-random').addEventListener('click', () => {
    setInput(keyIn, key_from_nonce(randomBytes(16)));
  });
  $('#hs-rfc-key').addEventListener('click', () => setInput(keyIn, 'dGhlIHNhbXBsZSBub25jZQ=='));
  render();
  onDumpWidthChange(render);

  // Validate a pasted request.
  const reqIn = $('#hs-paste');
  const crlf = $('#hs-crlf');
  const out = $('#hs-paste-out');
  const validate = () => {
    const raw = reqIn.value;
    out.replaceChildren();
    if (!raw.trim()) {
      out.append(empty('Nothing to check yet.'));
      return;
    }
    let text = raw;
    if (crlf.checked) {
      text = raw.replace(/\r?\n/g, '\r\n').replace(/(\r\n)*$/, '') + '\r\n\r\n';
    }
    const rep = inspect_request(utf8.encode(text));
    if (!rep.complete) {
      out.append(h('p', { class: 'note warn' }, 'The head is not complete yet: an HTTP head ends with an empty line. Tick “Normalise” below the box, or add an empty line.'));
      return;
    }
    const ok = rep.problems.length === 0;
    out.append(h('p', { class: `note ${ok ? 'ok' : 'bad'}` }, ok
      ? [h('strong', {}, '✓ A valid opening handshake.'), ` The server switches protocols; Sec-WebSocket-Accept: `, h('code', {}, rep.accept)]
      : [h('strong', {}, `✗ ${plural(rep.problems.length, 'problem')}.`), ' The server answers the first one and closes the connection.']));
    if (!ok) {
      out.append(h('ul', { class: 'problems' }, rep.problems.map((p) => h('li', { class: 'violation', 'data-status': p.status },
        h('span', { class: 'v-msg' }, p.message),
        h('span', { class: 'v-meta' }, h('span', { class: 'code-chip' }, `HTTP ${p.status}`), rfcLink(p.section))))));
    }
    if (rep.method) {
      const rows = [h('tr', {}, h('th', { scope: 'row' }, 'Request line'), h('td', { class: 'mono' }, `${rep.method} ${rep.target} ${rep.http_version}`))];
      for (const [k, v] of rep.headers) rows.push(h('tr', {}, h('th', { scope: 'row', class: 'mono' }, k), h('td', { class: 'mono' }, v)));
      out.append(h('details', { class: 'parsed' }, h('summary', {}, `As parsed: ${plural(rep.headers.length, 'header')}`), h('table', { class: 'kvtable' }, h('tbody', {}, rows))));
    }
    if (rep.response) {
      out.append(h('h4', {}, 'The server’s exact answer'), httpPre(rep.response, ok ? '' : 'bad'));
    }
  };
  reqIn.addEventListener('input', validate);
  reqIn.addEventListener('change', validate);
  crlf.addEventListener('change', validate);
  for (const btn of document.querySelectorAll('[data-hs-example]')) {
    btn.addEventListener('click', () => {
      const which = btn.dataset.hsExample;
      setInput(reqIn, which === 'valid' ? lastRequest.replace(/\r\n/g, '\n').replace(/\n+$/, '\n') : EXAMPLES[which]);
    });
  }
  validate();
}
