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

/** Opens `url`, returns the first text message (or null) once it closes,
 * or null after `CASE_WAIT_MS`. */
function command(url) {
  return new Promise((resolve) => {
    let first = null;
    let ws;
    try {
      ws = new WebSocket(url);
    } catch {
      resolve(null);
      return;
    }
    const timer = setTimeout(() => { ws.close(); resolve(first); }, CASE_WAIT_MS);
    ws.onmessage = (ev) => { if (first === null && typeof ev.data === 'string') first = ev.data; };
    ws.onclose = () => { clearTimeout(timer); resolve(first); };
  });
}

/** This page's agent name: one per page load, so a second run replaces the
 * first run's results on the server instead of taking another agent's place. */
const PAGE_TAG = Math.random().toString(36).slice(2, 8);

/** One case: echo every message until the connection ends; what the
 * browser reported, with times since the case began. `run.socket` is the
 * case's socket while it lasts (Stop closes it). */
function runCase(url, run) {
  const stopped = () => run.stopped;
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
    run.socket = ws;
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
    if (running) return;
    if (view.busy()) {
      status.textContent = 'A server check is running: stop it first.';
      return;
    }
    const run = { stopped: false, socket: null };
    running = run;
    button.disabled = true;
    stop.hidden = false;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const base = `${scheme}//${location.host}/clients`;
    const name = browserName();
    const q = encodeURIComponent(`${name} ${PAGE_TAG}`);
    // The panel is this run's from here on (no other run can start).
    view.begin(`this browser: ${name}`, 0);
    let done = 0;
    let text;
    try {
      text = await runAll(run, base, q, name, (n) => { done = n; });
    } catch (err) {
      text = `The run ended: ${err.message ?? err}`;
    }
    if (running === run) {
      running = null;
      button.disabled = false;
      stop.hidden = true;
      view.end(run.stopped ? `Stopped after ${plural(done, 'case')}.` : text);
    }
  });

  /** Every chosen case in turn; the line that ends the run. */
  async function runAll(run, base, q, name, progressed) {
    let ids = null;
    try {
      ids = JSON.parse(await command(`${base}/getCaseList`));
    } catch {
      // not a list: said below
    }
    if (!Array.isArray(ids)) return 'The server has no client checker at /clients (turned off, or an older wscope-server).';
    const pick = SELECTIONS[$('#chk-browser-cases').value] ?? SELECTIONS.quick;
    const chosen = ids.map((id, i) => [id, i + 1]).filter(([id]) => pick(id));
    progress.max = Math.max(1, chosen.length);
    const started = performance.now();
    let failed = 0;
    for (const [n, [id, number]] of chosen.entries()) {
      if (run.stopped) break;
      const events = await runCase(`${base}/runCase?case=${number}&agent=${q}`, run);
      if (run.stopped) break;
      let c = null;
      try {
        c = JSON.parse(await command(`${base}/getCaseReport?case=${number}&agent=${q}`));
      } catch {
        // no result: said below
      }
      if (!c || typeof c !== 'object' || !c.id) return `The server sent no result for case ${id} (busy? try again).`;
      c.browser_events = events;
      if (c.verdict === 'FAILED') failed += 1;
      view.add(c);
      progress.value = n + 1;
      progressed(n + 1);
      status.textContent = `${name}: ${fmtInt(n + 1)} of ${fmtInt(chosen.length)} · ${plural(failed, 'FAILED case')} · ${((performance.now() - started) / 1000).toFixed(0)} s`;
    }
    const secs = ((performance.now() - started) / 1000).toFixed(1);
    return `Done: ${name}, ${plural(chosen.length, 'case')} in ${secs} s.`;
  }
  const halt = () => {
    if (!running) return;
    running.stopped = true;
    // The case going on ends now, not at its time limit.
    if (running.socket && running.socket.readyState < 2) running.socket.close();
  };
  stop.addEventListener('click', halt);
  return halt;
}
