/**
 * An allocation queue's settings (src/cli/alloc-spec.ts): `shoal alloc add slurm` options and
 * `--alloc FILE.yaml` entries to a checked spec; walltimes as sbatch --time takes them; the
 * defaults; and errors that name the option (or the file, entry and setting) and say what to do.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { allocSpec, parseWalltime, readAllocFile } from '../../src/cli/alloc-spec.js';
import { UsageError } from '../../src/errors.js';
import { tempSuite } from '../helpers/suite.js';

const scratch = tempSuite('shoal-alloc-spec-');
const opt = (k: string): string => `--${k}`;

function usage(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof UsageError && re.test(e.message), String(re));
}

describe('walltimes', () => {
  it('takes the forms of sbatch --time', () => {
    const cases: Array<[string, number]> = [
      ['90', 90 * 60],
      ['5:30', 5 * 60 + 30],
      ['1:00:00', 3600],
      ['02:03:04', 2 * 3600 + 3 * 60 + 4],
      ['2-12', 2 * 86400 + 12 * 3600],
      ['2-12:30', 2 * 86400 + 12 * 3600 + 30 * 60],
      ['1-00:00:10', 86400 + 10],
      [' 60 ', 3600],
    ];
    for (const [text, s] of cases) assert.equal(parseWalltime(text, '--walltime'), s, text);
  });
  it('refuses anything else, naming the option and the forms', () => {
    for (const bad of ['', 'abc', '1:2:3:4', '1h', '-5', '1.5', '1-']) usage(() => parseWalltime(bad, '--walltime'), /^--walltime '.*': give minutes, MM:SS, HH:MM:SS or D-HH:MM:SS$/);
  });
});

describe('options', () => {
  it('fills in the defaults', () => {
    const s = allocSpec({}, opt);
    assert.deepEqual(s, { manager: 'slurm', maxJobs: 4, nodes: 1, walltimeS: 3600, sbatchArgs: [], agentArgs: [], idleTimeoutS: 300, drainBeforeS: 120, connectTimeoutS: 300, maxFailures: 3 });
    // --drain-before: at most a tenth of a short walltime.
    assert.equal(allocSpec({ walltime: '10' }, opt).drainBeforeS, 60);
    assert.equal(allocSpec({ walltime: '5' }, opt).drainBeforeS, 30);
  });
  it('reads every setting: numbers, words, memory in GB', () => {
    const s = allocSpec({ 'max-jobs': '8', nodes: '2', walltime: '2:00:00', partition: 'gpu', account: 'chem', qos: 'long', 'gpus-per-node': '4', 'cpus-per-node': '32', 'mem-per-node': '64', 'sbatch-args': '--constraint=a100  --exclusive', 'agent-args': '--allow-command', 'max-workers-total': '10', 'idle-timeout': '60', 'drain-before': '300', 'connect-timeout': '120', 'max-failures': '5', 'agent-nats': 'nats://login1:4222', name: 'big' }, opt);
    assert.deepEqual(s, {
      manager: 'slurm', maxJobs: 8, nodes: 2, walltimeS: 7200, partition: 'gpu', account: 'chem', qos: 'long', gpusPerNode: 4, cpusPerNode: 32, memPerNode: 64 * 2 ** 30,
      sbatchArgs: ['--constraint=a100', '--exclusive'], agentArgs: ['--allow-command'], maxWorkersTotal: 10, idleTimeoutS: 60, drainBeforeS: 300, connectTimeoutS: 120, maxFailures: 5, nats: 'nats://login1:4222', name: 'big',
    });
  });
  it('names the option of a wrong value and says what to give', () => {
    usage(() => allocSpec({ nope: 1 }, opt), /^--nope: no such allocation queue setting \(known: max-jobs, nodes, walltime/);
    usage(() => allocSpec({ 'max-jobs': 'many' }, opt), /^--max-jobs 'many': give a number of 0 or more$/);
    usage(() => allocSpec({ nodes: '-1' }, opt), /^--nodes '-1': give a number of 0 or more$/);
    usage(() => allocSpec({ walltime: '0:30' }, opt), /^--walltime: .*got 30/);
    usage(() => allocSpec({ walltime: '10', 'drain-before': '600' }, opt), /^--drain-before 600: must be shorter than the walltime \(600 s\)$/);
  });
});

describe('--alloc FILE.yaml', () => {
  const file = (name: string, text: string): string => {
    const f = join(scratch.dir, name);
    writeFileSync(f, text);
    return f;
  };
  it('reads a list of queues, or one under queues:, with the settings of the options', () => {
    const list = readAllocFile(file('list.yaml', '- name: cpu\n  max-jobs: 8\n  walltime: "2:00:00"\n  agent-args: [--allow-command, --gpus, "0"]\n- name: gpu\n  walltime: 90\n  gpus-per-node: 4\n'));
    assert.deepEqual(list.map((q) => [q.name, q.maxJobs, q.walltimeS, q.gpusPerNode ?? 0, q.agentArgs]), [['cpu', 8, 7200, 0, ['--allow-command', '--gpus', '0']], ['gpu', 4, 5400, 4, []]]);
    assert.equal(readAllocFile(file('queues.yaml', 'queues:\n  - nodes: 3\n')).at(0)!.nodes, 3);
  });
  it('names the file, the entry and the setting of a mistake', () => {
    const f1 = file('bad-entry.yaml', '- nodes: 1\n- walltime: soon\n');
    usage(() => readAllocFile(f1), new RegExp(`^--alloc ${f1}: queue 2: walltime 'soon': give minutes`));
    const f2 = file('unknown.yaml', '- max_jobs: 2\n');
    usage(() => readAllocFile(f2), new RegExp(`^--alloc ${f2}: queue 1: max_jobs: no such allocation queue setting`));
    const f3 = file('map.yaml', 'nodes: 2\n');
    usage(() => readAllocFile(f3), /expected a list of allocation queues \(or 'queues:' holding one\)/);
    const f4 = file('scalar.yaml', '- 5\n');
    usage(() => readAllocFile(f4), /queue 1 is not a mapping of settings/);
    const f5 = file('broken.yaml', '- nodes: [1\n');
    usage(() => readAllocFile(f5), new RegExp(`^--alloc ${f5}: `));
    usage(() => readAllocFile(join(scratch.dir, 'missing.yaml')), /missing\.yaml: cannot read it \(ENOENT\): give the path of a YAML file/);
  });
});
