/**
 * A job that no connected agent may run: status says so in one line (the kind, what the agents
 * offer, what to do) while it lasts, and not when an agent that may run it is there, when no
 * agent is connected at all, or once the job has ended.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JobStatus } from '../../protocol/index.js';
import type { Scheduler } from '../../coordinator/index.js';
import { agentInfo, newScheduler, submit, tasks } from '../helpers/sched.js';

const job = (s: Scheduler, name: string, now = 0): JobStatus => s.status(now, name).jobs[0]!;

describe('a job no connected agent can run', () => {
  it('is said so, naming the kind, what the agents offer and --handlers, until an agent with its handler joins', () => {
    const s = newScheduler();
    submit(s, 'H', tasks(3), { kind: 'nosuchkind', builtin: false });
    assert.equal(job(s, 'H').unrunnable, undefined, 'no agent connected yet: one may still come');
    s.onHello('a', agentInfo(), [], 0);
    const j = job(s, 'H');
    assert.match(j.unrunnable ?? '', /kind 'nosuchkind'/);
    assert.match(j.unrunnable ?? '', /agent a offers only the built-in kinds/);
    assert.match(j.unrunnable ?? '', /--handlers MODULE/);
    assert.equal(j.notes[0], j.unrunnable, 'status shows it among the notes, first');

    s.onHello('b', agentInfo({ kinds: ['word-stats', 'sha256'] }), [], 0);
    assert.match(job(s, 'H').unrunnable ?? '', /the 2 connected agents offer the built-in kinds and 'sha256', 'word-stats'/);

    s.onHello('c', agentInfo({ kinds: ['nosuchkind'] }), [], 0);
    const later = job(s, 'H');
    assert.equal(later.unrunnable, undefined);
    assert.ok(!later.notes.some((n) => n.startsWith('no connected agent')), JSON.stringify(later.notes));
    s.check();
  });

  it('counts only active agents: one that drains, or is lost, runs nothing more', () => {
    const s = newScheduler({ agentTimeoutMs: 1000 });
    submit(s, 'H', tasks(2), { kind: 'mine', builtin: false });
    s.onHello('with', agentInfo({ kinds: ['mine'] }), [], 0);
    s.onHello('without', agentInfo(), [], 0);
    assert.equal(job(s, 'H').unrunnable, undefined);
    s.onDrain('with', null, 0);
    assert.match(job(s, 'H').unrunnable ?? '', /agent without offers only the built-in kinds/);
    s.check();

    const t = newScheduler({ agentTimeoutMs: 1000 });
    submit(t, 'H', tasks(2), { kind: 'mine', builtin: false });
    t.onHello('with', agentInfo({ kinds: ['mine'] }), [], 0);
    const without = t.onHello('without', agentInfo(), [], 0);
    t.onHeartbeat('without', without.epoch, 0, 0, false, 900);
    t.onTick(1500);
    assert.equal(t.status(1500).agents.find((a) => a.agent === 'with')?.state, 'lost');
    assert.match(job(t, 'H', 1500).unrunnable ?? '', /agent without offers only the built-in kinds/);
    t.check();
  });

  it('a command job with no agent started with --allow-command names that flag', () => {
    const s = newScheduler();
    submit(s, 'C', tasks(1), { kind: 'command', needsCommand: true });
    s.onHello('a', agentInfo(), [], 0);
    s.onHello('b', agentInfo({ kinds: ['x'] }), [], 0);
    assert.match(job(s, 'C').unrunnable ?? '', /no connected agent runs command tasks: all 2 connected agents were started without --allow-command/);
    s.onHello('c', agentInfo({ allowCommand: true }), [], 0);
    assert.equal(job(s, 'C').unrunnable, undefined);
  });

  it('a built-in job that any agent runs, or a job that has ended, has none', () => {
    const s = newScheduler();
    submit(s, 'B', tasks(1));
    submit(s, 'H', tasks(1), { kind: 'mine', builtin: false });
    s.onHello('a', agentInfo(), [], 0);
    assert.equal(job(s, 'B').unrunnable, undefined);
    assert.ok(job(s, 'H').unrunnable);
    s.onCancel('H', 1);
    assert.equal(job(s, 'H', 1).unrunnable, undefined);
  });
});
