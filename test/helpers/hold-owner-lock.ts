/**
 * A process that takes an owner lock and holds it, for test/unit/owner-lock.test.ts.
 *
 *   node dist/test/helpers/hold-owner-lock.js '{"target":DIR,"kind":"dir","staleMs":2000,"sigterm":"once"}'
 *
 * Prints JSON lines: {"held": OwnerInfo}, or {"refused": {code, message}} and exits 3; later
 * {"lost": message} if the lock is lost. With `sigterm` 'on' or 'once', its own SIGTERM handler
 * (registered before the lock is taken) prints {"sigterm": true}, releases the lock and exits 0.
 * On stdin, a line `release` releases the lock, prints {"released": true} and exits 0; a line
 * `exit` exits 0 without releasing.
 */
import { createInterface } from 'node:readline';
import { acquireOwnerLock, type OwnerLock } from '../../src/owner-lock.js';
import { ShoalError } from '../../src/errors.js';

interface Args {
  target: string;
  kind: 'dir' | 'file';
  role?: string;
  staleMs?: number;
  sigterm?: 'on' | 'once' | 'none';
}

const a = JSON.parse(process.argv[2] ?? '{}') as Args;
const say = (o: unknown): void => void process.stdout.write(`${JSON.stringify(o)}\n`);

// Like a coordinator's drain, the handler finishes asynchronously: the process must outlive the signal.
const onSigterm = (): void => {
  say({ sigterm: true });
  void lock.release().then(() => process.exit(0));
};
if (a.sigterm === 'on') process.on('SIGTERM', onSigterm);
if (a.sigterm === 'once') process.once('SIGTERM', onSigterm);

let lock: OwnerLock;
try {
  lock = await acquireOwnerLock(a.target, {
    kind: a.kind,
    role: a.role ?? 'run',
    ...(a.staleMs !== undefined ? { staleMs: a.staleMs } : {}),
    onLost: (err) => say({ lost: err.message, code: err.code }),
  });
} catch (err) {
  say({ refused: { code: err instanceof ShoalError ? err.code : undefined, message: (err as Error).message } });
  process.exit(3);
}
say({ held: lock.info });

// stdin keeps the process alive (the lease timers are unref'd); its end means the test is gone.
const rl = createInterface({ input: process.stdin });
rl.on('line', (l) => {
  if (l.trim() === 'exit') process.exit(0); // without release: the exit hooks clean up
  if (l.trim() !== 'release') return;
  void lock.release().then(() => {
    say({ released: true });
    process.exit(0);
  });
});
rl.on('close', () => process.exit(0));
