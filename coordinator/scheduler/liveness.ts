/**
 * Agent liveness: an agent silent past agentTimeoutMs is lost and its leases are taken back,
 * unless it was draining and holds none: then it has left (a drain ends with the agent's exit).
 * An agent that says goodbye (its last heartbeat, as it exits after a drain) leaves at once.
 * A lost agent is forgotten after lostRetentionMs, one that left after leftRetentionMs. A
 * coordinator that was itself paused gives the agents the time back before judging anyone.
 */
import { log, type Ctx } from './commands.js';
import { present, type Agent } from './agents.js';
import { answer, wake } from './dispatch.js';
import { unlease } from './leases.js';
import type { State } from './state.js';

/**
 * After a gap of `gap` ms between ticks the coordinator was paused or blocked (SIGSTOP,
 * swapping): the agents' messages could not be heard meanwhile, so each one's last sign of
 * life moves on by the gap. Then silent agents are lost (or have left) and expired pulls
 * answered empty.
 */
export function checkAgents(st: State, gap: number, ctx: Ctx): void {
  if (gap > st.opts.tickGapMs) {
    for (const a of st.agents.values()) if (present(a)) a.lastSeen = Math.min(ctx.now, a.lastSeen + gap);
    ctx.out.push(log('warn', 'the coordinator was paused or blocked; agents get the time back before anyone is judged lost', { gapMs: gap, event: ctx.ev }));
  }
  prune(st, ctx.now, false);
  for (const a of st.agents.values()) {
    if (!present(a)) continue;
    if (ctx.now - a.lastSeen > st.opts.agentTimeoutMs) {
      if (a.state.s === 'draining' && a.leases.size === 0) leave(st, a, ctx);
      else lose(st, a, ctx);
      continue;
    }
    if (a.pull && a.pull.until <= ctx.now) answer(st, a, [], [], ctx.out);
  }
}

/**
 * Forgets agents lost longer than lostRetentionMs and agents that left longer than
 * leftRetentionMs (with `all`, every one of them: room for a new one).
 */
export function prune(st: State, now: number, all: boolean): void {
  for (const a of st.agents.values()) {
    const s = a.state;
    if (s.s !== 'lost' && s.s !== 'left') continue;
    const keep = s.s === 'lost' ? st.opts.lostRetentionMs : st.opts.leftRetentionMs;
    if (all || now - s.since > keep) st.agents.forget(a);
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

/** A draining agent that holds no lease fell silent, or said goodbye: it has left (drained and exited); nothing is taken back. */
export function leave(st: State, a: Agent, ctx: Ctx): void {
  st.agents.move(a, { s: 'left', since: ctx.now });
  a.dispatches.clear();
  ctx.out.push(log('info', 'agent left after draining', { agent: a.id, host: a.info.host, done: a.done, event: ctx.ev }));
}
