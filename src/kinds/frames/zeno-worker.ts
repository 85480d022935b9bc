/**
 * Entry of a zeno helper thread (started by zeno-threads.ts; never imported). It waits for
 * `run` messages, claims blocks until none are left and answers `done`.
 */
import { parentPort } from 'node:worker_threads';
import { Xoshiro128 } from './rng.js';
import { claimBlocks, type ZenoHelperMessage, type ZenoRunMessage } from './zeno-threads.js';

if (parentPort !== null) {
  const port = parentPort;
  const rng = new Xoshiro128();
  port.on('message', (m: ZenoRunMessage) => {
    if (m?.kind !== 'run') return;
    let reply: ZenoHelperMessage;
    try {
      reply = { kind: 'done', id: m.id, blocks: claimBlocks(m, rng) };
    } catch (err) {
      reply = { kind: 'failed', id: m.id, message: err instanceof Error ? err.message : String(err) };
    }
    port.postMessage(reply);
  });
}
