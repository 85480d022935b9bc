/**
 * The notes a waiting command prints (src/cli/wait-notes.ts), driven by statuses and a clock of
 * the test's own: a cause is said once it has lasted its moment, once only, and its end is said.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AgentStatus, JobStatus } from '../../protocol/index.js';
import { agentHint, NOTE_AFTER_MS, WaitNotes } from '../../src/cli/wait-notes.js';

function job(o: Partial<JobStatus> = {}): JobStatus {
  return { job: 'J', kind: 'k', state: 'running', total: 3, done: 0, failed: 0, running: 0, queued: 3, retried: 0, speculated: 0, rate: 0, etaS: null, startedAt: 0, endedAt: null, out: '/o/J.jsonl', notes: [], ...o };
}

function agent(state = 'active'): AgentStatus {
  return { agent: 'a', host: 'h', state, slots: 1, busy: 0, memory: 0, done: 0, lastSeenMs: 0, spot: false };
}

/** A WaitNotes on a clock the test moves, and the lines it said. */
function notes(): { n: WaitNotes; said: string[]; at(t: number): void } {
  let now = 0;
  const said: string[] = [];
  return { n: new WaitNotes((l) => said.push(l), agentHint('nats://h:4222', 'lab'), () => now), said, at: (t) => (now = t) };
}

describe('wait notes', () => {
  it('say that no agent can run the kind once it has lasted a moment, once, and that it is over', () => {
    const { n, said, at } = notes();
    const why = "no connected agent has a handler for kind 'k': ...";
    n.update(job({ unrunnable: why }), [agent()]);
    at(NOTE_AFTER_MS.unrunnable - 1);
    n.update(job({ unrunnable: why }), [agent()]);
    assert.deepEqual(said, [], 'not before its moment: an agent with the handler may be joining');
    at(NOTE_AFTER_MS.unrunnable);
    n.update(job({ unrunnable: why }), [agent()]);
    at(NOTE_AFTER_MS.unrunnable * 5);
    n.update(job({ unrunnable: why }), [agent()]);
    assert.deepEqual(said, [`job J: ${why}; still waiting`]);
    n.update(job({ running: 1, queued: 2 }), [agent(), agent()]);
    assert.deepEqual(said.slice(1), ['job J: an agent that can run it is connected now']);
  });

  it('say that no agent is connected, with how to start one, and nothing while one is', () => {
    const { n, said, at } = notes();
    n.update(job(), []);
    at(NOTE_AFTER_MS.noAgent);
    n.update(job(), [agent('lost')]);
    assert.deepEqual(said, ['job J: no agent is connected to run its tasks; start one with `shoal agent --nats nats://h:4222 --ns lab`; still waiting']);

    const quiet = notes();
    quiet.n.update(job(), [agent()]);
    quiet.at(NOTE_AFTER_MS.noAgent * 2);
    quiet.n.update(job(), [agent()]);
    assert.deepEqual(quiet.said, []);
  });

  it('a cause that comes and goes within its moment is never said; a job waiting for others (--after) needs no agent yet', () => {
    const { n, said, at } = notes();
    n.update(job(), []);
    at(NOTE_AFTER_MS.noAgent - 1);
    n.update(job(), [agent()]);
    at(NOTE_AFTER_MS.noAgent * 2);
    n.update(job(), [agent()]);
    n.update(job({ waitingFor: ['U'] }), []);
    at(NOTE_AFTER_MS.noAgent * 4);
    n.update(job({ waitingFor: ['U'] }), []);
    assert.deepEqual(said, []);
  });

  it('a job that ends is not said to run on', () => {
    const { n, said, at } = notes();
    n.update(job(), []);
    at(NOTE_AFTER_MS.noAgent);
    n.update(job(), []);
    n.update(job({ state: 'cancelled', queued: 0 }), []);
    assert.equal(said.length, 1, said.join('\n'));
  });

  it('a job that an agent ran to its end between two statuses says the wait is over', () => {
    const { n, said, at } = notes();
    n.update(job(), []);
    at(NOTE_AFTER_MS.noAgent);
    n.update(job(), []);
    n.update(job({ state: 'done', queued: 0, done: 3 }), [agent()]);
    assert.equal(said.length, 2, said.join('\n'));
    assert.equal(said[1], 'job J: an agent that can run it is connected now');
  });

  it('the hint leaves out the default namespace and names a URL to fill in when there is none', () => {
    assert.equal(agentHint(undefined, 'default'), 'shoal agent --nats URL');
  });
});
