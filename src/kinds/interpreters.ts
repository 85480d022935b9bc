/**
 * Processes a kind keeps alive between tasks (the python kind's interpreters) hold memory the
 * agent must count. The worker thread that starts one says so here, with its pid and job; the
 * agent's main thread listens (agents/interpreters.ts), measures it from /proc while it lives
 * and stops counting it when it is gone, so no message is needed when one ends.
 *
 * A BroadcastChannel reaches the main thread from any worker thread without wiring through the
 * pool; the message names the thread, so an agent counts only its own pool's processes.
 */
import { BroadcastChannel, threadId } from 'node:worker_threads';

const CHANNEL = 'shoal.interpreters';

/** An interpreter that has started (setup done) on worker thread `thread`. */
export interface InterpreterStarted {
  pid: number;
  job: string;
  thread: number;
}

let channel: BroadcastChannel | null = null;

/** Says that this thread has started an interpreter of `job` (called once it is ready). */
export function interpreterStarted(pid: number, job: string): void {
  if (channel === null) {
    channel = new BroadcastChannel(CHANNEL);
    // An open channel must not keep a thread (or the process) alive.
    channel.unref();
  }
  channel.postMessage({ pid, job, thread: threadId } satisfies InterpreterStarted);
}

/** Calls `on` for each interpreter started in this process from now on; returns the stop. */
export function watchInterpreters(on: (e: InterpreterStarted) => void): () => void {
  const ch = new BroadcastChannel(CHANNEL);
  ch.unref();
  ch.onmessage = (m) => {
    const e = (m as MessageEvent).data as Partial<InterpreterStarted> | null;
    if (e && typeof e.pid === 'number' && typeof e.job === 'string' && typeof e.thread === 'number') on(e as InterpreterStarted);
  };
  return () => ch.close();
}
