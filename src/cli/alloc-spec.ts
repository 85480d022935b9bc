/**
 * An allocation queue's spec from `shoal alloc add slurm` options or from an entry of a
 * `--alloc FILE.yaml` (the same names, without the dashes), with the defaults filled in and
 * every value checked; an error names the option (or the file and entry) and says what to do.
 */
import { readFileSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import { parse } from 'yaml';
import { AllocQueueSpecSchema, type AllocQueueSpec } from '../../protocol/index.js';
import { UsageError } from '../errors.js';

/** The options, as `alloc add slurm` names them, and their help. */
export const ALLOC_OPTIONS = {
  'max-jobs': 'most allocations at once, submitted, pending or running (default 4)',
  nodes: 'nodes per allocation, one agent each (default 1)',
  walltime: "each allocation's walltime: minutes, MM:SS, HH:MM:SS or D-HH:MM:SS as sbatch --time takes it (default 1:00:00)",
  partition: 'Slurm partition (-p)',
  account: 'Slurm account (-A)',
  qos: 'Slurm QOS (-q)',
  'gpus-per-node': 'GPUs per node (--gpus-per-node; default 0)',
  'cpus-per-node': "CPUs per node for the agent (--cpus-per-task; default: Slurm's, learnt from the first agents)",
  'mem-per-node': 'memory per node, GB (--mem; default: Slurm\'s)',
  'sbatch-args': 'more sbatch arguments, space-separated (e.g. "--constraint=skylake --exclusive")',
  'agent-args': 'more agent options, space-separated (e.g. "--allow-command")',
  'max-workers-total': 'most agents the queue may bring at once (default max-jobs × nodes)',
  'idle-timeout': 'seconds an agent of an allocation may idle before it drains and its node is released (default 300)',
  'drain-before': "seconds before the walltime the agents drain (default 120, at most a tenth of the walltime)",
  'connect-timeout': "seconds after Slurm starts an allocation within which its agents must join, else it has failed (default 300)",
  'max-failures': 'failed allocations in a row after which the queue pauses until `shoal alloc resume` (default 3)',
  'agent-nats': "the NATS URL the agents use (default: the coordinator's own; it must be reachable from the nodes)",
  name: 'a name for the queue in status and logs',
} as const;

export type AllocOptionName = keyof typeof ALLOC_OPTIONS;

/** The spec's fields by the option that sets them. */
const FIELD_OPTION: Record<string, string> = { maxJobs: 'max-jobs', nodes: 'nodes', walltimeS: 'walltime', partition: 'partition', account: 'account', qos: 'qos', gpusPerNode: 'gpus-per-node', cpusPerNode: 'cpus-per-node', memPerNode: 'mem-per-node', sbatchArgs: 'sbatch-args', agentArgs: 'agent-args', maxWorkersTotal: 'max-workers-total', idleTimeoutS: 'idle-timeout', drainBeforeS: 'drain-before', connectTimeoutS: 'connect-timeout', maxFailures: 'max-failures', nats: 'agent-nats', name: 'name' };

/** A walltime as sbatch --time takes it, in seconds. */
export function parseWalltime(text: string, where: string): number {
  const m = /^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$/.exec(text.trim());
  if (!m) throw new UsageError(`${where} '${text}': give minutes, MM:SS, HH:MM:SS or D-HH:MM:SS`);
  const [d, a, b, c] = [m[1], m[2], m[3], m[4]].map((x) => (x === undefined ? undefined : Number(x)));
  let s: number;
  if (c !== undefined) s = a! * 3600 + b! * 60 + c;
  else if (b !== undefined) s = d !== undefined ? a! * 3600 + b * 60 : a! * 60 + b;
  else s = d !== undefined ? a! * 3600 : a! * 60;
  return (d ?? 0) * 86400 + s;
}

const words = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? v.split(/\s+/).filter(Boolean) : []);

/** The spec from values keyed by option name (`where` names them in errors: '--' for options, 'FILE: queue N: ' for a file). */
export function allocSpec(values: Record<string, unknown>, where: (name: string) => string): AllocQueueSpec {
  for (const k of Object.keys(values)) if (!(k in ALLOC_OPTIONS) && k !== 'manager') throw new UsageError(`${where(k)}: no such allocation queue setting (known: ${Object.keys(ALLOC_OPTIONS).join(', ')})`);
  const num = (k: AllocOptionName): number | undefined => {
    const v = values[k];
    if (v === undefined || v === null) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new UsageError(`${where(k)} '${String(v)}': give a number of 0 or more`);
    return n;
  };
  const str = (k: AllocOptionName): string | undefined => (values[k] === undefined || values[k] === null ? undefined : String(values[k]));
  const walltimeS = values.walltime !== undefined ? parseWalltime(String(values.walltime), where('walltime')) : 3600;
  const mem = num('mem-per-node');
  const spec: AllocQueueSpec = {
    manager: 'slurm',
    maxJobs: num('max-jobs') ?? 4,
    nodes: num('nodes') ?? 1,
    walltimeS,
    ...(str('partition') ? { partition: str('partition')! } : {}),
    ...(str('account') ? { account: str('account')! } : {}),
    ...(str('qos') ? { qos: str('qos')! } : {}),
    ...(num('gpus-per-node') !== undefined ? { gpusPerNode: num('gpus-per-node')! } : {}),
    ...(num('cpus-per-node') !== undefined ? { cpusPerNode: num('cpus-per-node')! } : {}),
    ...(mem !== undefined ? { memPerNode: Math.round(mem * 2 ** 30) } : {}),
    sbatchArgs: words(values['sbatch-args']),
    agentArgs: words(values['agent-args']),
    ...(num('max-workers-total') !== undefined ? { maxWorkersTotal: num('max-workers-total')! } : {}),
    idleTimeoutS: num('idle-timeout') ?? 300,
    drainBeforeS: num('drain-before') ?? Math.min(120, Math.floor(walltimeS / 10)),
    connectTimeoutS: num('connect-timeout') ?? 300,
    maxFailures: num('max-failures') ?? 3,
    ...(str('agent-nats') ? { nats: str('agent-nats')! } : {}),
    ...(str('name') ? { name: str('name')! } : {}),
  };
  const err = Value.Errors(AllocQueueSpecSchema, spec).First();
  if (err) {
    const field = err.path.replace(/^\//, '').split('/')[0] ?? '';
    const opt = FIELD_OPTION[field] ?? field;
    throw new UsageError(`${where(opt)}: ${err.message} (got ${JSON.stringify(err.value)})`);
  }
  if (spec.drainBeforeS >= spec.walltimeS) throw new UsageError(`${where('drain-before')} ${spec.drainBeforeS}: must be shorter than the walltime (${spec.walltimeS} s)`);
  return spec;
}

/** The queues of a `--alloc FILE.yaml`: a list of entries, or `queues:` holding one. */
export function readAllocFile(file: string): AllocQueueSpec[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--alloc ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): give the path of a YAML file listing allocation queues`);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new UsageError(`--alloc ${file}: ${(err as Error).message}`);
  }
  const list = Array.isArray(doc) ? doc : doc && typeof doc === 'object' && Array.isArray((doc as { queues?: unknown }).queues) ? (doc as { queues: unknown[] }).queues : null;
  if (!list) throw new UsageError(`--alloc ${file}: expected a list of allocation queues (or 'queues:' holding one), each with the settings of 'shoal alloc add slurm' (max-jobs, nodes, walltime, ...)`);
  return list.map((e, i) => {
    if (!e || typeof e !== 'object' || Array.isArray(e)) throw new UsageError(`--alloc ${file}: queue ${i + 1} is not a mapping of settings`);
    return allocSpec(e as Record<string, unknown>, (k) => `--alloc ${file}: queue ${i + 1}: ${k}`);
  });
}
