/**
 * The layout of `shoal status`'s jobs as a tree (status-tree.ts): chains, fan-out, diamonds, an
 * upstream missing from the list, `from` and `after` mixed, and links that loop (bad data) drawn
 * once each without the walk going round; and the live view (`--watch`) drawing the same tree.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobStatus } from '../../protocol/index.js';
import { remarks, shownState, statusTree, type TreeRow } from '../../src/cli/status-tree.js';
import { plainLines, renderFrame } from '../../src/cli/watch.js';

/** A running job's status with the links given. */
function job(name: string, links: { from?: string; after?: string[] } = {}, extra: Partial<JobStatus> = {}): JobStatus {
  return {
    job: name,
    kind: 'spin',
    state: 'running',
    total: 10,
    done: 3,
    failed: 0,
    running: 1,
    queued: 6,
    retried: 0,
    speculated: 0,
    rate: 1,
    etaS: 7,
    startedAt: 0,
    endedAt: null,
    out: `${name}.jsonl`,
    notes: [],
    ...links,
    ...extra,
  };
}

/** The rows as `prefix + name` lines, the way the table's JOB column shows them. */
const drawn = (rows: TreeRow[]): string[] => rows.map((r) => r.prefix + r.job.job);

test('jobs without links are roots in the order given, with no glyphs', () => {
  const rows = statusTree([job('b'), job('a'), job('c')]);
  assert.deepEqual(drawn(rows), ['b', 'a', 'c']);
  assert.deepEqual(
    rows.map((r) => [r.depth, r.parent, r.indent, r.others]),
    [
      [0, null, '   ', []],
      [0, null, '   ', []],
      [0, null, '   ', []],
    ],
  );
  assert.deepEqual(statusTree([]), []);
});

test('a chain: B takes its rows from A, C waits for B; each is drawn under its upstream', () => {
  const rows = statusTree([job('A'), job('B', { from: 'A' }), job('C', { after: ['B'] })]);
  assert.deepEqual(drawn(rows), ['A', '└─ B', '   └─ C']);
  assert.deepEqual(
    rows.map((r) => [r.depth, r.parent]),
    [
      [0, null],
      [1, 'A'],
      [2, 'B'],
    ],
  );
  // A job's further lines start three columns in from its name; one with jobs under it carries the branch down to them.
  assert.deepEqual(
    rows.map((r) => r.indent),
    ['│  ', '   │  ', '         '],
  );
});

test('a job listed before its upstream is still drawn under it', () => {
  assert.deepEqual(drawn(statusTree([job('B', { from: 'A' }), job('A'), job('X')])), ['A', '└─ B', 'X']);
});

test('fan-out: siblings in the order given, the last one closing the branch; grandchildren under a middle child keep its line', () => {
  const rows = statusTree([job('A'), job('B', { from: 'A' }), job('C', { after: ['A'] }), job('D', { from: 'A' }), job('B1', { from: 'B' }), job('Z')]);
  assert.deepEqual(drawn(rows), ['A', '├─ B', '│  └─ B1', '├─ C', '└─ D', 'Z']);
  const b = rows.find((r) => r.job.job === 'B')!;
  assert.equal(b.indent, '│  │  ');
  const b1 = rows.find((r) => r.job.job === 'B1')!;
  assert.equal(b1.indent, '│        ');
  assert.equal(rows.find((r) => r.job.job === 'D')!.indent, '      ');
});

test('a diamond: the job waiting for two is drawn once, under the first, and notes the other', () => {
  const rows = statusTree([job('A'), job('B', { from: 'A' }), job('C', { after: ['A'] }), job('D', { after: ['B', 'C'] })]);
  assert.deepEqual(drawn(rows), ['A', '├─ B', '│  └─ D', '└─ C']);
  const d = rows.find((r) => r.job.job === 'D')!;
  assert.equal(d.parent, 'B');
  assert.deepEqual(d.others, ['after C']);
  assert.deepEqual(remarks(d), [['note', 'also after C']]);
});

test('an upstream missing from the list (status of one job, or one ended in an earlier run): the job is a root and says what it came from', () => {
  const rows = statusTree([job('B', { from: 'A' }), job('C', { after: ['gone', 'B'] })]);
  assert.deepEqual(drawn(rows), ['B', '└─ C']);
  const [b, c] = rows;
  assert.equal(b!.parent, null);
  assert.deepEqual(b!.others, ['from A']);
  assert.deepEqual(remarks(b!), [['note', 'from A']]);
  // Under the first upstream that is in the list; the missing one noted.
  assert.equal(c!.parent, 'B');
  assert.deepEqual(c!.others, ['after gone']);
  assert.deepEqual(remarks(c!), [['note', 'also after gone']]);
});

test('from and after mixed: from wins even when an after job comes first; a missing from gives way to the first after in the list', () => {
  const rows = statusTree([job('P'), job('Q'), job('S', { from: 'Q', after: ['P'] }), job('T', { from: 'nowhere', after: ['P', 'Q'] })]);
  assert.deepEqual(drawn(rows), ['P', '└─ T', 'Q', '└─ S']);
  const s = rows.find((r) => r.job.job === 'S')!;
  assert.equal(s.parent, 'Q');
  assert.deepEqual(s.others, ['after P']);
  const t = rows.find((r) => r.job.job === 'T')!;
  assert.equal(t.parent, 'P');
  assert.deepEqual(t.others, ['from nowhere', 'after Q']);
  // The same job as both from and after is one link.
  assert.deepEqual(statusTree([job('A'), job('B', { from: 'A', after: ['A'] })])[1]!.others, []);
});

test('links that loop (bad data) are cut: every job drawn exactly once, and the walk ends', () => {
  // A after B, B after A, C from B; D takes from itself.
  const rows = statusTree([job('A', { after: ['B'] }), job('B', { after: ['A'] }), job('C', { from: 'B' }), job('D', { from: 'D' })]);
  assert.deepEqual(rows.map((r) => r.job.job).sort(), ['A', 'B', 'C', 'D']);
  assert.deepEqual(drawn(rows), ['D', 'A', '└─ B', '   └─ C']);
  // The job the loop was cut at is a root and still names its upstream.
  const a = rows.find((r) => r.job.job === 'A')!;
  assert.equal(a.parent, null);
  assert.deepEqual(a.others, ['after B']);
  // A job naming itself is no link at all.
  assert.deepEqual(rows.find((r) => r.job.job === 'D')!.others, []);
  // A longer loop with a job hanging off it: the hanging job stays under its upstream.
  const ring = statusTree([job('X', { after: ['Y'] }), job('H', { from: 'Y' }), job('Y', { after: ['Z'] }), job('Z', { after: ['X'] })]);
  assert.equal(ring.length, 4);
  assert.equal(ring.find((r) => r.job.job === 'H')!.parent, 'Y');
});

test('a long chain is drawn without recursion', () => {
  const n = 20_000;
  const jobs = Array.from({ length: n }, (_, i) => job(`j${i}`, i === 0 ? {} : { from: `j${i - 1}` }));
  const rows = statusTree(jobs);
  assert.equal(rows.length, n);
  assert.equal(rows[n - 1]!.depth, n - 1);
});

test('remarks: what a job waits for, why it ended badly, its notes; a waiting job shows waiting', () => {
  const w = job('W', { after: ['U'] }, { waitingFor: ['U'], priority: 3 });
  const [u, wr] = statusTree([job('U'), w]);
  assert.equal(wr!.parent, 'U');
  assert.deepEqual(remarks(wr!), [['waiting', 'for U to end']]);
  assert.equal(shownState(w), 'waiting (p3)');
  assert.deepEqual(remarks(u!), []);
  const c = job('C', { after: ['U'] }, { state: 'cancelled', error: 'upstream job U ended cancelled', notes: ['n1'] });
  assert.deepEqual(remarks(statusTree([c])[0]!), [
    ['cancelled', 'upstream job U ended cancelled'],
    ['note', 'n1'],
    ['note', 'after U'],
  ]);
});

test('the live view (status --watch) draws the same tree: glyphs before each name, the branch carried down its lines; plain lines name the links', () => {
  const jobs = [job('A'), job('B', { from: 'A' }), job('C', { after: ['B'] }, { waitingFor: ['B'] }), job('D', { after: ['A'] })];
  const st = { kind: 'status' as const, v: 2, now: 0, jobs, agents: [] };
  const screen = renderFrame(st, 100).split('\n');
  const title = (name: string): number => screen.findIndex((l) => new RegExp(`^[│├└─ ]*${name} +spin +`).test(l));
  assert.deepEqual(
    ['A', 'B', 'C', 'D'].map((n) => screen[title(n)]!.replace(/ +spin +.*$/, '')),
    ['A', '├─ B', '│  └─ C', '└─ D'],
  );
  assert.deepEqual(
    ['A', 'B', 'C', 'D'].map((n) => title(n)),
    [...['A', 'B', 'C', 'D'].map((n) => title(n))].sort((x, y) => x - y),
    'in tree order',
  );
  // A's bar carries the branch down to B; C's (under B, the last there) only B's sibling line.
  assert.match(screen[title('A') + 1]!, /^│  [█░]+ +30%$/);
  assert.match(screen[title('C') + 1]!, /^│        [█░]+/);
  assert.ok(screen.some((l) => l === '│        waiting: for B to end'), screen.join('\n'));
  assert.equal(screen[title('B') + 1]!.slice(0, 3), '│  ', 'the branch line runs past B to D');
  const plain = plainLines(st);
  assert.deepEqual(
    plain.map((l) => l.split(' ')[1]),
    ['A', 'B', 'C', 'D'],
  );
  assert.match(plain[1]!, / from=A$/);
  assert.match(plain[2]!, / after=B$/);
  assert.doesNotMatch(plain[0]!, /from=|after=/);
});
