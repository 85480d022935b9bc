/**
 * The memory of the agent's interpreters (the python kind keeps one per worker thread for a
 * job, holding whatever its setup loaded) and the rule that admits a bundle of such a job.
 *
 * Each job's per-task memory is the largest resident size one of its interpreters has had on
 * this agent. A bundle of the job starts when what every job holds or will hold once its
 * bundles in the pool have their interpreters (the larger of its interpreters' measured memory
 * and its bundles times its per-task memory) still fits the agent's budget: the least of its
 * memory limit and the node's free memory plus what the interpreters hold already. So 3 GB
 * interpreters on a node with 8 GB to give run at most 2 at a time there.
 *
 * Before a job's first interpreter is measured nothing says what it needs: one bundle of it
 * runs, and the others wait until its interpreter has been measured (which the shell does as
 * soon as the interpreter says it is ready, its setup done). A bundle also starts when nothing
 * else is in the pool, whatever it needs: waiting would free nothing more.
 */
import type { InterpreterMemory } from '../../protocol/index.js';

/** One live interpreter as measured. */
export interface InterpreterRss {
  pid: number;
  job: string;
  /** Resident bytes (VmRSS). */
  rss: number;
}

/** What the rule needs to know of a bundle in the pool. */
export interface PooledBundle {
  readonly job: string;
  readonly info: { readonly kind: string };
}

export class MemoryBook {
  private live: InterpreterRss[] = [];
  /** Job → the largest resident size of one of its interpreters here, bytes. */
  private readonly peak = new Map<string, number>();

  /** @param kinds the kinds whose bundles run in interpreters measured here */
  constructor(private readonly kinds: ReadonlySet<string>) {}

  /** The interpreters alive now, as just measured. Returns whether anything the rule uses changed. */
  measured(list: readonly InterpreterRss[]): boolean {
    let changed = list.length !== this.live.length || list.some((x, i) => x.pid !== this.live[i]!.pid || x.rss !== this.live[i]!.rss);
    for (const x of list) {
      if (x.rss > (this.peak.get(x.job) ?? 0)) {
        this.peak.set(x.job, x.rss);
        changed = true;
      }
    }
    this.live = list.slice();
    return changed;
  }

  /** Whether bundles of this kind are ruled here. */
  rules(kind: string): boolean {
    return this.kinds.has(kind);
  }

  /** The job's per-task memory: its largest interpreter's, bytes (0: not measured yet). */
  perTask(job: string): number {
    return this.peak.get(job) ?? 0;
  }

  /** Resident bytes of the live interpreters, all jobs together. */
  get total(): number {
    let sum = 0;
    for (const x of this.live) sum += x.rss;
    return sum;
  }

  /**
   * Whether bundle `b` may start beside the bundles already in the pool, within `budget`
   * bytes (see the file's header).
   */
  admits(b: PooledBundle, pool: Iterable<PooledBundle>, budget: number): boolean {
    if (!this.kinds.has(b.info.kind)) return true;
    const bundles = new Map<string, number>();
    let any = false;
    for (const x of pool) {
      any = true;
      if (this.kinds.has(x.info.kind)) bundles.set(x.job, (bundles.get(x.job) ?? 0) + 1);
    }
    const mine = bundles.get(b.job) ?? 0;
    const per = this.perTask(b.job);
    if (per === 0) return mine === 0;
    if (!any) return true;
    bundles.set(b.job, mine + 1);
    const rss = new Map<string, number>();
    for (const x of this.live) rss.set(x.job, (rss.get(x.job) ?? 0) + x.rss);
    let held = 0;
    for (const job of new Set([...bundles.keys(), ...rss.keys()])) held += Math.max(rss.get(job) ?? 0, (bundles.get(job) ?? 0) * this.perTask(job));
    return held <= budget;
  }

  /** The live interpreters per job, for heartbeats and status. */
  byJob(): InterpreterMemory[] {
    const jobs = new Map<string, InterpreterMemory>();
    for (const x of this.live) {
      const j = jobs.get(x.job) ?? { job: x.job, count: 0, rss: 0, maxRss: 0 };
      j.count++;
      j.rss += x.rss;
      j.maxRss = Math.max(j.maxRss, x.rss);
      jobs.set(x.job, j);
    }
    return [...jobs.values()];
  }

  /** Asserts: no pid counted twice, no negative size. */
  check(): void {
    const pids = new Set<number>();
    for (const x of this.live) {
      if (pids.has(x.pid)) throw new Error(`interpreter ${x.pid} is counted twice`);
      if (!(x.rss >= 0)) throw new Error(`interpreter ${x.pid} has resident size ${x.rss}`);
      pids.add(x.pid);
    }
  }
}
