/**
 * The GPUs this agent may hand to tasks: what nvidia-smi lists, narrowed to what this process
 * is allowed (CUDA_VISIBLE_DEVICES, else Slurm's SLURM_STEP_GPUS / SLURM_JOB_GPUS), or what
 * `--gpus LIST` declares instead. A node without nvidia-smi, or where it fails, has none: that
 * is the usual case (CPU nodes), never an error.
 */
import { execFile } from 'node:child_process';
import type { Gpu } from '../protocol/index.js';
import { UsageError } from '../src/errors.js';

export type { Gpu };

/** How long nvidia-smi may take before the node counts as having no GPUs. */
const NVIDIA_SMI_TIMEOUT_MS = 5000;

const MIB = 2 ** 20;

/**
 * The GPUs in the output of `nvidia-smi --query-gpu=index,uuid,memory.total
 * --format=csv,noheader,nounits`: one line per GPU, `0, GPU-8f2e…, 81920` (memory in MiB).
 * A line that does not read as one is skipped; a memory nvidia-smi cannot tell ("[N/A]") is left out.
 */
export function parseNvidiaSmi(text: string): Gpu[] {
  const gpus: Gpu[] = [];
  for (const line of text.split('\n')) {
    const [index, uuid, memory] = line.split(',').map((f) => f.trim());
    if (index === undefined || !/^\d+$/.test(index)) continue;
    const g: Gpu = { index: Number(index) };
    if (uuid && uuid !== '[N/A]') g.uuid = uuid;
    if (memory && /^\d+(\.\d+)?$/.test(memory)) g.memory = Math.round(Number(memory) * MIB);
    gpus.push(g);
  }
  return gpus;
}

/**
 * The GPUs of `all` that a device list names, in the list's order. Entries are indices or UUIDs
 * (a UUID may be given by a unique prefix, as CUDA allows). As CUDA does, the list ends at the
 * first entry that names no GPU: `0,7,1` on a node of four GPUs is GPU 0 alone.
 */
export function pickDevices(all: readonly Gpu[], list: string): Gpu[] {
  const out: Gpu[] = [];
  for (const raw of list.split(',')) {
    const e = raw.trim();
    if (e === '') break;
    const g = /^\d+$/.test(e) ? all.find((x) => x.index === Number(e)) : uuidMatch(all, e);
    if (g === undefined) break;
    if (!out.includes(g)) out.push(g);
  }
  return out;
}

function uuidMatch(all: readonly Gpu[], e: string): Gpu | undefined {
  const hits = all.filter((g) => g.uuid !== undefined && g.uuid.startsWith(e));
  return hits.length === 1 ? hits[0] : undefined;
}

/**
 * What this process may use of the node's GPUs: CUDA_VISIBLE_DEVICES when set (Slurm sets it
 * for a job given GPUs, with the numbers this process's nvidia-smi shows), else the Slurm
 * step's or job's GPU list, else all of them. Returns the GPUs and what narrowed them.
 */
export function narrowGpus(all: readonly Gpu[], env: NodeJS.ProcessEnv): { gpus: Gpu[]; by: string | null } {
  const cuda = env.CUDA_VISIBLE_DEVICES;
  if (cuda !== undefined) return { gpus: pickDevices(all, cuda), by: 'CUDA_VISIBLE_DEVICES' };
  for (const name of ['SLURM_STEP_GPUS', 'SLURM_JOB_GPUS'] as const) {
    const list = env[name];
    if (list !== undefined && list.trim() !== '') return { gpus: pickDevices(all, list), by: name };
  }
  return { gpus: [...all], by: null };
}

/**
 * `--gpus LIST`: `none`, or GPU indices separated by commas (`0,1,2,3`). Throws a UsageError
 * naming the option and the value.
 */
export function parseGpuList(text: string): Gpu[] {
  const t = text.trim();
  if (t.toLowerCase() === 'none') return [];
  const items = t.split(',').map((s) => s.trim());
  const seen = new Set<number>();
  for (const s of items) {
    if (!/^\d+$/.test(s) || Number(s) > 65535) throw new UsageError(`--gpus must be 'none' or GPU indices separated by commas (e.g. 0,1,2,3), got '${text}'`);
    if (seen.has(Number(s))) throw new UsageError(`--gpus ${text}: GPU ${s} is named twice`);
    seen.add(Number(s));
  }
  return [...seen].map((index) => ({ index }));
}

/** Runs nvidia-smi; its stdout, or null (absent, failed, or too slow) with the reason. */
export function queryNvidiaSmi(timeoutMs = NVIDIA_SMI_TIMEOUT_MS): Promise<{ text: string } | { error: string }> {
  return new Promise((done) => {
    execFile('nvidia-smi', ['--query-gpu=index,uuid,memory.total', '--format=csv,noheader,nounits'], { timeout: timeoutMs, windowsHide: true }, (err, stdout) => {
      done(err ? { error: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'nvidia-smi is not on PATH' : err.message } : { text: stdout });
    });
  });
}

/**
 * The GPUs this agent offers: nvidia-smi's, narrowed (see narrowGpus). `debug` hears why there
 * are none, or what narrowed them.
 */
export async function probeGpus(env: NodeJS.ProcessEnv = process.env, debug: (fields: Record<string, unknown>, msg: string) => void = () => undefined): Promise<Gpu[]> {
  const r = await queryNvidiaSmi();
  if ('error' in r) {
    debug({ err: r.error }, 'no GPUs: nvidia-smi did not list any');
    return [];
  }
  const all = parseNvidiaSmi(r.text);
  const { gpus, by } = narrowGpus(all, env);
  if (by !== null) debug({ found: all.map((g) => g.index), usable: gpus.map((g) => g.index), by }, 'GPUs narrowed');
  return gpus;
}
