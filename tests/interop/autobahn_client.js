// Node's `ws` running Autobahn's client loop against a fuzzingserver
// (Autobahn's or `wscope-check --serve`): /getCaseCount, each case echoing
// every message as it came (text as text, binary as binary) until the
// server closes, then /updateReports. `ws` at its defaults, with
// permessage-deflate offered (its default for clients).
//
//   NODE_PATH=DIR/node_modules node autobahn_client.js ws://127.0.0.1:9001 [AGENT]
'use strict';
const WebSocket = require('ws');

const base = (process.argv[2] || 'ws://127.0.0.1:9001').replace(/\/$/, '');
const agent = process.argv[3] || 'ws';

function open(path, onMessage) {
  return new Promise((resolve) => {
    const ws = new WebSocket(base + path);
    ws.on('message', (data, isBinary) => onMessage(ws, data, isBinary));
    ws.on('close', resolve);
    // A failed connection is the checker's to judge; the loop goes on.
    ws.on('error', () => {});
  });
}

async function main() {
  const started = Date.now();
  let count = 0;
  await open('/getCaseCount', (ws, data) => { count = parseInt(data.toString(), 10); });
  for (let n = 1; n <= count; n++) {
    await open(`/runCase?case=${n}&agent=${encodeURIComponent(agent)}`, (ws, data, isBinary) => {
      ws.send(data, { binary: isBinary });
    });
  }
  await open(`/updateReports?agent=${encodeURIComponent(agent)}`, () => {});
  console.log(`${agent}: ${count} cases in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

main();
