/**
 * The allocation spans file (`<out-dir>/alloc/allocations.jsonl`): a line each time an
 * allocation whose agents joined changes (an agent joined, the last one left, it ended), so
 * `shoal report` can mark when each allocation's agents were there. Appends in order, off the
 * event loop's way; a write that fails is logged, never fatal.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ALLOCATIONS_FILE, type AllocationSpan, type AllocationStatus } from '../../protocol/index.js';
import type { Logger } from '../../src/log.js';

export class AllocJournal {
  readonly file: string;
  private readonly written = new Map<string, string>();
  private tail: Promise<void> = Promise.resolve();
  private warned = false;

  constructor(
    outDir: string,
    private readonly log: Logger,
  ) {
    this.file = join(outDir, ALLOCATIONS_FILE);
  }

  /** Appends a line for each allocation of `queue` whose agents joined and that changed since it was last written. */
  note(queue: string, allocs: readonly AllocationStatus[]): void {
    let text = '';
    for (const a of allocs) {
      if (a.joinedAt === undefined) continue;
      const key = `${a.state}|${a.agents.length}|${a.joinedAt}|${a.leftAt ?? ''}`;
      if (this.written.get(a.id) === key) continue;
      this.written.set(a.id, key);
      const span: AllocationSpan = { queue, alloc: a.id, ...(a.slurmJob ? { slurmJob: a.slurmJob } : {}), state: a.state, agents: a.agents, joinedAt: a.joinedAt, ...(a.leftAt !== undefined ? { leftAt: a.leftAt } : {}) };
      text += `${JSON.stringify(span)}\n`;
    }
    if (!text) return;
    this.tail = this.tail
      .then(() => mkdir(dirname(this.file), { recursive: true }))
      .then(() => appendFile(this.file, text))
      .catch((err: Error) => {
        if (!this.warned) this.log.warn({ file: this.file, err: err.message }, 'cannot write the allocation spans (shoal report will not mark the allocations)');
        this.warned = true;
      });
  }

  /** Resolves once every line noted so far is written. */
  flushed(): Promise<void> {
    return this.tail;
  }
}
