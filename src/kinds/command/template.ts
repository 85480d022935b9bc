/**
 * The argv template of a command job: placeholders are replaced per line of the --args file,
 * the way GNU parallel spells them, so users can bring their habits along.
 *
 *   {}    the line            {#}   its line number in the file (from 1)
 *   {.}   the line without its extension          {/}   its basename
 *   {//}  its dirname         {/.}  its basename without extension
 *
 * A template with no placeholder at all gets the line appended as its last argument.
 */

const PLACEHOLDER = /\{(#|\.|\/|\/\/|\/\.)?\}/g;

/** The line without its extension: `a/b.tar.gz` → `a/b.tar`, `a.d/b` → `a.d/b`, `.rc` → `.rc`. */
function noExt(s: string): string {
  const slash = s.lastIndexOf('/');
  const dot = s.lastIndexOf('.');
  return dot > slash + 1 ? s.slice(0, dot) : s;
}

function basename(s: string): string {
  return s.slice(s.lastIndexOf('/') + 1);
}

function dirname(s: string): string {
  const slash = s.lastIndexOf('/');
  return slash < 0 ? '.' : slash === 0 ? '/' : s.slice(0, slash);
}

function substitute(token: string | undefined, line: string, n: number): string {
  switch (token) {
    case undefined:
      return line;
    case '#':
      return String(n);
    case '.':
      return noExt(line);
    case '/':
      return basename(line);
    case '//':
      return dirname(line);
    case '/.':
      return noExt(basename(line));
    default:
      return line;
  }
}

/** Whether any argument of the template has a placeholder. */
export function hasPlaceholder(template: readonly string[]): boolean {
  return template.some((a) => {
    PLACEHOLDER.lastIndex = 0;
    return PLACEHOLDER.test(a);
  });
}

/** The argv for one line (`n` = its 1-based line number). */
export function expandArgv(template: readonly string[], line: string, n: number): string[] {
  if (!hasPlaceholder(template)) return [...template, line];
  return template.map((a) => a.replace(PLACEHOLDER, (_m, token: string | undefined) => substitute(token, line, n)));
}
