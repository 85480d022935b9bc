/**
 * The node probe: physical cores from the kernel's CPU topology (SMT siblings count once, an
 * offline CPU not at all), and the probe agreeing with systeminformation on this machine.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import si from 'systeminformation';
import { physicalCores, probeNode } from '../../agents/probe.js';
import { parsePythonVersion } from '../../agents/python-probe.js';
import { tempSuite } from '../helpers/suite.js';

const suite = tempSuite('shoal-probe-');

/** A fake /sys/devices/system/cpu: one entry per CPU, [package, core] or 'offline'. */
function fakeCpus(name: string, cpus: Array<[number, number] | 'offline'>): string {
  const root = join(suite.dir, name);
  cpus.forEach((c, i) => {
    const dir = join(root, `cpu${i}`);
    mkdirSync(dir, { recursive: true });
    if (c === 'offline') {
      writeFileSync(join(dir, 'online'), '0\n');
      return;
    }
    if (i > 0) writeFileSync(join(dir, 'online'), '1\n');
    mkdirSync(join(dir, 'topology'));
    writeFileSync(join(dir, 'topology', 'physical_package_id'), `${c[0]}\n`);
    writeFileSync(join(dir, 'topology', 'core_id'), `${c[1]}\n`);
  });
  mkdirSync(join(root, 'cpufreq'), { recursive: true });
  return root;
}

test('physical cores: SMT siblings count once, per package, offline CPUs not at all', () => {
  assert.equal(physicalCores(fakeCpus('smt', [[0, 0], [0, 0], [0, 1], [0, 1]])), 2);
  // Core ids repeat on each package.
  assert.equal(physicalCores(fakeCpus('two-packages', [[0, 0], [0, 1], [1, 0], [1, 1]])), 4);
  assert.equal(physicalCores(fakeCpus('offline', [[0, 0], [0, 1], 'offline', 'offline'])), 2);
});

test('physical cores: null where there is no topology to read', () => {
  assert.equal(physicalCores(join(suite.dir, 'absent')), null);
});

test('the probe reports what systeminformation reports for this machine', async () => {
  const [probe, cpu, mem] = await Promise.all([probeNode({}), si.cpu(), si.mem()]);
  assert.equal(probe.cpus.logical, cpu.cores);
  assert.equal(probe.cpus.physical, cpu.physicalCores);
  assert.equal(probe.memory.total, mem.total);
  // Available memory moves between the two reads: same source (MemAvailable), within 5%.
  assert.ok(Math.abs(probe.memory.available - mem.available) <= 0.05 * mem.total, `available ${probe.memory.available} vs ${mem.available}`);
  assert.equal(probe.slurm, null);
});

test('python probe: reads the version python --version prints, on stdout or stderr', () => {
  assert.equal(parsePythonVersion('Python 3.11.2\n'), '3.11.2');
  assert.equal(parsePythonVersion('\nPython 2.7.18\n'), '2.7.18');
  assert.equal(parsePythonVersion('Python 3.13.0rc1'), '3.13.0rc1');
  assert.equal(parsePythonVersion('sh: python3: not found'), null);
});
