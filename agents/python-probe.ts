/**
 * The Python an agent's python tasks get by default: the version of `python3` on its PATH (an
 * activated venv or conda env is what the agent was started in). Absent when there is none; a
 * job naming another interpreter (--python) finds out when its interpreters start.
 */
import { execFile } from 'node:child_process';

/** How long `python3 --version` may take. */
const TIMEOUT_MS = 5000;

/** "3.11.2" from `Python 3.11.2` (printed on stdout, or on stderr by Python 2), else null. */
export function parsePythonVersion(text: string): string | null {
  const m = /^Python (\d+\.\d+(?:\.\d+)?\S*)/m.exec(text);
  return m ? m[1]! : null;
}

/** The version of `python` (default `python3`) found on PATH, or null. */
export function probePython(python = 'python3'): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(python, ['--version'], { timeout: TIMEOUT_MS }, (err, stdout, stderr) => resolve(err ? null : parsePythonVersion(`${stdout}\n${stderr}`)));
  });
}
