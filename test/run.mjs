#!/usr/bin/env node
// Runs the compiled test files: unit, then integration and e2e (real nats-server, real processes).
// Usage: node test/run.mjs [unit|integration|e2e ...]   (default: all)
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const groups = process.argv.slice(2).length ? process.argv.slice(2) : ['unit', 'integration', 'e2e'];
const files = [];
const walk = (dir) => {
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir).sort()) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) walk(p);
    else if (f.endsWith('.test.js')) files.push(p);
  }
};
for (const g of groups) walk(join(root, 'dist', 'test', g));
// Examples carry their own tests (e.g. the handler module beside its test).
if (groups.includes('unit')) walk(join(root, 'dist', 'examples'));
if (files.length === 0) {
  console.error(`no compiled test files under dist/test/{${groups.join(',')}}: run 'npm run build' first`);
  process.exit(1);
}
// One file at a time: fault tests kill processes, cut links and eat memory, and must not
// share the 2-core machine with each other.
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-timeout=600000', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
