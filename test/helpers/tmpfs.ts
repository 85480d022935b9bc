/**
 * A small filesystem that really fills up: a tmpfs mounted for a test (root only), which can
 * be grown while a job writes to it.
 *
 *   const disk = await smallDisk(t, '2m');   // null (test skipped) where nothing can be mounted
 *   ...
 *   disk.resize('16m');
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SmallDisk {
  readonly dir: string;
  /** Grows (or shrinks) the filesystem; it keeps its files. */
  resize(size: string): void;
  /** Makes it read-only (true) or writable again (false); it keeps its files. */
  readOnly(ro: boolean): void;
  unmount(): void;
}

/**
 * Mounts a tmpfs of `size` (`2m`) on a new temp dir. Where mounting is not allowed (not
 * root, no CAP_SYS_ADMIN) the test is skipped with the reason, except under CI, where it
 * fails: CI runs as root and must run it.
 */
export function smallDisk(t: { skip(msg: string): void; after(fn: () => unknown): void }, size: string): SmallDisk | null {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-small-disk-'));
  const mount = (opts: string): void => void execFileSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', dir], { stdio: 'pipe' });
  try {
    mount(`size=${size},mode=0755`);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const why = `cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]}); this test needs root`;
    if (process.env.CI) throw new Error(why);
    t.skip(why);
    return null;
  }
  let mounted = true;
  const remount = (opts: string): void => void execFileSync('mount', ['-o', `remount,${opts}`, dir], { stdio: 'pipe' });
  const disk: SmallDisk = {
    dir,
    resize: (s) => remount(`size=${s}`),
    readOnly: (ro) => remount(ro ? 'ro' : 'rw'),
    unmount() {
      if (!mounted) return;
      mounted = false;
      try {
        execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  t.after(() => disk.unmount());
  return disk;
}
