// Panel 3: the inspector. Pasted bytes are decoded by the core, which lists
// every frame, every assembled message and every rule broken.

import { inspect, read_bytes } from '../pkg/wscope_wasm.js';
import { h, $, toHex, fmtInt, plural, setInput, empty } from './util.js';
import { frameCard, messageList, violationItem } from './frameview.js';
import { onDumpWidthChange } from './hexdump.js';
import { serverLimits, limitOptions, limitsText } from './limits.js';

const seq256 = toHex(Uint8Array.from({ length: 256 }, (_, i) => i));

/** Examples: bytes, who sent them and, for compressed ones, the
 * permessage-deflate setting. The first five are RFC 6455 §5.7's, the
 * compressed ones RFC 7692 §7.2.3's. */
const EXAMPLES = {
  'deflate-hello': ['c1 07 f2 48 cd c9 c9 07 00', 'server', 'on'],
  'deflate-fragmented': ['41 03 f2 48 cd\n80 04 c9 c9 07 00', 'server', 'on'],
  'deflate-context': ['c1 07 f2 48 cd c9 c9 07 00\nc1 05 f2 00 11 00 00', 'server', 'on'],
  'deflate-rsv1-continuation': ['41 03 f2 48 cd\nc0 04 c9 c9 07 00', 'server', 'on'],
  'rfc-text': ['81 05 48 65 6c 6c 6f', 'server'],
  'rfc-masked': ['81 85 37 fa 21 3d 7f 9f 4d 51 58', 'client'],
  'rfc-fragmented': ['01 03 48 65 6c\n80 02 6c 6f', 'server'],
  'rfc-ping-pong': ['89 05 48 65 6c 6c 6f\n8a 85 37 fa 21 3d 7f 9f 4d 51 58', 'unknown'],
  'rfc-256': [`82 7e 01 00\n${seq256}`, 'server'],
  'unmasked-client': ['81 02 68 69', 'client'],
  'ping-between': ['01 03 48 65 6c\n89 00\n80 02 6c 6f', 'server'],
  broken: ['73 00\n09 00\n88 01 03\n81 02 c3 28', 'server'],
  cut: ['81 85 37 fa 21 3d 7f 9f 4d\n81 fe 00', 'client'],
};

const MAX_CARDS = 100;

export function setupInspector() {
  const input = $('#in-input');
  const sender = $('#in-sender');
  const view = $('#in-view');
  const deflateSel = $('#in-deflate');
  const deflateOption = () => ({
    off: undefined,
    on: true,
    'no-context': { server_no_context_takeover: true, client_no_context_takeover: true },
  })[deflateSel.value];
  const out = $('#in-output');
  const limitsSel = $('#in-limits');
  if (!serverLimits()) {
    limitsSel.value = 'none';
    limitsSel.querySelector('option[value="server"]').disabled = true;
  }
  // The verdict, for screen readers: one live region that stays in place
  // while the output is redrawn.
  const announce = $('#in-announce');

  const render = () => {
    const text = input.value;
    out.replaceChildren();
    if (!text.trim()) {
      out.append(empty('Paste bytes above (hex like “81 05 48 65 6c 6c 6f”, or base64), or pick an example. Every frame is decoded, even broken or cut ones.'));
      return;
    }
    let bytes;
    let readAs;
    try {
      ({ bytes, read_as: readAs } = read_bytes(text, 'auto'));
    } catch (e) {
      out.append(h('p', { class: 'note bad', id: 'in-read-error' }, `These are not bytes: ${e.message}.`));
      announce.textContent = out.lastChild.textContent;
      return;
    }
    const useLimits = limitsSel.value === 'server';
    const r = inspect(bytes, { sender: sender.value, deflate: deflateOption(), ...(useLimits ? limitOptions() : {}) });
    const v = view.value;
    const complete = r.frames.filter((f) => f.complete).length;
    // With the sender unknown, masking is not judged: what each side's
    // peer would object to is said beside the count.
    const eitherBad = r.either.some((e) => e.violation_count > 0);
    out.append(h('p', { class: `note ${r.violation_count ? 'bad' : eitherBad ? 'warn' : 'ok'}`, id: 'in-status' },
      h('strong', {}, `${plural(bytes.length, 'byte')}`),
      h('span', { class: 'muted', id: 'in-read-as' }, ` (read as ${readAs}${readAs === 'hex dump' ? ': offsets and text column left out' : ''})`),
      h('strong', {}, `: ${plural(r.frames.length, 'frame')}`),
      r.frames.length !== complete ? ` (${r.frames.length - complete} incomplete)` : '',
      `, ${plural(r.messages.length, 'message')}, `,
      h('strong', {}, plural(r.violation_count, 'violation')),
      r.violation_count ? ` (the first one is where ${r.receiver === 'unknown' ? 'a receiver' : `a ${r.receiver}`} would fail the connection)` : '',
      r.either.length ? ' whichever side sent them, masking aside (it is judged only with the sender known):' : '.'));
    if (r.either.length) {
      out.append(h('ul', { class: 'either', id: 'in-either' }, r.either.map((e) => h('li', { 'data-sender': e.sender },
        h('strong', {}, `If a ${e.sender} sent these bytes: `),
        e.first
          ? h('span', {}, `the ${e.receiver} fails the connection at frame ${e.first.frame + 1}`,
            e.violation_count > 1 ? ` (${plural(e.violation_count, 'violation')} in all)` : '', ':',
            h('ul', { class: 'violations' }, violationItem(e.first.violation)))
          : `a ${e.receiver} accepts them.`))));
    }
    announce.textContent = [...out.children].map((el) => el.textContent).join(' ');
    out.append(h('p', { class: 'small muted', id: 'in-limits-used' }, `Sizes judged with ${useLimits ? limitsText() : 'no size limit: the RFC’s rules only'}.`));

    if (r.frames.length) {
      const list = h('div', { class: 'frame-list' });
      r.frames.slice(0, MAX_CARDS).forEach((f) => list.append(frameCard(f, { cls: 'in-frame', view: v })));
      if (r.frames.length > MAX_CARDS) list.append(h('p', { class: 'muted' }, `… and ${fmtInt(r.frames.length - MAX_CARDS)} more frames (not drawn).`));
      out.append(h('h3', {}, 'Frames'), list);
    }
    if (r.partial_header) {
      const p = r.partial_header;
      out.append(h('p', { class: 'note warn partial-header' },
        h('strong', {}, 'Partial header'), ` at offset ${fmtInt(p.offset)}: the bytes stop inside a frame header. ${plural(p.have, 'byte')} present (${toHex(bytes.subarray(p.offset))}), at least ${plural(p.needed, 'more byte')} needed.`));
    }
    if (r.stopped_at !== null && r.stopped_at !== undefined) {
      out.append(h('p', { class: 'note warn' }, `Stopped at byte ${fmtInt(r.stopped_at)}: the frame limit was reached; the rest is not decoded.`));
    }
    out.append(h('h3', {}, 'Messages'), r.messages.length
      ? messageList(r.messages, v)
      : empty('No data message: messages are assembled from Text/Binary frames and their continuations.'));
  };

  input.addEventListener('input', render);
  input.addEventListener('change', render);
  sender.addEventListener('change', render);
  deflateSel.addEventListener('change', render);
  limitsSel.addEventListener('change', render);
  view.addEventListener('change', render);
  for (const b of document.querySelectorAll('[data-in-example]')) {
    b.addEventListener('click', () => {
      const [bytes, who, deflate] = EXAMPLES[b.dataset.inExample];
      sender.value = who;
      deflateSel.value = deflate ?? 'off';
      setInput(input, bytes);
    });
  }
  render();
  onDumpWidthChange(render);

  return {
    /** Loads bytes from another panel. */
    load(bytes, who, deflate = 'off') {
      sender.value = who;
      deflateSel.value = deflate;
      setInput(input, toHex(bytes));
      $('#inspector').scrollIntoView({ behavior: 'smooth', block: 'start' });
      input.focus({ preventScroll: true });
    },
  };
}
