/** A job's expansion as the coordinator does it: encoded sizes, split ids and the '/' they reserve. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandJob, splitterFor } from '../../coordinator/index.js';
import type { Kind, TaskSpec } from '../../src/kinds/types.js';
import { spinKind } from '../../src/kinds/spin/index.js';

/** A kind whose expand gives `ids` and which can split (halving cost and an integer ref). */
function fakeKind(ids: string[]): Kind<null> {
  return {
    ...spinKind,
    name: 'fake',
    checkParams: () => null,
    expand: async (): Promise<TaskSpec[]> => ids.map((id) => ({ id, cost: 8, ref: { n: 8 } })),
    split: (t: TaskSpec) => {
      const n = (t.ref as { n: number }).n;
      return n < 2 ? null : [{ cost: t.cost / 2, ref: { n: n / 2 } }, { cost: t.cost / 2, ref: { n: n / 2 } }];
    },
  } as unknown as Kind<null>;
}

const spec = { job: 'J', kind: 'fake', params: null };
const cap = { slots: 2, maxAgentSlots: 2 };

test('a splittable kind may not use / in its task ids (it names split halves)', async () => {
  await assert.rejects(expandJob(spec, fakeKind(['a', 'b/1']), cap, () => {}), /task id 'b\/1' with a '\/'/);
  const ok = await expandJob(spec, fakeKind(['a', 'b']), cap, () => {});
  assert.deepEqual(ok.map((t) => t.id), ['a', 'b']);
  assert.ok(ok.every((t) => t.bytes! > 0));
});

test('the splitter names halves <id>/0 and <id>/1, sizes them, and is absent for kinds that cannot split', async () => {
  const [t] = await expandJob(spec, fakeKind(['a']), cap, () => {});
  const split = splitterFor(spec, fakeKind(['a']))!;
  const halves = split(t!)!;
  assert.deepEqual(halves.map((h) => [h.id, h.cost, h.ref]), [['a/0', 4, { n: 4 }], ['a/1', 4, { n: 4 }]]);
  assert.ok(halves.every((h) => h.bytes! > 0));
  assert.equal(split({ ...t!, ref: { n: 1 } }), null);
  assert.equal(splitterFor({ job: 'J', kind: 'command', params: null }, null), undefined);
});
