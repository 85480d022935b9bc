/**
 * "Hosts" on one machine: Linux network namespaces on a private bridge (root only), for
 * multi-node tests. Each host has its own address, and processes started through `wrap()`
 * also get its hostname and an /etc/hosts that names every host. Nothing can leave the
 * machine: the namespaces have no default route.
 *
 *   const why = netnsUnavailable();          // null when namespaces work here
 *   const net = createHostNet({ names: ['n1', 'n2'], dir });
 *   spawn(...net.wrap('n1', ['slurmd', ...]));
 *   net.teardown();                          // also runs on process exit
 *
 * Learnt the hard way: `nsenter --net` rather than `ip netns exec`
 * (which remounts /sys and breaks slurmd's cgroup checks); delete the host-side veth before
 * the namespace (namespaces go lazily); bridged frames cross the machine's FORWARD chain
 * when br_netfilter is loaded, so an ACCEPT rule for the bridge is added and removed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export interface NetHost {
  /** Host name (also its hostname inside `wrap`). */
  readonly name: string;
  /** The network namespace (`/run/netns/<netns>`). */
  readonly netns: string;
  readonly ip: string;
  /** The machine-side end of its cable. */
  readonly veth: string;
}

export interface HostNet {
  readonly bridge: string;
  /** The machine's own address on the bridge (reachable from every host). */
  readonly gateway: string;
  readonly hosts: readonly NetHost[];
  /** The /etc/hosts every wrapped process sees. */
  readonly hostsFile: string;
  host(name: string): NetHost;
  /** argv that runs `argv` on `name`: its network, hostname and /etc/hosts. */
  wrap(name: string, argv: readonly string[]): string[];
  /** Pids of every process in a host's namespace. */
  pids(name: string): number[];
  /** Kills what runs in the namespaces, removes them, the bridge and the firewall rule. Idempotent. */
  teardown(): void;
}

function run(cmd: string, args: readonly string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function tryRun(cmd: string, args: readonly string[]): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

/** Null when this process may create network namespaces, else why not. */
export function netnsUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  for (const bin of ['ip', 'nsenter', 'unshare']) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status !== 0) return `${bin} is not installed (iproute2, util-linux)`;
  }
  const probe = `shoalprobe${randomBytes(3).toString('hex')}`;
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (r.status !== 0) return `cannot create network namespaces here: ${(r.stderr || '').trim()}`;
  tryRun('ip', ['netns', 'del', probe]);
  return null;
}

/** A /24 under 10.231.0.0/16 that no interface of this machine uses. */
function freeSubnet(): string {
  const used = run('ip', ['-4', '-o', 'addr', 'show']);
  for (let tries = 0; tries < 200; tries++) {
    const third = 100 + Math.floor(Math.random() * 150);
    const net = `10.231.${third}`;
    if (!used.includes(` ${net}.`)) return net;
  }
  throw new Error('no free 10.231.x.0/24 subnet for the test bridge');
}

const live = new Set<HostNet>();
let exitHook = false;

/** Creates the bridge and one namespace per name (addresses .11, .12, ...; the machine is .1). */
export function createHostNet(o: { names: readonly string[]; dir: string }): HostNet {
  const id = randomBytes(3).toString('hex');
  const prefix = `sh${id}`;
  const bridge = `${prefix}br`;
  const subnet = freeSubnet();
  const gateway = `${subnet}.1`;
  const hosts: NetHost[] = o.names.map((name, i) => ({ name, netns: `${prefix}-${name}`, ip: `${subnet}.${11 + i}`, veth: `${prefix}v${i}` }));
  const hostsFile = join(o.dir, 'hosts');
  writeFileSync(hostsFile, ['127.0.0.1 localhost', `${gateway} ${hostname()}`, ...hosts.map((h) => `${h.ip} ${h.name}`)].join('\n') + '\n');

  let forwardRule: string[] | null = null;
  let down = false;
  const net: HostNet = {
    bridge,
    gateway,
    hosts,
    hostsFile,
    host(name) {
      const h = hosts.find((x) => x.name === name);
      if (!h) throw new Error(`no host '${name}' (hosts: ${hosts.map((x) => x.name).join(', ')})`);
      return h;
    },
    wrap(name, argv) {
      const h = net.host(name);
      return [
        'nsenter',
        `--net=/run/netns/${h.netns}`,
        '--',
        'unshare',
        '--mount',
        '--uts',
        '--',
        'sh',
        '-c',
        'mount --bind "$1" /etc/hosts && hostname "$2" && shift 2 && exec "$@"',
        'sh',
        hostsFile,
        name,
        ...argv,
      ];
    },
    pids(name) {
      const r = spawnSync('ip', ['netns', 'pids', net.host(name).netns], { encoding: 'utf8' });
      return (r.stdout || '')
        .split('\n')
        .map((l) => Number(l.trim()))
        .filter((n) => Number.isInteger(n) && n > 0);
    },
    teardown() {
      if (down) return;
      down = true;
      live.delete(net);
      for (const h of hosts) {
        for (const pid of net.pids(h.name)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone already
          }
        }
      }
      for (const h of hosts) tryRun('ip', ['link', 'del', h.veth]);
      for (const h of hosts) tryRun('ip', ['netns', 'del', h.netns]);
      tryRun('ip', ['link', 'del', bridge]);
      if (forwardRule) tryRun('iptables', ['-D', ...forwardRule]);
    },
  };
  live.add(net);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const n of [...live]) n.teardown();
    });
  }

  try {
    run('ip', ['link', 'add', bridge, 'type', 'bridge']);
    run('ip', ['addr', 'add', `${gateway}/24`, 'dev', bridge]);
    run('ip', ['link', 'set', bridge, 'up']);
    for (const h of hosts) {
      run('ip', ['netns', 'add', h.netns]);
      run('ip', ['link', 'add', h.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.netns]);
      run('ip', ['link', 'set', h.veth, 'master', bridge, 'up']);
      run('ip', ['-n', h.netns, 'addr', 'add', `${h.ip}/24`, 'dev', 'eth0']);
      run('ip', ['-n', h.netns, 'link', 'set', 'eth0', 'up']);
      run('ip', ['-n', h.netns, 'link', 'set', 'lo', 'up']);
    }
    // With br_netfilter, frames between the namespaces pass the machine's FORWARD chain,
    // which may drop them (Docker-style hosts): let this bridge's own traffic through.
    const rule = ['FORWARD', '-i', bridge, '-o', bridge, '-j', 'ACCEPT'];
    if (tryRun('iptables', ['-I', ...rule])) forwardRule = rule;
  } catch (err) {
    net.teardown();
    const e = err as Error & { stderr?: string };
    throw new Error(`cannot create the test hosts: ${e.stderr?.trim() || e.message}`);
  }
  return net;
}
