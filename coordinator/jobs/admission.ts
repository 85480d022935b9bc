/**
 * Jobs coming and going: a submission is checked (kind, parameters, where its output may
 * go, whether it resumes an earlier run), expanded into tasks, given its output by the sink
 * and handed to the scheduler; a job that ends has its output closed and its end recorded.
 */
import { existsSync } from 'node:fs';
import { PROTOCOL_VERSION, type Event, type JobCache, type JobSpec, type JobStatus, type Subjects } from '../../protocol/index.js';
import { WholeFileDigests, type ResultCache } from '../cache/index.js';
import { ErrorCode, ShoalError, toWireError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { jobFilePathFor, type Sink } from '../../src/sink/index.js';
import { costOrderSteps, type Command, type LateTask, type Scheduler, type TaskSource } from '../scheduler/index.js';
import { checkRoom, freeForJobs, inSteps } from './room.js';
import { expandJob, kindOf, splitterFor, stageOf, stageSource } from './expand.js';
import { Stages, type Upstream } from './stages.js';
import { confine, outPathOf } from './out-path.js';
import { contentFingerprint, JobRegistry, readJobRecord, runOf, sameJob, sharingOf, writeJobRecord, type Fingerprinted, type JobRecord } from './record.js';
import { describeChange } from './changes.js';
import { inputFacts } from './content-hash.js';
import { identityOf, restampOf } from './identity.js';
import { notRunning, Preparing } from './preparing.js';
import { refuseRenamedIds } from './renamed-ids.js';
import { taskInput, type Kind, type TaskInput } from '../../src/kinds/index.js';

export interface AdmissionDeps {
  outDir: string;
  persist: boolean;
  /** Most memory one job's tasks may take here (bytes); undefined: what is free. */
  jobMemory: number | undefined;
  scheduler: Scheduler;
  sink: Sink;
  log: Logger;
  /** The most one task may carry encoded (a stage's upstream value). */
  maxTaskBytes: number;
  subj: Subjects;
  run(cmds: Command[]): void;
  publish(subject: string, msg: Event): void;
  /** The result cache's jobs, and the cache of jobs that name none (the coordinator's --cache). */
  cache: ResultCache;
  defaultCache?: JobCache;
}

export interface Submitted {
  job: string;
  tasks: number;
  alreadyDone: number;
  out: string;
}

export class Admission {
  private readonly records = new Map<string, JobRecord>();
  /** Each job's kind and checked params, for its error rows' input (made on the first). */
  private readonly checked = new WeakMap<JobRecord, { kind: Kind<unknown> | null; params: unknown }>();
  /** Jobs being expanded (not in the scheduler yet). */
  readonly expanding = new Map<string, JobRecord>();
  /** The upstream (`--from`) of each stage being expanded, for its status. */
  private readonly expandingFrom = new Map<string, string>();
  /** Jobs whose end has been fully recorded (output closed, summary written). */
  readonly finished = new Set<string>();
  private readonly registry: JobRegistry;
  /** Stage jobs fed by other jobs' rows (`--from`). */
  readonly stages: Stages;
  /** What each job not in the scheduler yet is doing (status says it); a second submit of one is refused. */
  private readonly preparing = new Preparing();
  /** Jobs of an earlier life that could not be resumed, and why (status shows them failed; a submit tries again). */
  private readonly unresumed = new Map<string, { rec: JobRecord; why: string }>();
  private stopped = false;

  constructor(private readonly d: AdmissionDeps) {
    this.registry = new JobRegistry(d.outDir);
    this.stages = new Stages({ scheduler: d.scheduler, sink: d.sink, log: d.log, maxTaskBytes: d.maxTaskBytes, run: d.run });
  }

  /** Jobs of the registry that had not ended when the last coordinator stopped (none without persistence). */
  unfinished(): JobRecord[] {
    if (!this.d.persist) return [];
    return this.registry.unfinished((f, err) => this.d.log.error({ file: f, err: err.message }, 'skipping an unreadable job record'));
  }

  /** Loads the unfinished jobs again, one after the other. */
  async resume(recs: JobRecord[]): Promise<void> {
    for (const rec of recs) {
      this.d.log.info({ job: rec.job, out: rec.out }, 'resuming job after restart');
      try {
        confine(this.d.outDir, rec.out);
        this.preparing.step(rec.job, 'reading its inputs for its fingerprint', rec);
        const renamed = await this.checkUnchanged(rec);
        await this.admit(rec, true, false, renamed);
      } catch (err) {
        this.d.scheduler.unexpect(rec.job);
        const why = toWireError(err).message;
        this.d.log.error({ job: rec.job, err: why }, 'cannot resume job');
        // It has ended for this coordinator's life: status says so and why, the jobs fed by
        // it or waiting for it do not wait forever. Its record stays: the next start tries again.
        this.unresumed.set(rec.job, { rec, why });
        this.d.sink.forsake(rec.job);
        this.stages.ended(rec.job);
        this.d.run(this.d.scheduler.onEndedElsewhere(rec.job, { state: 'failed', failed: 0 }, Date.now()));
      } finally {
        this.preparing.end(rec.job);
      }
    }
  }

  /**
   * A job to resume must have the inputs (their content) and upstream it was fingerprinted
   * with: its task ids are its journal. Its record is brought up to date: files written again
   * with the same bytes are stamped anew, a record of an earlier shoal gets content hashes.
   * Returns whether its record names another rule of task ids than its kind follows now.
   */
  private async checkUnchanged(rec: JobRecord): Promise<boolean> {
    // A record from before stages kept their upstream's run is checked without it.
    const upstream = rec.upstream ? this.upstreamRun(rec.upstream.job) : undefined;
    const fp = await this.fingerprintOf(rec, upstream, rec);
    if (!sameJob(rec, fp)) {
      throw new ShoalError(ErrorCode.Fingerprint, `${describeChange(rec, fp, kindOf(rec).kind)} since it was submitted; submit it again to resume it into another --out, or remove ${rec.out} to start over`);
    }
    const touched = fp.inputs.some((f, i) => f.size !== rec.inputs[i]?.size || f.mtimeMs !== rec.inputs[i]?.mtimeMs);
    if (touched) rec.params = restampOf(rec.kind, kindOf(rec).kind, rec.params);
    const renamed = (rec.ids ?? null) !== (fp.ids ?? null);
    Object.assign(rec, this.fingerprintFields(rec, fp));
    return renamed;
  }

  /**
   * The fingerprint of a job as submitted now. The hash of an input whose size and mtime are
   * those `known` (its record) has for the same path is taken from there, else from the job's
   * cache where it remembers the file (coordinator/cache/digest-memo.ts); other inputs are read.
   */
  private async fingerprintOf(spec: Pick<JobSpec, 'job' | 'kind' | 'params' | 'cache'>, upstream: JobRecord['upstream'], known: JobRecord | null): Promise<Fingerprinted> {
    const { identity, files, ids } = identityOf(spec.kind, kindOf(spec).kind, spec.params);
    // With a cache, the inputs' hashes are remembered in it (a re-run does not read them again).
    const remembered = spec.cache && files.length > 0 ? new WholeFileDigests(spec.cache.dir, spec.cache.readOnly !== true) : undefined;
    let inputs;
    try {
      inputs = await inputFacts(files, known?.inputs, remembered);
    } finally {
      await remembered?.close();
    }
    return { kind: spec.kind, params: spec.params, inputs, upstream, ...(ids !== undefined ? { ids } : {}), hash: contentFingerprint(spec.kind, identity, inputs, upstream) };
  }

  /** A record's fingerprint fields for `fp`; a record of an earlier shoal keeps the name of the run that made its rows (its stages name it). */
  private fingerprintFields(prior: JobRecord | null, fp: Fingerprinted): Pick<JobRecord, 'fingerprint' | 'fingerprintBy' | 'ids' | 'inputs' | 'run'> {
    const run = prior === null ? undefined : prior.fingerprintBy === 'content' ? prior.run : runOf(prior);
    return { fingerprint: fp.hash, fingerprintBy: 'content', ...(fp.ids !== undefined ? { ids: fp.ids } : {}), inputs: fp.inputs, ...(run !== undefined ? { run } : {}) };
  }

  /** The kind of a job (for rows the coordinator writes). */
  kindOf(job: string): string {
    return this.records.get(job)?.kind ?? 'unknown';
  }

  /** What a task of `job` was given (its `ref`), for the `input` of its error row; null when the job or the ref is unknown. */
  inputOf(job: string, ref: unknown): TaskInput | null {
    const rec = this.records.get(job);
    if (!rec || ref === undefined) return null;
    let k = this.checked.get(rec);
    if (!k) {
      const { kind } = kindOf(rec);
      let params: unknown = rec.params;
      try {
        if (kind) params = kind.checkParams(rec.params);
      } catch {
        params = undefined;
      }
      this.checked.set(rec, (k = { kind, params }));
    }
    return taskInput(k.kind, k.params, ref);
  }

  /** Validates, fingerprints, opens the output and hands the job to the scheduler. */
  async submit(spec: JobSpec): Promise<Submitted> {
    if (spec.cache === undefined && this.d.defaultCache) spec = { ...spec, cache: this.d.defaultCache };
    const { kind } = kindOf(spec);
    if (kind) kind.checkParams(spec.params);
    const state = this.d.scheduler.jobState(spec.job);
    if (state === 'running' || this.expanding.has(spec.job) || this.preparing.doing(spec.job) !== undefined) throw new ShoalError(ErrorCode.Usage, `job '${spec.job}' is already running`);
    try {
      this.preparing.step(spec.job, 'reading its inputs for its fingerprint', { kind: spec.kind, out: outPathOf(this.d.outDir, spec) });
      return await this.submitChecked(spec, state);
    } finally {
      this.preparing.end(spec.job);
    }
  }

  /** `submit` once the job is known not to run: the resume check, its record, admission. */
  private async submitChecked(spec: JobSpec, state: ReturnType<Scheduler['jobState']>): Promise<Submitted> {
    const { kind } = kindOf(spec);
    const out = outPathOf(this.d.outDir, spec);
    const upstream = this.upstreamRun(stageOf(spec, kind)?.from);
    const prior = readJobRecord(jobFilePathFor(out));
    if (prior && prior.job !== spec.job) {
      throw new ShoalError(ErrorCode.Fingerprint, `output ${out} belongs to job '${prior.job}', not '${spec.job}': resume it with --job ${prior.job}, or choose another --out`);
    }
    const fp = await this.fingerprintOf(spec, upstream, prior);
    if (prior && !sameJob(prior, fp)) {
      throw new ShoalError(
        ErrorCode.Fingerprint,
        `refusing to resume job '${spec.job}' into ${out}: ${describeChange(prior, fp, kind)}. Use another --out (or --job), or remove the old output to start over`,
      );
    }
    if (state !== null) {
      // A job that ran before starts again: its earlier end no longer counts for status.
      this.d.scheduler.forget(spec.job);
      this.finished.delete(spec.job);
      this.stages.reopened(spec.job);
    }
    // An output that is gone starts a new run, whatever its record says.
    const carried = prior && existsSync(out) ? prior : null;
    const rec: JobRecord = {
      ...(prior?.expandSlots !== undefined ? { expandSlots: prior.expandSlots, expandMaxAgentSlots: prior.expandMaxAgentSlots ?? 0 } : {}),
      job: spec.job,
      kind: spec.kind,
      params: spec.params,
      out,
      ...this.fingerprintFields(carried, fp),
      state: 'running',
      submittedAt: Date.now(),
      createdAt: carried ? (carried.createdAt ?? carried.submittedAt) : Date.now(),
      ...(upstream ? { upstream } : {}),
      ...(spec.maxAttempts !== undefined ? { maxAttempts: spec.maxAttempts } : {}),
      ...(spec.granularity !== undefined ? { granularity: spec.granularity } : {}),
      ...(spec.speculate !== undefined ? { speculate: spec.speculate } : {}),
      ...sharingOf(spec),
    };
    const renamed = carried !== null && (carried.ids ?? null) !== (fp.ids ?? null);
    const submitted = await this.admit(rec, prior !== null, spec.force === true, renamed);
    this.unresumed.delete(spec.job);
    return submitted;
  }

  /**
   * Expands, opens the output (repairing a torn tail) and schedules. `resumed`: the job
   * continues an earlier run, so the tasks agents say they hold are adopted. `renamed`: its
   * output was written under another rule of task ids, and is refused if its rows show it.
   */
  private async admit(rec: JobRecord, resumed: boolean, force = false, renamed = false): Promise<Submitted> {
    const spec: JobSpec = { job: rec.job, kind: rec.kind, params: rec.params, out: rec.out, ...sharingOf(rec) };
    if (rec.maxAttempts !== undefined) spec.maxAttempts = rec.maxAttempts;
    this.expanding.set(rec.job, rec);
    this.preparing.step(rec.job, 'expanding its tasks', rec);
    const { kind, opts } = kindOf(spec);
    const stage = stageOf(spec, kind);
    if (stage) this.expandingFrom.set(rec.job, stage.from);
    try {
      // The first expansion fixes the slot count for every later one (task ids are the journal).
      const cap = this.d.scheduler.capacity();
      rec.expandSlots ??= cap.slots;
      rec.expandMaxAgentSlots ??= cap.maxAgentSlots;
      let tasks: TaskSource;
      // A stage's tasks that do not run (upstream errors) join it after its submit, as failing ones.
      let failing: LateTask[] = [];
      if (stage) {
        const first = await this.stages.begin(rec.job, stage, this.upstream(stage.from, rec.job));
        failing = first.filter((t) => t.upstreamError !== undefined);
        tasks = stageSource(first.filter((t) => t.upstreamError === undefined));
      } else {
        tasks = await expandJob(spec, kind, { slots: rec.expandSlots, maxAgentSlots: rec.expandMaxAgentSlots }, (msg, f) => this.d.log.info({ job: rec.job, ...f }, msg));
      }
      checkRoom(rec.job, tasks.length, Math.min(this.d.jobMemory ?? Infinity, freeForJobs()));
      if (renamed) await refuseRenamedIds(rec.job, rec.out, tasks, rec.ids);
      const order = await inSteps(costOrderSteps(tasks));
      // Expanded first: a job refused here leaves no output file and no open writer behind.
      const numbers = { length: tasks.length, indexOf: (id: string) => tasks.indexOf(id), idOf: (i: number) => tasks.at(i).id };
      const openReq = { job: rec.job, kind: rec.kind, params: rec.params, out: rec.out, force, numbers };
      this.preparing.step(rec.job, 'opening its output');
      let opened = await this.d.sink.open(openReq);
      this.records.set(rec.job, rec);
      // Durable before any task is dispatched, so before any row can be: a resumed job finds it.
      await this.save(rec);
      const split = splitterFor(spec, kind);
      if (rec.cache && !stage) {
        const done = opened.done;
        const hashes = new Map(rec.inputs.map((f) => [f.path, f.sha256 ?? '']));
        const n = tasks.length - done.size;
        this.preparing.step(rec.job, `looking its ${n} tasks up in the cache ${rec.cache.dir}`, undefined, () => {
          const c = this.d.cache.counts(rec.job);
          return `${c ? c.hits + c.misses : 0} of ${n} looked up, ${c?.hits ?? 0} found`;
        });
        const use = { job: rec.job, kindName: rec.kind, kind, params: rec.params, cache: rec.cache, tasks, split, fileHash: (p: string) => hashes.get(p) ?? '', inputs: rec.inputs.map((f) => f.path) };
        await this.d.cache.admit(use, done, (rows) => this.d.sink.writeOwn(rec.job, rows));
        // The output open already: what it holds now, the hits among it.
        opened = await this.d.sink.open(openReq);
      }
      const jobOpts = {
        ...(rec.speculate !== undefined ? { speculate: rec.speculate } : {}),
        // After the job's wish: the kind's rules win (no speculation for external programs).
        ...opts,
        granularity: rec.granularity ?? 'auto',
        adoptHeld: resumed,
        errorRecords: opened.errorRecords,
        ...(split ? { split } : {}),
        ...(kind?.secondsPerCost ? { secondsPerCost: kind.secondsPerCost } : {}),
        ...(stage ? { upstream: stage.from } : {}),
      };
      this.d.run(this.d.scheduler.onSubmit(spec, tasks, opened.done, jobOpts, Date.now(), order));
      if (stage) this.stages.admitted(rec.job, stage.from, failing);
      // Counted by the scheduler: a resumed job's split tasks are done as halves.
      const n = this.d.scheduler.jobCounts(rec.job);
      // Tasks written from the cache just now were not in the output before: not a resume's.
      const cached = this.d.cache.counts(rec.job)?.hits ?? 0;
      return { job: rec.job, tasks: n?.total ?? tasks.length, alreadyDone: Math.max(0, (n?.done ?? 0) - cached), out: rec.out };
    } catch (err) {
      if (stage && this.d.scheduler.jobState(rec.job) !== 'running') this.stages.abandon(rec.job, stage.from);
      throw err;
    } finally {
      this.expanding.delete(rec.job);
      this.preparing.end(rec.job);
      this.expandingFrom.delete(rec.job);
    }
  }

  /** The run of job `from` a stage's rows come from (undefined: not a stage, or no such job: admission says so). */
  private upstreamRun(from: string | undefined): JobRecord['upstream'] {
    if (from === undefined) return undefined;
    const rec = this.recordOf(from);
    return rec ? { job: from, run: runOf(rec) } : undefined;
  }

  private recordOf(job: string): JobRecord | null {
    return this.records.get(job) ?? this.expanding.get(job) ?? (this.d.persist ? this.registry.find(job) : null);
  }

  /** Where the rows of job `from` are, for stage `job`, and whether it has ended. Throws naming `--from` when no such job is known. */
  private upstream(from: string, job: string): Upstream {
    if (from === job) throw new ShoalError(ErrorCode.Usage, `--from ${from}: job '${job}' cannot take its tasks from its own rows`);
    const rec = this.recordOf(from);
    if (!rec) {
      throw new ShoalError(ErrorCode.NotFound, `--from ${from}: no job named '${from}' is known to this coordinator (known: ${this.d.scheduler.jobNames().join(', ') || 'none'}); submit it first, to the same coordinator`);
    }
    // A job of this coordinator's life has ended once its end is recorded; one of an earlier life
    // that had not ended is resumed (and ends) here.
    const here = this.d.scheduler.jobState(from) !== null || this.expanding.has(from);
    const ended = here ? this.finished.has(from) : rec.state !== 'running' && rec.state !== 'expanding';
    return { out: rec.out, ended };
  }

  /** Writes the job's record (beside its output; with persistence also in the registry). */
  private save(rec: JobRecord): Promise<void> {
    return this.d.persist ? this.registry.save(rec) : writeJobRecord(jobFilePathFor(rec.out), rec);
  }

  /** Closes the job's output (the sink writes the summary), records the end, tells listeners. */
  async finish(job: string, state: JobStatus['state']): Promise<void> {
    const rec = this.records.get(job);
    // The cache's counts go in the summary: its stores of the job's last rows are waited for first.
    await this.d.sink.close(job, state, async () => {
      const run = await this.d.cache.finish(job);
      return run ? { cache: { dir: run.dir, hits: run.hits, misses: run.misses, broken: run.broken, stored: run.stored, unstored: run.unstored } } : {};
    });
    await this.d.cache.finish(job);
    if (this.stopped) return;
    // Every row of the job is durable now: its stages know all their tasks.
    this.stages.ended(job);
    if (rec) {
      rec.state = state;
      rec.failed = this.d.scheduler.jobFailed(job) ?? 0;
      try {
        // Durable before the end is told: whoever sees the job ended finds its end recorded.
        await this.save(rec);
      } catch (err) {
        this.d.log.error({ job, err: (err as Error).message }, 'cannot record the job end');
      }
      if (this.stopped) return;
    }
    this.finished.add(job);
    this.d.publish(this.d.subj.events, { kind: 'job-ended', v: PROTOCOL_VERSION, job, state });
  }

  /** Status of the jobs being prepared (fingerprinted, expanded, their output opened, looked up in the cache): what each is doing in its notes. */
  expandingStatus(job?: string): JobStatus[] {
    const expanding = [...this.expanding.values()].filter((rec) => job === undefined || job === rec.job).map((rec) => notRunning(rec, 'expanding', this.expandingFrom.get(rec.job), this.preparing.notes(rec.job)));
    return [...this.preparing.status(job, this.expanding), ...expanding];
  }

  /** Status of the jobs that could not be resumed after the restart. */
  unresumedStatus(job?: string): JobStatus[] {
    return [...this.unresumed.values()]
      .filter(({ rec }) => job === undefined || job === rec.job)
      .map(({ rec, why }) => ({ ...notRunning(rec, 'failed', rec.upstream?.job), error: `cannot resume it after the coordinator restarted: ${why}` }));
  }

  stop(): void {
    this.stopped = true;
  }
}

