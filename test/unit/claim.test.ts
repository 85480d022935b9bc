/**
 * One coordinator per namespace, on the in-process bus: a second claim is refused naming the
 * owner; two that start at the same moment settle on the earlier one; an agent that is
 * welcomed by two coordinators in turn sees it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBus } from '../../src/bus/index.js';
import { subjects, type CoordinatorId } from '../../protocol/index.js';
import { silentLogger } from '../../src/log.js';
import { NamespaceClaim } from '../../coordinator/claim.js';
import { CoordinatorWatch } from '../../agents/coordinators.js';

const id = (boot: string, since: number): CoordinatorId => ({ boot, host: `host-${boot}`, pid: since, since, outDir: `/out/${boot}` });

describe('namespace claim', () => {
  it('a second coordinator is refused naming the first; after the first closes, the namespace is free', async () => {
    const bus = new MemoryBus();
    const subj = subjects('ns1');
    const first = new NamespaceClaim(bus, subj, 'ns1', id('a', 1000), silentLogger(), () => assert.fail('the owner must not step back'));
    await first.take();
    const second = new NamespaceClaim(bus, subj, 'ns1', id('b', 2000), silentLogger(), () => undefined);
    await assert.rejects(second.take(), (err: Error & { code?: string }) => err.code === 'E_REFUSED' && /pid 1000 on host-a since 1970-01-01T00:00:01.000Z/.test(err.message));
    first.close();
    await second.take();
    second.close();
    await bus.close();
  });

  it('two that start together: the later steps back, the earlier keeps the namespace', async () => {
    const bus = new MemoryBus();
    const subj = subjects('ns2');
    const conflicts: string[] = [];
    // Both asked before either listened (a race the question alone cannot settle).
    const early = new NamespaceClaim(bus, subj, 'ns2', id('a', 1000), silentLogger(), (m) => conflicts.push(`a: ${m}`));
    const late = new NamespaceClaim(bus, subj, 'ns2', id('b', 2000), silentLogger(), (m) => conflicts.push(`b: ${m}`));
    await Promise.all([early.take(), late.take()]);
    for (let i = 0; i < 100 && conflicts.length === 0; i++) await new Promise((r) => setImmediate(r));
    assert.equal(conflicts.length, 1, JSON.stringify(conflicts));
    assert.match(conflicts[0]!, /^b: namespace 'ns2' already has a coordinator: pid 1000 on host-a/);
    early.close();
    late.close();
    await bus.close();
  });
});

describe('an agent between coordinators', () => {
  it('a restart (a new boot, for good) is fine; two boots welcoming in turn are two coordinators', () => {
    const w = new CoordinatorWatch();
    assert.equal(w.welcomed(id('a', 1), 0), null);
    assert.equal(w.welcomed(id('a', 1), 10), null);
    assert.equal(w.welcomed(id('b', 2), 20), null, 'a coordinator restarted');
    assert.equal(w.welcomed(id('b', 2), 30), null);
    const w2 = new CoordinatorWatch();
    w2.welcomed(id('a', 1), 0);
    w2.welcomed(id('b', 2), 100);
    assert.match(w2.welcomed(id('a', 1), 200) ?? '', /two coordinators answer on this namespace: pid 1 on host-a .*, and pid 2 on host-b/);
    // Back to an old boot much later is a restart of that one, not two at once.
    const w3 = new CoordinatorWatch();
    w3.welcomed(id('a', 1), 0);
    w3.welcomed(id('b', 2), 100);
    assert.equal(w3.welcomed(id('a', 1), 100 + 61_000), null);
  });
});
