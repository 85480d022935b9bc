/** Paths that tests share. Tests run from dist/test/..., fixtures stay in the source tree. */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'tsconfig.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`no repository root above ${start}`);
    dir = up;
  }
}

/** The repository root (where package.json is). */
export const repoRoot = findRoot(dirname(fileURLToPath(import.meta.url)));
/** `test/fixtures/<parts...>` in the source tree. */
export const fixture = (...parts: string[]): string => resolve(repoRoot, 'test', 'fixtures', ...parts);
/** The CLI as it ships (package.json's bin): the bundle build/bundle.mjs makes. */
export const cliPath = resolve(repoRoot, 'dist', 'bundle', 'main.js');
/** The CLI as tsc compiles it, one file per module (the startup bench compares the two). */
export const cliModulesPath = resolve(repoRoot, 'dist', 'src', 'cli', 'main.js');
