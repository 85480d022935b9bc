/**
 * The report page's own CSS and script, inlined into the HTML (the page must work with no
 * network: no CDN, no fonts, no external files).
 *
 * The script is browser/main.ts, type-checked against the DOM and compiled by
 * `npm run build` (tsconfig.browser.json) to browser/main.js beside this file in dist; it is
 * read from there once, when the first page is rendered.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ErrorCode, ShoalError } from '../errors.js';
import type { Palette } from './page-data.js';

/** The page's colours: the legend (html.ts) and the canvas (browser/main.ts) both use these. */
export const PALETTE: Palette = {
  kinds: ['#4e79a7', '#59a14f', '#76b7b2', '#b07aa1', '#9c755f', '#edc948', '#17becf', '#bab0ac', '#8cd17d', '#499894'],
  error: '#e15759',
  retry: '#f28e2b',
  // Light, so that a job's name reads over its band.
  bands: ['#c6d6e8', '#cde3c8', '#e6d3e1', '#f3e2b8', '#cfe7e5', '#e5d6cb'],
};

export const PAGE_CSS = `
:root { --fg:#1d232b; --muted:#5f6b7a; --line:#d9dee5; --bg:#fff; --panel:#f6f8fa; --accent:#4e79a7; }
* { box-sizing: border-box; }
body { margin: 0; padding: 16px 24px 48px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: var(--fg); background: var(--bg); }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.meta { color: var(--muted); word-break: break-all; }
.cards { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 12px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 6px 12px; min-width: 96px; }
.card b { display: block; font-size: 18px; }
.card span { color: var(--muted); font-size: 12px; }
.card.bad b { color: #c0392b; }
.toolbar { display: flex; gap: 6px; align-items: center; margin: 6px 0; flex-wrap: wrap; }
.toolbar button { font: inherit; padding: 2px 10px; border: 1px solid var(--line); background: var(--panel); border-radius: 4px; cursor: pointer; }
.toolbar .hint, .note { color: var(--muted); font-size: 12px; }
#legend { display: flex; gap: 14px; flex-wrap: wrap; font-size: 12px; color: var(--muted); margin: 4px 0 8px; }
#legend i { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 4px; vertical-align: -2px; }
#timeline-wrap { display: flex; border: 1px solid var(--line); border-radius: 4px; overflow: hidden; }
#lanes { flex: 0 0 auto; max-width: 280px; border-right: 1px solid var(--line); background: var(--panel); font-size: 11px; padding-top: 22px; }
.lane-label { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; padding: 0 8px; display: flex; align-items: center; }
.lane-label.tiny { font-size: 0; }
.lane-label.agent-start { border-top: 1px solid var(--line); }
.group-label { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; padding: 0 8px; display: flex; align-items: center; font-weight: 600; font-size: 12px; background: #e9edf2; border-top: 1px solid #c5cdd8; }
#plot { position: relative; flex: 1 1 auto; min-width: 0; }
#plot canvas, #util { display: block; width: 100%; }
#timeline { cursor: grab; }
#timeline.dragging { cursor: grabbing; }
#util-wrap { border: 1px solid var(--line); border-radius: 4px; }
#tooltip { position: fixed; pointer-events: none; background: #1d232b; color: #fff; font-size: 12px; padding: 6px 8px; border-radius: 4px; max-width: 420px; white-space: pre-line; z-index: 10; }
table { border-collapse: collapse; font-size: 13px; margin: 4px 0 8px; }
th, td { text-align: left; padding: 3px 10px 3px 0; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.msg { max-width: 640px; word-break: break-word; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
.two { display: flex; gap: 40px; flex-wrap: wrap; }
`;

const SCRIPT_FILE = fileURLToPath(new URL('./browser/main.js', import.meta.url));
let script: string | undefined;

/**
 * The page's script, an ES module importing nothing: inline it as <script type="module">.
 * Throws when the build did not make it, or when its text could end its <script> element.
 */
export function pageScript(): string {
  if (script !== undefined) return script;
  let text: string;
  try {
    text = readFileSync(SCRIPT_FILE, 'utf8');
  } catch (err) {
    throw new ShoalError(ErrorCode.Internal, `the report page's script ${SCRIPT_FILE} cannot be read: run 'npm run build'`, { cause: err });
  }
  if (/<(\/?script|!--)/i.test(text)) throw new ShoalError(ErrorCode.Internal, `${SCRIPT_FILE} holds '<script', '</script' or '<!--': it cannot be inlined`);
  script = text;
  return script;
}
