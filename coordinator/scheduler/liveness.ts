/**
 * Agent liveness: an agent silent past agentTimeoutMs is lost and its leases are taken back;
 * a lost agent is forgotten after lostRetentionMs. A coordinator that was itself paused gives
 * the agents the time back before judging anyone.
 */
import { log, type Ctx } from './commands.js';
import type { Agent } from './agents.js';
import { answer, wake } from './dispatch.js';
import { unlease } from './leases.js';
import type { State } from './state.js';

/**
 * After a gap of `gap` ms between ticks the coordinator was paused or blocked (SIGSTOP,
 * swapping): the agents' messages could not be heard meanwhile, so each one's last sign of
 * life moves on by the gap. Then silent agents are lost and expired pulls answered empty.
 */
export function checkAgents(st: State, gap: number, ctx: Ctx): void {
  if (gap > st.opts.tickGapMs) {
    for (const a of st.agents.values()) if (a.state.s !== 'lost') a.lastSeen = Math.min(ctx.now, a.lastSeen + gap);
    ctx.out.push(log('warn', 'the coordinator was paused or blocked; agents get the time back before anyone is judged lost', { gapMs: gap, event: ctx.ev }));
  }
  prune(st, ctx.now, false);
  for (const a of st.agents.values()) {
    if (a.state.s === 'lost') continue;
    if (ctx.now - a.lastSeen > st.opts.agentTimeoutMs) {
      lose(st, a, ctx);
      continue;
    }
    if (a.pull && a.pull.until <= ctx.now) answer(st, a, [], [], ctx.out);
  }
}

/** Forgets agents lost longer than lostRetentionMs (with `all`, every lost agent: room for a new one). */
export function prune(st: State, now: number, all: boolean): void {
  for (const a of st.agents.values()) {
    if (a.state.s === 'lost' && (all || now - a.state.since > st.opts.lostRetentionMs)) st.agents.forget(a);
  }
}

/** The agent is lost: its leases go back to the queue (costing an attempt), its dispatches are void. */
export function lose(st: State, a: Agent, ctx: Ctx): void {
  st.agents.move(a, { s: 'lost', since: ctx.now });
  const n = a.leases.size;
  for (const t of [...a.leases]) unlease(st, t, a, 'lost', ctx);
  a.dispatches.clear();
  ctx.out.push(log('warn', 'agent lost; its tasks requeued', { agent: a.id, host: a.info.host, silentMs: ctx.now - a.lastSeen, requeued: n, event: ctx.ev }));
  wake(st, ctx);
}
