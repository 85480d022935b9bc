/**
 * Cutting a test host off the network and healing it: a silent drop (iptables DROP on the
 * host's own eth0, inside its namespace), as a failed switch port or a firewall would do.
 * Nothing is refused, packets just vanish, so TCP connections stay open on both sides.
 * The rules live in the host's namespace and go away with it (see netns.ts).
 *
 *   const net = createHostNet({ names: ['p1'], dir });
 *   cut(net.host('p1'));  ...  heal(net.host('p1'));
 */
import { execFileSync } from 'node:child_process';
import type { NetHost } from './netns.js';

const RULES = [
  ['INPUT', '-i', 'eth0', '-j', 'DROP'],
  ['OUTPUT', '-o', 'eth0', '-j', 'DROP'],
] as const;

function iptables(h: NetHost, args: readonly string[]): void {
  // nsenter, not `ip netns exec`: see the note on /sys in netns.ts.
  execFileSync('nsenter', [`--net=/run/netns/${h.netns}`, '--', 'iptables', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Drops every packet into and out of the host. */
export function cut(h: NetHost): void {
  for (const [chain, ...rule] of RULES) iptables(h, ['-I', chain, '1', ...rule]);
}

/** Removes the drop rules again. */
export function heal(h: NetHost): void {
  for (const [chain, ...rule] of RULES) iptables(h, ['-D', chain, ...rule]);
}
