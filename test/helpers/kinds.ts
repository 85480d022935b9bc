/** A kind's command-line options as `shoal run <kind>` parses them, turned into its params. */
import assert from 'node:assert/strict';
import { Command } from '@commander-js/extra-typings';
import type { Kind } from '../../src/kinds/index.js';

/** Parses `args` as `<kind> <args>` (hooks and action included, as the CLI runs them) and returns the kind's params. */
export function kindParams<P>(kind: Kind<P>, args: string[]): P {
  const program = new Command().exitOverride();
  const sub = program.command(kind.name).exitOverride();
  kind.addOptions(sub);
  let params: { p: P } | null = null;
  sub.action((opts: Record<string, unknown>) => {
    params = { p: kind.params(opts) };
  });
  program.parse([kind.name, ...args], { from: 'user' });
  assert.ok(params, 'the action ran');
  return (params as { p: P }).p;
}
