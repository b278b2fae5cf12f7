// The limits this server runs with (GET /limits: frame and message sizes,
// inject's cap), so the panels judge bytes against what the server will
// actually accept. Without them (the page served by something else) the
// panels judge by the RFC alone and say so.

import { fmtInt } from './util.js';

let limits = null;

/** Asks the server once; `null` when it does not answer. */
export async function loadLimits() {
  try {
    const r = await fetch('/limits', { cache: 'no-store' });
    if (r.ok) limits = await r.json();
  } catch {
    limits = null;
  }
  return limits;
}

/** The server's limits, or `null`. */
export const serverLimits = () => limits;

/** The inspect/build options that apply the server's frame and message
 * limits (none when unknown). */
export const limitOptions = () => (limits ? { max_frame_size: limits.max_frame_size, max_message_size: limits.max_message_size } : {});

/** A size as people read it: 16 MiB, 1 MiB, 1,000 bytes. */
export function sizeText(n) {
  for (const [unit, size] of [['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]]) {
    if (n >= size && n % size === 0) return `${fmtInt(n / size)} ${unit}`;
  }
  return `${fmtInt(n)} bytes`;
}

/** One line naming the limits the verdicts use. */
export function limitsText() {
  return limits
    ? `this server’s limits: frames up to ${sizeText(limits.max_frame_size)}, messages up to ${sizeText(limits.max_message_size)}`
    : 'no size limit (this server did not say its limits)';
}
