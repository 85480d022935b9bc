/**
 * `shoal report` of an out dir where `shoal alloc` brought agents: the coordinator's spans file
 * (coordinator/alloc/journal.ts writes a line per change) read back (src/report/allocations.ts,
 * the last line of each allocation holding), and each allocation's join and leave marked in the
 * summary, its lines and the HTML, relative to the report's first start.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { AllocationStatus } from '../../protocol/index.js';
import { AllocJournal } from '../../coordinator/alloc/journal.js';
import { buildReport, parseAllocations, summaryLines } from '../../src/report/index.js';
import { silentLogger } from '../../src/log.js';
import { tempSuite } from '../helpers/suite.js';

const scratch = tempSuite('shoal-report-alloc-');
const T = 1_700_000_000_000;

const rows = (n: number, agent: string, at: number): string =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ job: 'J', task: `t${i}`, kind: 'spin', status: 'ok', attempt: 1, agent, host: agent, worker: 0, start: T + at + 100 * i, end: T + at + 100 * i + 100 }) + '\n').join('');

const status = (o: Partial<AllocationStatus> & { id: string }): AllocationStatus => ({ state: 'running', since: T, submittedAt: T - 5000, agents: [], ...o });

describe('allocation spans', () => {
  it('the journal writes a line only when an allocation whose agents joined changes; the last line of each holds', async () => {
    const out = join(scratch.dir, 'journal');
    const j = new AllocJournal(out, silentLogger());
    j.note('q', [status({ id: '1.1' })]); // no agent yet: nothing
    j.note('q', [status({ id: '1.1', slurmJob: '40', agents: ['a1'], joinedAt: T + 1000 })]);
    j.note('q', [status({ id: '1.1', slurmJob: '40', agents: ['a1'], joinedAt: T + 1000 })]); // unchanged
    j.note('q', [status({ id: '1.1', slurmJob: '40', agents: ['a1'], joinedAt: T + 1000, leftAt: T + 9000 }), status({ id: '1.2', slurmJob: '41', agents: ['a2'], joinedAt: T + 3000 })]);
    j.note('q', [status({ id: '1.1', slurmJob: '40', state: 'ended', agents: ['a1'], joinedAt: T + 1000, leftAt: T + 9000 })]);
    await j.flushed();
    const text = readFileSync(j.file, 'utf8');
    assert.equal(text.trim().split('\n').length, 4, text);
    const marks = parseAllocations(`${text}not json\n{"queue":"q"}\n`);
    assert.deepEqual(marks, [
      { queue: 'q', alloc: '1.1', slurmJob: '40', state: 'ended', agents: ['a1'], joinedAt: T + 1000, leftAt: T + 9000 },
      { queue: 'q', alloc: '1.2', slurmJob: '41', state: 'running', agents: ['a2'], joinedAt: T + 3000, leftAt: null },
    ]);
  });

  it("a report of the out dir marks when each allocation's agents joined and left", async () => {
    const out = join(scratch.dir, 'out');
    mkdirSync(join(out, 'alloc'), { recursive: true });
    writeFileSync(join(out, 'J.jsonl'), rows(10, 'a1', 2000) + rows(5, 'a2', 4000));
    const j = new AllocJournal(out, silentLogger());
    j.note('cpu', [status({ id: '1.1', slurmJob: '40', agents: ['a1'], joinedAt: T + 1000, leftAt: T + 14_000, state: 'ended' }), status({ id: '1.2', slurmJob: '41', agents: ['a2'], joinedAt: T + 3500 })]);
    await j.flushed();
    const html = join(scratch.dir, 'r.html');
    const r = await buildReport(out, { html });
    // The first task started at T + 2000: the first agent joined a second before it.
    assert.deepEqual(r.summary.allocations, [
      { queue: 'cpu', alloc: '1.1', slurmJob: '40', state: 'ended', agents: ['a1'], joinedS: -1, leftS: 12 },
      { queue: 'cpu', alloc: '1.2', slurmJob: '41', state: 'running', agents: ['a2'], joinedS: 1.5, leftS: null },
    ]);
    const lines = summaryLines(r.summary);
    assert.ok(lines.some((l) => /^ALLOCATION\s+SLURM JOB\s+AGENTS\s+JOINED\s+LEFT\s+STATE$/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /^cpu\/1\.1\s+40\s+a1\s+-1\.0s\s+\+12\.0s\s+ended$/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /^cpu\/1\.2\s+41\s+a2\s+\+1\.5s\s+-\s+running$/.test(l)), lines.join('\n'));
    const page = readFileSync(html, 'utf8');
    assert.match(page, /<h2>Allocations<\/h2>/);
    assert.match(page, /<td>cpu\/1\.1<\/td><td>40<\/td><td>a1<\/td><td class="num">-1\.00s<\/td><td class="num">\+12s<\/td>/);
  });

  it('an out dir without allocations, or an output file given: no allocations in the summary', async () => {
    const out = join(scratch.dir, 'plain');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'J.jsonl'), rows(3, 'a1', 0));
    assert.equal((await buildReport(out)).summary.allocations, undefined);
    assert.equal((await buildReport(join(out, 'J.jsonl'))).summary.allocations, undefined);
    assert.ok(!summaryLines((await buildReport(out)).summary).some((l) => l.startsWith('ALLOCATION')));
  });
});
