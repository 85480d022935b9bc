/**
 * What changed between a job's record and the same job submitted again, said in the user's
 * words for a refused resume: each input whose content changed, each option with its old and
 * new value (`--threshold was 0.75, now 1`), the upstream run of a stage.
 */
import { Command } from '@commander-js/extra-typings';
import { remoteHandlerKind } from '../../src/kinds/handlers/index.js';
import type { Kind } from '../../src/kinds/index.js';
import type { InputFacts } from './content-hash.js';
import { identityOf } from './identity.js';
import { canonical, type Fingerprinted, type JobRecord } from './record.js';

/** A value as the refusal shows it: lists of numbers as an option takes them, long values cut. */
function shown(v: unknown): string {
  if (v === undefined || v === null) return 'none';
  if (typeof v === 'string') return v === '' ? '""' : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const s = Array.isArray(v) && v.every((x) => typeof x === 'number') ? v.join(',') : canonical(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The key paths where `a` and `b` differ (objects compared key by key; anything else as a whole). */
function differences(a: unknown, b: unknown, path: string[] = []): Array<{ path: string[]; was: unknown; now: unknown }> {
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => differences(a[k], b[k], [...path, k]));
  }
  return canonical(a ?? null) === canonical(b ?? null) ? [] : [{ path, was: a, now: b }];
}

/** Params keys kept in milliseconds whose option is given in seconds (`timeoutMs` ↔ `--timeout`). */
const IN_MS = /^(.+)Ms$/;

/**
 * Names a params key path as the user typed it: the kind's option whose name is the key (or
 * the key is its plural, `thresholds` ↔ `--threshold`; or it in ms, `idleMs` ↔ `--idle` in
 * seconds), its nested keys after it (`--params ff`); else the key path itself.
 */
function optionNamer(kindName: string, kind: Kind<unknown> | null): (path: string[], v: unknown) => { name: string; value: unknown } {
  const cmd = new Command();
  try {
    (kind ?? remoteHandlerKind(kindName)).addOptions(cmd);
  } catch {
    // A name no handler kind may have: the key paths name the changes.
  }
  const byAttr = new Map(cmd.options.filter((o) => o.long !== undefined).map((o) => [o.attributeName(), o.long!]));
  return (path, v) => {
    const [key, ...rest] = path;
    const tail = rest.length ? ` ${rest.join('.')}` : '';
    const flag = byAttr.get(key!) ?? (key!.endsWith('s') ? byAttr.get(key!.slice(0, -1)) : undefined);
    if (flag !== undefined) return { name: flag + tail, value: v };
    const ms = IN_MS.exec(key!);
    const inS = ms ? byAttr.get(ms[1]!) : undefined;
    if (inS !== undefined && rest.length === 0) return { name: inS, value: typeof v === 'number' ? v / 1000 : v };
    return { name: path.join('.'), value: v };
  };
}

/** Each input that changed, by position (the fingerprint's order): its content, or (records of an earlier shoal) its size or mtime. */
function inputChanges(old: readonly InputFacts[], now: readonly InputFacts[], hashed: boolean): string[] {
  const out: string[] = [];
  for (let i = 0; i < Math.max(old.length, now.length); i++) {
    const o = hashed ? old[i] : old.find((x) => x.path === now[i]?.path);
    const n = now[i];
    if (!n) {
      if (hashed) out.push(`input ${o!.path} is no longer one of its inputs`);
      continue;
    }
    if (!o) {
      out.push(`input ${n.path} is new`);
      continue;
    }
    const where = o.path === n.path ? n.path : `${n.path} (was ${o.path})`;
    if (o.size !== n.size) out.push(`input ${where} changed size (${o.size} → ${n.size} bytes)`);
    else if (hashed && o.sha256 !== n.sha256) out.push(`input ${where} changed content (same size, ${n.size} bytes)`);
    else if (!hashed && o.mtimeMs !== Math.round(n.mtimeMs)) {
      out.push(`input ${where} was modified (${new Date(o.mtimeMs).toISOString()} → ${new Date(n.mtimeMs).toISOString()}; the job's record, from an earlier shoal, holds no hash of its content to compare)`);
    }
  }
  return out;
}

/** What of `params` counts, or all of them where the kind no longer reads them (a record of an older shoal). */
function identityOrAll(kindName: string, kind: Kind<unknown> | null, params: unknown): unknown {
  try {
    return identityOf(kindName, kind, params).identity;
  } catch {
    return params;
  }
}

/**
 * How the submission `now` differs from the job `old` was made from, for the refusal: each
 * change, in the order upstream, inputs, options ('; ' between them). `kind` is the job's
 * kind (null: a handler kind).
 */
export function describeChange(old: JobRecord, now: Fingerprinted, kind: Kind<unknown> | null): string {
  if (old.kind !== now.kind) return `kind was ${old.kind}, now ${now.kind}`;
  const changes: string[] = [];
  if (now.upstream && old.upstream?.run !== now.upstream.run) {
    changes.push(`its rows were made from another run of upstream job '${now.upstream.job}' (it was run again, or its inputs or parameters changed, since)`);
  }
  changes.push(...inputChanges(old.inputs, now.inputs, old.fingerprintBy === 'content'));
  const name = optionNamer(now.kind, kind);
  for (const d of differences(identityOrAll(old.kind, kind, old.params), identityOrAll(now.kind, kind, now.params))) {
    const was = name(d.path, d.was);
    changes.push(`${was.name} was ${shown(was.value)}, now ${shown(name(d.path, d.now).value)}`);
  }
  return changes.length ? changes.join('; ') : "its fingerprint differs (the job's record was written by another version of shoal)";
}
