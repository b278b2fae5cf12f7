// "Test this browser": the browser's own WebSocket (`new WebSocket(...)`)
// against the server's client checker (`/clients/…`, Autobahn's
// fuzzingserver protocol). This page only echoes, as Autobahn's browser page
// did: every verdict is made on the server's side of the wire, and each
// case's result (with every byte both ways) is read back from
// `/clients/getCaseReport` and shown in the Check panel like any report,
// with what the browser itself reported beside it (open, messages, error,
// close code and whether it was clean).

import { $, plural, fmtInt } from './util.js';
import { serverLimits } from './limits.js';

const SELECTIONS = {
  quick: (id) => !['9', '12', '13'].includes(id.split('.')[0]),
  own: (id) => ['18', '19'].includes(id.split('.')[0]),
  all: () => true,
};
/** The page gives up on one case after this long (the server cuts each case
 * at its own time limit first). */
const CASE_WAIT_MS = 10 * 60 * 1000;

/** The browser's name and major version, from the user agent, for the agent
 * name and the report's title. */
function browserName() {
  const ua = navigator.userAgent;
  const m = /(Firefox|Edg|OPR|Chrome|Version)\/(\d+)/.exec(ua);
  if (!m) return 'browser';
  const name = { Edg: 'Edge', OPR: 'Opera', Version: /Safari/.test(ua) ? 'Safari' : 'browser' }[m[1]] ?? m[1];
  return `${name} ${m[2]}`;
}

/** Opens `url`, returns the first text message (or null) once it closes. */
function command(url) {
  return new Promise((resolve) => {
    let first = null;
    const ws = new WebSocket(url);
    ws.onmessage = (ev) => { if (first === null && typeof ev.data === 'string') first = ev.data; };
    ws.onclose = () => resolve(first);
  });
}

/** One case: echo every message until the connection ends; what the
 * browser reported, with times since the case began. */
function runCase(url, stopped) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const at = () => Math.round(performance.now() - t0);
    const events = [];
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (err) {
      resolve([{ at: 0, type: 'exception', detail: String(err.message ?? err) }]);
      return;
    }
    ws.binaryType = 'arraybuffer';
    const done = () => { clearTimeout(timer); resolve(events); };
    const timer = setTimeout(() => { events.push({ at: at(), type: 'page gave up' }); ws.close(); done(); }, CASE_WAIT_MS);
    ws.onopen = () => events.push({ at: at(), type: 'open', detail: ws.extensions ? `extensions: ${ws.extensions}` : '' });
    ws.onmessage = (ev) => {
      const size = typeof ev.data === 'string' ? `text, ${ev.data.length} characters` : `binary, ${ev.data.byteLength} bytes`;
      if (events.length < 50) events.push({ at: at(), type: 'message', detail: size });
      if (stopped()) { ws.close(); return; }
      try {
        ws.send(ev.data);
      } catch (err) {
        events.push({ at: at(), type: 'send failed', detail: String(err.message ?? err) });
      }
    };
    ws.onerror = () => events.push({ at: at(), type: 'error' });
    ws.onclose = (ev) => {
      events.push({ at: at(), type: 'close', detail: `code ${ev.code}${ev.reason ? ` “${ev.reason}”` : ''}, ${ev.wasClean ? 'clean' : 'not clean'}` });
      done();
    };
  });
}

/** `view`: the Check panel's report view (begin, add, end, busy); returns
 * what stops the run (the panel calls it when it shows another report). */
export function setupBrowserTest(view) {
  const button = $('#chk-browser-run');
  if (serverLimits() && serverLimits().check?.clients === false) {
    button.disabled = true;
    button.title = 'This server’s operator turned the client checker off (--clients-max-connections 0).';
  }
  const stop = $('#chk-browser-stop');
  const status = $('#chk-status');
  const progress = $('#chk-progress');
  let running = null;

  button.addEventListener('click', async () => {
    if (running || view.busy()) return;
    const run = { stopped: false };
    running = run;
    button.disabled = true;
    stop.hidden = false;
    const stopped = () => run.stopped || running !== run;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const base = `${scheme}//${location.host}/clients`;
    const name = browserName();
    const agent = `${name} ${Math.random().toString(36).slice(2, 8)}`;
    const q = encodeURIComponent(agent);
    const finish = (text) => {
      if (running !== run) return;
      running = null;
      button.disabled = false;
      stop.hidden = true;
      view.end(text);
    };
    const list = await command(`${base}/getCaseList`);
    let ids = null;
    try {
      ids = JSON.parse(list);
    } catch {
      // not a list: said below
    }
    if (!Array.isArray(ids)) {
      finish('The server has no client checker at /clients (turned off, or an older wscope-server).');
      return;
    }
    const pick = SELECTIONS[$('#chk-browser-cases').value] ?? SELECTIONS.quick;
    const chosen = ids.map((id, i) => [id, i + 1]).filter(([id]) => pick(id));
    view.begin(`this browser: ${name}`, chosen.length);
    const started = performance.now();
    let failed = 0;
    for (const [n, [, number]] of chosen.entries()) {
      if (stopped()) break;
      const events = await runCase(`${base}/runCase?case=${number}&agent=${q}`, stopped);
      if (stopped()) break;
      const text = await command(`${base}/getCaseReport?case=${number}&agent=${q}`);
      let c;
      try {
        c = JSON.parse(text);
      } catch {
        finish(`The server sent no result for case ${number}.`);
        return;
      }
      c.browser_events = events;
      if (c.verdict === 'FAILED') failed += 1;
      view.add(c);
      progress.value = n + 1;
      status.textContent = `${name}: ${fmtInt(n + 1)} of ${fmtInt(chosen.length)} · ${plural(failed, 'FAILED case')} · ${((performance.now() - started) / 1000).toFixed(0)} s`;
    }
    const secs = ((performance.now() - started) / 1000).toFixed(1);
    finish(run.stopped ? `Stopped after ${plural(progress.value, 'case')}.` : `Done: ${name}, ${plural(chosen.length, 'case')} in ${secs} s.`);
  });
  const halt = () => {
    if (running) running.stopped = true;
  };
  stop.addEventListener('click', halt);
  return halt;
}
