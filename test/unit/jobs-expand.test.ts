/** A job's expansion as the coordinator does it: encoded sizes, split ids and the '/' they reserve. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandJob, splitterFor, type NewTask, type TaskSource } from '../../coordinator/index.js';
import type { Kind, TaskSpec } from '../../src/kinds/types.js';
import { spinKind } from '../../src/kinds/spin/index.js';

/** A kind whose expand gives `ids` and which can split (halving cost and an integer ref). */
function fakeKind(ids: string[]): Kind<null> {
  return {
    ...spinKind,
    name: 'fake',
    checkParams: () => null,
    expand: async (): Promise<TaskSpec[]> => ids.map((id) => ({ id, cost: 8, ref: { n: 8 } })),
    expandList: undefined,
    split: (t: TaskSpec) => {
      const n = (t.ref as { n: number }).n;
      return n < 2 ? null : [{ cost: t.cost / 2, ref: { n: n / 2 } }, { cost: t.cost / 2, ref: { n: n / 2 } }];
    },
  } as unknown as Kind<null>;
}

const spec = { job: 'J', kind: 'fake', params: null };
const all = (src: TaskSource): NewTask[] => Array.from({ length: src.length }, (_, i) => src.at(i));
const cap = { slots: 2, maxAgentSlots: 2 };

test('a splittable kind may not use / in its task ids (it names split halves)', async () => {
  await assert.rejects(expandJob(spec, fakeKind(['a', 'b/1']), cap, () => {}), /task id 'b\/1' with a '\/'/);
  const ok = all(await expandJob(spec, fakeKind(['a', 'b']), cap, () => {}));
  assert.deepEqual(ok.map((t) => t.id), ['a', 'b']);
  assert.ok(ok.every((t) => t.bytes! > 0));
});

test('a kind that gives an id twice is refused, naming the id', async () => {
  await assert.rejects(expandJob(spec, fakeKind(['a', 'b', 'a']), cap, () => {}), /task id 'a' twice/);
});

test("spin's tasks follow from their numbers: ids, costs and refs as its array, and each id finds its number", async () => {
  const params = spinKind.checkParams({ tasks: 1000, ms: 3, skew: true });
  const src = await expandJob({ job: 'J', kind: 'spin', params }, spinKind as Kind<unknown>, cap, () => {});
  const arr = await spinKind.expand(params, { slots: 2, job: 'J', info: () => {} });
  assert.equal(src.length, 1000);
  for (const i of [0, 1, 7, 500, 999]) {
    assert.deepEqual({ id: src.at(i).id, cost: src.at(i).cost, ref: src.at(i).ref }, { id: arr[i]!.id, cost: arr[i]!.cost, ref: arr[i]!.ref });
    assert.equal(src.costAt(i), arr[i]!.cost);
    assert.equal(src.indexOf(arr[i]!.id), i);
  }
  // Zero-padded to the digits of the task count (1000: 4), so string order is task order.
  assert.equal(arr[7]!.id, 'spin_0007');
  assert.equal(arr[999]!.id, 'spin_0999');
  for (const id of ['spin_1000', 'spin_007', 'spin_07', 'spin_0x07', 'spin_0007/0', 'task_0007', '']) assert.equal(src.indexOf(id), -1, id);
});

test('the splitter names halves <id>/0 and <id>/1, sizes them, and is absent for kinds that cannot split', async () => {
  const [t] = all(await expandJob(spec, fakeKind(['a']), cap, () => {}));
  const split = splitterFor(spec, fakeKind(['a']))!;
  const halves = split(t!)!;
  assert.deepEqual(halves.map((h) => [h.id, h.cost, h.ref]), [['a/0', 4, { n: 4 }], ['a/1', 4, { n: 4 }]]);
  assert.ok(halves.every((h) => h.bytes! > 0));
  assert.equal(split({ ...t!, ref: { n: 1 } }), null);
  assert.equal(splitterFor({ job: 'J', kind: 'command', params: null }, null), undefined);
});
