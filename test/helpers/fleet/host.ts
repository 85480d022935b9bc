/**
 * A fleet host: one process that runs many simulated agents, for the fleet benchmark and test.
 * Each agent is the real Agent (core, pull loop, link, heartbeats, outbox, drain) on a NATS
 * connection of its own, with a host name of its own, a fake memory size and the inline pool
 * (agents/inline-pool.ts): its slots run on this process's main thread, so with `spin --sleep`
 * a slot costs a timer, not a thread.
 *
 *   node host.js --nats URL --ns NS --slots 64 [--memory-gb 16] [--log-level warn]
 *
 * Credentials come from the environment, as for every shoal process (SHOAL_NATS_USER, ...).
 * The controller (fleet.ts) sends FleetRequests over IPC and gets FleetReplies.
 */
import { parseArgs } from 'node:util';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Agent, inlinePool } from '../../../agents/index.js';
import { connectNats } from '../../../src/bus/index.js';
import { subjects } from '../../../protocol/index.js';
import { createLogger } from '../../../src/log.js';
import { principalFromEnv } from '../../../src/cli/actors.js';
import { Samples, TimedBus, type FleetMeters } from './timed-bus.js';
import type { FleetReply, FleetRequest, HostStats, SimAgentState } from './protocol.js';

const { values: o } = parseArgs({
  options: {
    nats: { type: 'string' },
    ns: { type: 'string' },
    slots: { type: 'string', default: '64' },
    'memory-gb': { type: 'string', default: '16' },
    'log-level': { type: 'string', default: 'warn' },
  },
});
if (!o.nats || !o.ns) throw new Error('fleet host: --nats URL and --ns NS are required');
const url = o.nats;
const subj = subjects(o.ns);
const slots = Number(o.slots);
const memory = Number(o['memory-gb']) * 2 ** 30;
const log = createLogger(o['log-level'] as 'warn');
const principal = principalFromEnv(process.env);

const meters: FleetMeters = { pulls: new Samples(), results: new Samples(), heartbeats: new Samples() };
const agents = new Map<string, { agent: Agent; bus: TimedBus }>();

/** The process's CPU and its event loop's delay, once a second, for the stats of a window. */
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
const load: Array<{ at: number; cpuUs: number; p99: number; max: number }> = [];
const sampleLoad = (): void => {
  const c = process.cpuUsage();
  load.push({ at: Date.now(), cpuUs: c.user + c.system, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 });
  loop.reset();
};
sampleLoad();
setInterval(sampleLoad, 1000).unref();

async function add(hosts: string[]): Promise<string[]> {
  const started = await Promise.all(
    hosts.map(async (host) => {
      const inner = await connectNats({ url, name: `shoal-sim ${host}`, connectRetryMs: 10_000 });
      const bus = new TimedBus(inner, subj, principal, meters);
      const info = { host, pid: process.pid, cpus: { logical: slots, physical: slots, usable: slots }, memory: { total: memory, available: memory, limit: memory } };
      const agent = new Agent(bus, subj, info, log.child({ component: 'agent', host }), { workers: slots, memoryLimit: memory, principal, pool: inlinePool }, async () => memory);
      agents.set(host, { agent, bus });
      agent.start();
      return agent;
    }),
  );
  // Joined: the core holds a link to a coordinator.
  const deadline = Date.now() + 60_000;
  while (started.some((a) => a.core.link === null)) {
    if (Date.now() > deadline) throw new Error(`agents not joined after 60 s: ${started.filter((a) => a.core.link === null).map((a) => a.id).join(', ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return started.map((a) => a.id);
}

function named(hosts: string[]): Array<{ agent: Agent; bus: TimedBus }> {
  return hosts.map((h) => {
    const a = agents.get(h);
    if (!a) throw new Error(`this fleet host runs no agent '${h}'`);
    return a;
  });
}

async function drain(hosts: string[], graceMs?: number): Promise<number[]> {
  return Promise.all(
    named(hosts).map(async ({ agent, bus }) => {
      const code = await agent.drain(graceMs);
      await bus.close();
      return code;
    }),
  );
}

function vanish(hosts: string[]): void {
  for (const { agent, bus } of named(hosts)) {
    bus.sever();
    void agent.stop(1, 'vanished').then(() => bus.close());
  }
}

function stats(from: number, to: number): HostStats {
  const states: SimAgentState[] = [...agents.entries()].map(([host, { agent }]) => ({ host, id: agent.id, state: agent.core.state, done: agent.stats.done, busy: agent.stats.busy }));
  const inWindow = load.filter((l) => l.at >= from && l.at <= to);
  const first = inWindow[0];
  const last = inWindow[inWindow.length - 1];
  const cpuPercent = first && last && last.at > first.at ? ((last.cpuUs - first.cpuUs) / 1000 / (last.at - first.at)) * 100 : 0;
  return {
    agents: states,
    pulls: meters.pulls.between(from, to),
    results: meters.results.between(from, to),
    heartbeats: meters.heartbeats.between(from, to).length,
    cpuPercent: +cpuPercent.toFixed(1),
    loopDelayP99Ms: +Math.max(0, ...inWindow.slice(1).map((l) => l.p99)).toFixed(1),
    loopDelayMaxMs: +Math.max(0, ...inWindow.slice(1).map((l) => l.max)).toFixed(1),
  };
}

async function stop(): Promise<void> {
  await Promise.all([...agents.values()].map(async ({ agent, bus }) => {
    await agent.stop(0, 'fleet stopped');
    await bus.close();
  }));
}

async function handle(req: FleetRequest): Promise<unknown> {
  switch (req.op) {
    case 'add':
      return add(req.hosts);
    case 'drain':
      return drain(req.hosts, req.graceMs);
    case 'vanish':
      return vanish(req.hosts);
    case 'stats':
      return stats(req.from, req.to);
    case 'stop':
      return stop();
  }
}

process.on('message', (req: FleetRequest) => {
  void handle(req).then(
    (result) => {
      process.send!({ id: req.id, ok: true, result: result ?? null } satisfies FleetReply);
      if (req.op === 'stop') process.disconnect();
    },
    (err: unknown) => process.send!({ id: req.id, ok: false, error: (err as Error)?.stack ?? String(err) } satisfies FleetReply),
  );
});
// The controller went away: nothing is left to answer to.
process.on('disconnect', () => process.exit(0));
