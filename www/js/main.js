// wscope explorer: loads the wasm core, then wires up the seven panels.

import init from '../pkg/wscope_wasm.js';
import { installFieldHighlight } from './util.js';
import { setupHandshake } from './handshake.js';
import { setupBuilder } from './builder.js';
import { setupInspector } from './inspector.js';
import { setupLive } from './live.js';
import { setupInject } from './inject.js';
import { setupCheck } from './check.js';
import { setupSessions } from './sessions.js';
import { loadLimits } from './limits.js';

async function main() {
  try {
    await init();
  } catch (e) {
    const banner = document.getElementById('load-error');
    banner.hidden = false;
    banner.textContent = `The protocol core (WebAssembly) did not load: ${e.message}. Build it with “cargo xtask run” (it builds www/pkg first).`;
    return;
  }
  await loadLimits();
  installFieldHighlight(document.body);
  setupHandshake();
  const inspector = setupInspector();
  let inject = null;
  const builder = setupBuilder({
    toInspector: (bytes, who, deflate) => inspector.load(bytes, who, deflate),
    toInject: (bytes, options) => inject.load(bytes, options),
  });
  inject = setupInject({ builderBytes: () => builder.bytes(), builderCompressed: () => builder.compressed() });
  setupLive();
  setupCheck();
  setupSessions();
  setupNav();
  document.body.classList.add('ready');
}

/** Marks the nav link of the panel in view. */
function setupNav() {
  const links = new Map([...document.querySelectorAll('.nav a[href^="#"]')].map((a) => [a.getAttribute('href').slice(1), a]));
  const seen = new Map();
  const obs = new IntersectionObserver((entries) => {
    for (const e of entries) seen.set(e.target.id, e.isIntersecting ? e.intersectionRatio : 0);
    let best = null;
    let bestRatio = 0;
    for (const [id, r] of seen) {
      if (r > bestRatio) {
        best = id;
        bestRatio = r;
      }
    }
    for (const [id, a] of links) {
      if (id === best) a.setAttribute('aria-current', 'true');
      else a.removeAttribute('aria-current');
    }
  }, { rootMargin: '-56px 0px -40% 0px', threshold: [0, 0.1, 0.25, 0.5, 0.75, 1] });
  for (const id of links.keys()) {
    const sec = document.getElementById(id);
    if (sec) obs.observe(sec);
  }
}

main();
