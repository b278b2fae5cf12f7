// The Check panel: a conformance report (wscope-check's JSON, from a file or
// from a run the server makes now through /check, or this browser's own run
// against /clients, browsertest.js) browsed by group, by case, and down to
// the bytes each way, decoded by the wasm core (WireView): the same decoder
// as the live panel, so every violation carries its RFC section.

import { WireView } from '../pkg/wscope_wasm.js';
import { h, $, plural, fmtInt, rfcLink, hexPreview, empty } from './util.js';
import { headRow, frameRow } from './wirerow.js';
import { serverLimits } from './limits.js';
import { setupBrowserTest } from './browsertest.js';

const VERDICTS = ['OK', 'NON-STRICT', 'INFORMATIONAL', 'UNIMPLEMENTED', 'FAILED'];
const SELECTIONS = {
  quick: { cases: '', exclude: '9.*,12.*,13.*' },
  own: { cases: '14.*,15.*,16.*,17.*', exclude: '' },
  all: { cases: '', exclude: '' },
};
/** Hex characters of records the page keeps in all (past it, a case's bytes
 * are dropped from memory and the case says so). */
const RECORD_BUDGET = 256 * 2 ** 20;
/** Wire rows drawn at once in a case (more on request). */
const ROWS_AT_ONCE = 200;
const CHECKER_CLOCK = 'Time since the checker opened the TCP connection';
const CLIENT_CLOCK = 'Time since the checker accepted the client’s TCP connection';

const idKey = (id) => id.split('.').map(Number);
const byId = (a, b) => {
  const x = idKey(a.id);
  const y = idKey(b.id);
  for (let i = 0; i < Math.max(x.length, y.length); i += 1) {
    if ((x[i] ?? -1) !== (y[i] ?? -1)) return (x[i] ?? -1) - (y[i] ?? -1);
  }
  return 0;
};
const verdictChip = (v) => h('span', { class: `verdict v-${v.toLowerCase().replace(/[^a-z]/g, '')}` }, v);

/** "RFC 7692 5" or "4.2.1" as a link. */
function sectionLink(section) {
  const m = /^RFC (\d+) (.+)$/.exec(section);
  return m ? rfcLink(m[2], Number(m[1])) : rfcLink(section);
}

function hexBytes(hex) {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i += 1) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

/** A record in the tap's format for WireView: direction, µs (u64 BE), bytes. */
function tapRecord(r) {
  const bytes = hexBytes(r.hex);
  const rec = new Uint8Array(9 + bytes.length);
  rec[0] = r.from === 'client' ? 0 : 1;
  new DataView(rec.buffer).setBigUint64(1, BigInt(Math.max(0, Math.floor(r.micros || 0))));
  rec.set(bytes, 9);
  return rec;
}

export function setupCheck() {
  const out = $('#chk-out');
  const status = $('#chk-status');
  const progress = $('#chk-progress');
  const runBtn = $('#chk-run');
  const stopBtn = $('#chk-stop');
  const targetSel = $('#chk-target');
  let report = null;
  let selectedGroup = null;
  let selectedCase = null;
  let onlyProblems = false;
  let sock = null;
  let kept = 0;
  // The case shown, drawn once: a run's later cases redraw the lists, not it
  // (so what a person unfolded there stays unfolded).
  let detailFor = null;
  let detailEl = null;
  // This browser's own run (browsertest.js), if one is going.
  let browserRun = false;
  let stopBrowser = () => {};

  const targets = serverLimits()?.check?.targets ?? [];
  const published = serverLimits()?.check?.reports ?? [];
  $('#chk-reports').replaceChildren(...published.map((name, i) => h('option', { value: String(i) }, name)));
  $('#chk-reports-row').hidden = !published.length;
  targetSel.replaceChildren(h('option', { value: '0' }, `this server’s /echo (${location.host})`),
    ...targets.map((t, i) => h('option', { value: String(i + 1) }, t)));
  if (!serverLimits()) {
    runBtn.disabled = true;
    status.textContent = 'This page is not served by wscope-server: open a report file instead.';
  }

  const fresh = (target, total = null) => {
    report = { target, cases: [], total, role: 'server', agent: null, agents: [] };
    selectedGroup = null;
    selectedCase = null;
    detailFor = null;
    kept = 0;
  };

  /** The cases shown: one agent's, when a client report holds several. */
  const shownCases = () => (report.agent ? report.cases.filter((c) => c.agent === report.agent) : report.cases);

  const addCase = (c) => {
    if (c.agent && !report.agents.includes(c.agent)) {
      report.agents.push(c.agent);
      report.agent ??= c.agent;
    }
    const size = (c.records || []).reduce((n, r) => n + r.hex.length, 0);
    if (kept + size > RECORD_BUDGET) {
      c.records_dropped_by_page = true;
      c.records = [];
    } else kept += size;
    report.cases.push(c);
  };

  const counts = (cases) => {
    const n = Object.fromEntries(VERDICTS.map((v) => [v, 0]));
    for (const c of cases) n[c.verdict] = (n[c.verdict] || 0) + 1;
    return n;
  };

  const groups = () => {
    const g = new Map();
    for (const c of shownCases()) {
      if (!g.has(c.group)) g.set(c.group, []);
      g.get(c.group).push(c);
    }
    return [...g.entries()].sort((a, b) => byId({ id: a[0] }, { id: b[0] }));
  };

  const render = () => {
    if (!report) return;
    const cases = shownCases();
    const all = counts(cases);
    const line = VERDICTS.filter((v) => all[v]).map((v) => `${fmtInt(all[v])} ${v}`).join(' · ');
    const head = h('p', { class: 'chk-head' }, h('strong', {}, report.target || 'a report'), ` — ${plural(cases.length, 'case')}${line ? `: ${line}` : ''}`);
    if (report.agents.length > 1) {
      const pickAgent = h('select', { id: 'chk-agent', 'aria-label': 'The client whose results are shown' },
        report.agents.map((a) => h('option', { value: a, selected: a === report.agent }, a)));
      pickAgent.addEventListener('change', () => {
        report.agent = pickAgent.value;
        selectedGroup = null;
        selectedCase = null;
        render();
      });
      head.append(' · client ', pickAgent);
    }
    const gs = groups();
    if (selectedGroup === null && gs.length) {
      const bad = gs.find(([, cs]) => cs.some((c) => c.verdict === 'FAILED'));
      selectedGroup = (bad || gs[0])[0];
    }
    const table = h('table', { class: 'chk-groups' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Group'), h('th', { scope: 'col' }, 'Cases'), ...VERDICTS.map((v) => h('th', { scope: 'col' }, verdictChip(v))))),
      h('tbody', {}, gs.map(([g, cs]) => {
        const n = counts(cs);
        const row = h('tr', { class: g === selectedGroup ? 'selected' : '', 'data-group': g },
          h('th', { scope: 'row' }, h('button', { type: 'button', class: 'chk-group', 'aria-pressed': String(g === selectedGroup), title: `The cases of group ${g}` }, g)),
          h('td', {}, fmtInt(cs.length)),
          ...VERDICTS.map((v) => h('td', { class: n[v] ? `has v-${v.toLowerCase().replace(/[^a-z]/g, '')}` : 'muted' }, n[v] ? fmtInt(n[v]) : '·')));
        const pick = () => {
          selectedGroup = g;
          selectedCase = null;
          render();
        };
        // The whole row answers a click; its button, the keyboard.
        row.addEventListener('click', pick);
        return row;
      })));
    const inGroup = (gs.find(([g]) => g === selectedGroup)?.[1] ?? []).slice().sort(byId);
    const shown = onlyProblems ? inGroup.filter((c) => c.verdict !== 'OK') : inGroup;
    const filter = h('label', { class: 'check small' }, h('input', { type: 'checkbox', id: 'chk-problems', checked: onlyProblems }), ' only cases not OK');
    filter.querySelector('input').addEventListener('change', (e) => { onlyProblems = e.target.checked; render(); });
    const list = h('ul', { class: 'chk-cases', 'aria-label': `Cases of group ${selectedGroup}` }, shown.map((c) => {
      const item = h('li', {}, h('button', { type: 'button', class: `chk-case${c === selectedCase ? ' selected' : ''}`, 'data-id': c.id, 'aria-pressed': String(c === selectedCase) },
        h('span', { class: 'mono chk-id' }, c.id), verdictChip(c.verdict), h('span', { class: 'chk-desc' }, c.description)));
      item.querySelector('button').addEventListener('click', () => { selectedCase = c; render(); });
      return item;
    }));
    out.replaceChildren(head, h('div', { class: 'table-wrap' }, table),
      h('div', { class: 'chk-grid' },
        h('div', { class: 'chk-list' }, h('h3', {}, `Group ${selectedGroup ?? ''}`), filter, shown.length ? list : empty('No case here.')),
        h('div', { class: 'chk-detail', id: 'chk-detail' }, selectedCase ? shownDetail(selectedCase) : empty('Pick a case to see what was sent, what came back, and why it got its verdict.'))));
  };

  const shownDetail = (c) => {
    if (c !== detailFor) {
      detailFor = c;
      detailEl = detail(c);
    }
    return detailEl;
  };

  /** One case: the verdict and why, then every byte each way, decoded. */
  function detail(c) {
    const client = report.role === 'client';
    const peer = client ? 'client' : 'server';
    const events = (c.browser_events || []).map((e) => `${e.at} ms ${e.type}${e.detail ? ` (${e.detail})` : ''}`).join(' · ');
    const facts = h('dl', { class: 'chk-facts' },
      h('dt', {}, 'Sent'), h('dd', {}, c.description),
      h('dt', {}, 'Expected'), h('dd', {}, c.expectation),
      h('dt', {}, 'Verdict'), h('dd', {}, verdictChip(c.verdict), ' ', c.reason),
      c.close ? [h('dt', {}, 'Close'), h('dd', {}, verdictChip(c.close), ' ', c.close_reason)] : null,
      c.section ? [h('dt', {}, `Holds the ${peer} to`), h('dd', {}, sectionLink(c.section))] : null,
      'client_close' in c || 'server_close' in c
        ? [h('dt', {}, 'Close codes'), h('dd', { class: 'mono' }, client
          ? `${c.browser_events ? 'browser' : 'client'} ${closeText(c, 'client_close')} · checker ${closeText(c, 'server_close')}`
          : `checker ${closeText(c, 'client_close')} · server ${closeText(c, 'server_close')}`)]
        : null,
      events ? [h('dt', {}, 'The browser said'), h('dd', { class: 'small' }, events)] : null,
      h('dt', {}, 'Took'), h('dd', {}, `${fmtInt(c.millis)} ms`));
    const wire = h('div', { class: 'chk-wire', role: 'log', 'aria-label': `Bytes of case ${c.id}` });
    const notes = [];
    if (c.records_dropped) notes.push(h('p', { class: 'note small' }, 'The server keeps the bytes of each client’s latest case only: this case’s were not kept.'));
    if (c.records_dropped_by_page) notes.push(h('p', { class: 'note warn' }, 'This page kept no bytes for this case: the report is larger than it holds at once. Run wscope-check with --cases to make a smaller one.'));
    if (c.dropped_bytes) notes.push(h('p', { class: 'note small' }, `Only the first bytes were recorded: ${plural(c.dropped_bytes, 'more byte')} crossed (the record limit).`));
    const rows = wireRows(c);
    const violations = rows.filter((r) => r.violations).length;
    const frames = rows.filter((r) => r.frame).length;
    const summary = !frames ? null : h('p', { class: `note small ${violations ? 'bad' : 'ok'}` }, violations
      ? `${plural(violations, 'frame')} on the wire ${violations === 1 ? 'breaks' : 'break'} the RFC (marked below, with the section and the close code).`
      : frames === 1 ? 'The one frame on the wire breaks no rule the core checks.' : `None of the ${plural(frames, 'frame')} on the wire breaks a rule the core checks.`);
    let drawn = 0;
    const more = h('button', { type: 'button', class: 'chk-more' });
    const draw = () => {
      for (const r of rows.slice(drawn, drawn + ROWS_AT_ONCE)) wire.append(r.el());
      drawn = Math.min(rows.length, drawn + ROWS_AT_ONCE);
      more.hidden = drawn >= rows.length;
      more.textContent = `Show ${fmtInt(Math.min(ROWS_AT_ONCE, rows.length - drawn))} more of ${fmtInt(rows.length - drawn)}`;
    };
    more.addEventListener('click', draw);
    draw();
    return h('div', {}, h('h3', {}, `Case ${c.id}`), facts, h('h4', {}, 'Bytes both ways'), ...notes, summary, rows.length ? wire : empty('No bytes recorded.'), more);
  }

  const closeText = (c, key) => (key in c ? (c[key] === null ? 'close without a code' : String(c[key])) : 'no close frame');

  /** The case's records through the core, as rows drawn on demand. */
  function wireRows(c) {
    const view = new WireView();
    const client = report.role === 'client';
    const who = client ? (c.browser_events ? 'browser' : 'client') : 'checker';
    const clock = client ? CLIENT_CLOCK : CHECKER_CLOCK;
    const rows = [];
    for (const r of c.records || []) {
      let rec;
      try {
        rec = view.push_record(tapRecord(r));
      } catch (e) {
        rows.push({ el: () => h('p', { class: 'note bad' }, `Unreadable record: ${e.message ?? e}`) });
        continue;
      }
      const dir = rec.from === 'client' ? 'up' : 'down';
      for (const item of rec.items) {
        if (item.type === 'head') {
          // Folded when frames follow: the frames are what the case is about.
          rows.push({
            el: () => {
              const el = headRow(dir, item, rec.micros, clock);
              const fold = el.querySelector('details');
              if (fold && rows.some((r) => r.frame)) fold.open = false;
              return el;
            },
          });
        }
        else if (item.type === 'raw') rows.push({ el: () => h('p', { class: 'note warn small mono' }, `${dir === 'up' ? '↑' : '↓'} not frames: ${hexPreview(item.bytes, 48)}`) });
        else if (item.type === 'message') {
          // A compressed message: its last frame's row shows what it inflated to.
          const last = rows.findLast((r) => r.dir === dir && r.frame);
          if (last && item.message.compressed) last.message = item.message;
        } else if (item.type === 'frame') {
          const row = { dir, frame: item.frame, message: null, violations: item.frame.violations.length > 0 };
          row.el = () => {
            const el = frameRow(dir, row.frame, rec.micros, row.message, who, clock);
            if (row.violations) el.classList.add('chk-violation');
            return el;
          };
          rows.push(row);
        }
      }
    }
    return rows;
  }

  // ---- a report from a file, or one the server publishes: one case per
  // line, as wscope-check writes it.
  const openReport = async (name, body, size, whole) => {
    // A live run would add its cases to this report: it ends here.
    if (sock) stopRun();
    if (browserRun) {
      stopBrowser();
      browserRun = false;
      runBtn.disabled = !serverLimits();
    }
    fresh(name);
    status.textContent = `Reading ${name}…`;
    try {
      await readReport(body, size, whole);
      status.textContent = `${name}: ${plural(report.cases.length, 'case')}.`;
    } catch (err) {
      status.textContent = `${name} is not a wscope-check report: ${err.message ?? err}`;
      report = null;
      out.replaceChildren();
      return;
    }
    render();
  };
  $('#chk-file').addEventListener('change', (e) => {
    const file = e.target.files[0];
    if (file) openReport(file.name, file.stream(), file.size, () => file.text());
  });
  $('#chk-open-report').addEventListener('click', async () => {
    const i = $('#chk-reports').value;
    const name = published[Number(i)] ?? 'report';
    let r;
    try {
      r = await fetch(`/check/report/${i}`, { cache: 'no-store' });
    } catch (err) {
      status.textContent = `${name} could not be fetched: ${err.message ?? err}`;
      return;
    }
    if (!r.ok || !r.body) {
      status.textContent = `${name}: the server answered ${r.status}.`;
      return;
    }
    openReport(name, r.body, Infinity, null);
  });

  /** Reads `body` (a stream of the report's bytes) a line at a time; if no
   * line was a case and the file is small, `whole()` gives it all to parse
   * as one JSON value. */
  async function readReport(body, size, whole) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let rest = '';
    let lines = 0;
    const line = (text) => {
      let t = text.trim();
      if (t.startsWith(',')) t = t.slice(1);
      if (t.endsWith(',')) t = t.slice(0, -1);
      if (t.startsWith('{') && !t.endsWith('}')) {
        // The head, left open for the cases: {"target": …, "tool": …,
        let head = null;
        try {
          head = JSON.parse(`${t}}`);
        } catch {
          return; // not wscope-check's layout (pretty-printed?): see below
        }
        if (head.tool !== 'wscope-check') throw new Error('its head does not name wscope-check');
        report.target = head.target;
        report.role = head.role ?? 'server';
      } else if (t.startsWith('{') && t.endsWith('}')) {
        let c = null;
        try {
          c = JSON.parse(t);
        } catch {
          return;
        }
        if (c && c.id && c.verdict) addCase(c);
      }
      lines += 1;
    };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      // Only the new text is searched for line ends: linear in the file.
      const end = value.lastIndexOf('\n');
      if (end < 0) {
        rest += value;
      } else {
        const text = rest + value.slice(0, end);
        rest = value.slice(end + 1);
        text.split('\n').forEach(line);
      }
      if (rest.length > RECORD_BUDGET) {
        await reader.cancel();
        throw new Error(`a line longer than ${fmtInt(RECORD_BUDGET)} characters`);
      }
    }
    line(rest);
    if (!report.cases.length && whole && size < 64 * 2 ** 20) {
      // Not one case per line: the whole file as JSON.
      const all = JSON.parse(await whole());
      report.target = all.target;
      report.role = all.role ?? 'server';
      for (const c of all.cases || []) addCase(c);
    }
    if (!report.cases.length) throw new Error(`no case found in ${plural(lines, 'line')}`);
  }

  // ---- a run made by the server now. Each handler belongs to its own
  // socket: one that was stopped can no longer touch the next run.
  /** Ends the live run (if any) without a word from it. */
  const stopRun = () => {
    const ws = sock;
    sock = null;
    runBtn.disabled = false;
    stopBtn.hidden = true;
    if (ws && ws.readyState < 2) ws.close(1000);
  };
  runBtn.addEventListener('click', () => {
    if (sock) return;
    const choice = SELECTIONS[$('#chk-cases').value] ?? SELECTIONS.quick;
    const started = performance.now();
    fresh(null);
    out.replaceChildren(empty('Starting…'));
    progress.hidden = false;
    progress.value = 0;
    runBtn.disabled = true;
    stopBtn.hidden = false;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${scheme}//${location.host}/check`);
    sock = ws;
    const finish = (text) => {
      if (sock !== ws) return;
      status.textContent = text;
      stopRun();
    };
    ws.onopen = () => ws.send(JSON.stringify({ target: Number(targetSel.value), ...choice }));
    ws.onmessage = (ev) => {
      if (sock !== ws) return;
      let note;
      try {
        note = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (note.type === 'start') {
        report.target = note.target;
        report.total = note.total;
        progress.max = note.total;
        status.textContent = `Checking ${note.target}: ${plural(note.total, 'case')}…`;
      } else if (note.type === 'case') {
        addCase(note.case);
        progress.value = report.cases.length;
        const failed = report.cases.filter((c) => c.verdict === 'FAILED').length;
        status.textContent = `${fmtInt(report.cases.length)} of ${fmtInt(report.total)} · ${plural(failed, 'FAILED case')} · ${((performance.now() - started) / 1000).toFixed(0)} s`;
        render();
      } else if (note.type === 'end') {
        render();
        finish(`${note.stopped ? `Stopped: ${note.stopped}. ` : 'Done: '}${plural(report.cases.length, 'case')} in ${(note.millis / 1000).toFixed(1)} s.`);
      } else if (note.type === 'error') {
        out.replaceChildren(h('p', { class: 'note bad' }, note.message));
        finish(`Refused: ${note.message}`);
      }
    };
    ws.onclose = () => finish(report.cases.length ? `The connection to /check ended after ${plural(report.cases.length, 'case')}.` : 'The connection to /check ended.');
  });
  stopBtn.addEventListener('click', () => {
    if (!sock) return;
    stopRun();
    status.textContent = `Stopped after ${plural(report?.cases.length ?? 0, 'case')}.`;
    render();
  });

  // ---- the browser's own run (browsertest.js) shows its cases here.
  stopBrowser = setupBrowserTest({
    busy: () => sock !== null,
    begin: (target, total) => {
      fresh(target, total);
      report.role = 'client';
      browserRun = true;
      runBtn.disabled = true;
      out.replaceChildren(empty('Starting…'));
      progress.hidden = false;
      progress.max = Math.max(1, total);
      progress.value = 0;
    },
    add: (c) => {
      if (!browserRun) return;
      addCase(c);
      render();
    },
    end: (text) => {
      // A report opened meanwhile took the panel: its status stays.
      if (!browserRun) return;
      browserRun = false;
      runBtn.disabled = !serverLimits();
      status.textContent = text;
      render();
    },
  });
}
