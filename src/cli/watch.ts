/** `shoal status --watch`: redraws on a TTY, prints plain lines otherwise. */
import type { CtlClient } from './client.js';
import type { Output } from './output.js';
import { printStatus } from './commands/control.js';
import { formatDuration, formatRate } from './output.js';

export async function watchStatus(c: CtlClient, out: Output, job: string | undefined, intervalMs: number): Promise<void> {
  for (;;) {
    const st = await c.status(job);
    if (out.json) out.data(st);
    else if (process.stdout.isTTY) {
      process.stdout.write('\x1b[2J\x1b[H');
      printStatus(out, st.jobs, st.agents);
    } else {
      for (const j of st.jobs) out.line(`${new Date(st.now).toISOString()} ${j.job} ${j.state} ${j.done}/${j.total} failed=${j.failed} running=${j.running} rate=${formatRate(j.rate)}/s eta=${j.etaS === null ? '?' : formatDuration(j.etaS)}`);
    }
    if (job && st.jobs.every((j) => j.state !== 'running' && j.state !== 'expanding')) return;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
