/**
 * While a job is prepared (its inputs read for the fingerprint, its tasks expanded, its output
 * opened, its tasks looked up in the cache), the coordinator's status says the step, and `run`
 * and `submit` say each step still under way on stderr instead of waiting silently. Here the
 * preparing record and a client against a coordinator that answers the submit only once the
 * client has said both steps (a condition, not a time).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { notRunning, Preparing } from '../../coordinator/jobs/preparing.js';
import { decode, encode, PROTOCOL_VERSION, subjects, type CtlReply, type JobStatus } from '../../protocol/index.js';
import { MemoryBus } from '../../src/bus/index.js';
import { CtlClient } from '../../src/cli/client.js';
import { until } from '../helpers/wait.js';

describe('a job being prepared', () => {
  it('status names its step and how far it has got, and forgets it once the job is in the scheduler', () => {
    const p = new Preparing();
    p.step('J', 'reading its inputs for its fingerprint', { kind: 'conformers', out: '/o/J.jsonl' });
    const [j] = p.status(undefined, new Map());
    assert.equal(j!.state, 'expanding');
    assert.deepEqual([j!.job, j!.kind, j!.out, j!.notes], ['J', 'conformers', '/o/J.jsonl', ['reading its inputs for its fingerprint']]);
    p.step('J', 'expanding its tasks');
    assert.equal(p.doing('J'), 'expanding its tasks');
    // A step that says how far it has got: asked each time status is.
    let looked = 0;
    p.step('J', 'looking its 10 tasks up in the cache /c', undefined, () => `${looked} of 10 looked up`);
    looked = 4;
    assert.deepEqual(p.notes('J'), ['looking its 10 tasks up in the cache /c', '4 of 10 looked up']);
    assert.deepEqual(p.status(undefined, new Map())[0]!.notes, ['looking its 10 tasks up in the cache /c', '4 of 10 looked up']);
    p.step('J', 'expanding its tasks');
    assert.deepEqual(p.notes('J'), ['expanding its tasks'], 'the next step has no count of its own');
    // Once it has a record, the expanding job's own status carries the step (admission.ts).
    assert.deepEqual(p.status(undefined, new Map([['J', {}]])), []);
    assert.deepEqual(p.status('K', new Map()), []);
    p.end('J');
    assert.equal(p.doing('J'), undefined);
    assert.deepEqual(p.status(undefined, new Map()), []);
  });

  it('the client says each step while the submit is under way, once each', async () => {
    const bus = new MemoryBus();
    const subj = subjects('prep');
    const said: string[] = [];
    const steps = ['reading its inputs for its fingerprint', 'reading its inputs for its fingerprint', 'looking its 4 tasks up in the cache /c'];
    let asked = 0;
    const status = (): JobStatus => notRunning({ job: 'J', kind: 'spin', out: '/o/J.jsonl', submittedAt: 0 }, 'expanding', undefined, [steps[Math.min(asked++, steps.length - 1)]!]);
    const reply = (r: CtlReply): Uint8Array => encode(r);
    const ctl = bus.subscribe(subj.ctlAll);
    void (async () => {
      for await (const m of ctl) {
        const d = decode('CtlRequest', m.data);
        if (!d.ok) continue;
        if (d.msg.kind === 'status') m.respond(reply({ kind: 'status', v: PROTOCOL_VERSION, now: 0, jobs: [status()], agents: [] }));
        if (d.msg.kind === 'submit') {
          // Answered once both steps were said.
          void until('both steps said', () => said.length === 2).then(() => m.respond(reply({ kind: 'submitted', v: PROTOCOL_VERSION, job: 'J', tasks: 4, alreadyDone: 0, out: '/o/J.jsonl' })));
        }
      }
    })();
    const client = new CtlClient(bus, subj, 'prep');
    const sub = await client.submitSaying({ job: 'J', kind: 'spin', params: {} }, (l) => said.push(l), { afterMs: 0, everyMs: 10 });
    assert.equal(sub.job, 'J');
    assert.deepEqual(said, ['job J: reading its inputs for its fingerprint...', 'job J: looking its 4 tasks up in the cache /c...']);
    ctl.unsubscribe();
    await bus.close();
  });
});
