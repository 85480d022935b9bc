/**
 * Loaded by the agent's worker threads as the last of their handler modules (createAgent puts
 * it there): it imports the other handler modules and re-exports their kinds wrapped into the
 * Kind contract, so a simple `{ name, run(task, ctx) }` export works. The worker keeps the
 * last definition of each name, i.e. the wrapped one.
 *
 * If the worker's own loader ever wraps kinds itself (kindsOfModule), this module and the
 * line in createAgent that adds it can go.
 */
import { workerData, isMainThread } from 'node:worker_threads';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Kind } from '../types.js';
import { kindsOfModule } from './index.js';

const self = fileURLToPath(import.meta.url);
const paths = isMainThread ? [] : ((workerData as { handlers?: string[] } | undefined)?.handlers ?? []).filter((p) => p !== self);

const loaded: Kind<unknown>[] = [];
for (const path of paths) loaded.push(...kindsOfModule((await import(pathToFileURL(path).href)) as Record<string, unknown>, path));

export const kinds: Kind<unknown>[] = loaded;
