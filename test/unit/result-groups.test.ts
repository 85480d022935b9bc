/**
 * Result groups built task by task: the group's text is the tasks' texts end to end whatever
 * they hold (accents, CJK, surrogate pairs, escaped lone surrogates, texts larger than the
 * builder's first buffer), `ends` count UTF-16 units so taskText gives each task's text back,
 * and splitting keeps every task whole.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { columnsAgree, GroupBuilder, splitGroup, taskText } from '../../src/rows/index.js';

const TEXTS = [
  '{"v":"plain"}\n',
  '{"v":"café, naïve, Ångström"}\n',
  '{"v":"分子 構造 🧪🧬 𝔸"}\n',
  `${JSON.stringify({ v: 'lone \ud800 surrogate' })}\n`,
  `{"v":"${'x'.repeat(10_000)}"}\n`,
  `{"v":"${'é🧪'.repeat(30_000)}"}\n`,
  '{"v":1}\n',
];

function build(texts: string[]): ReturnType<GroupBuilder['build']> {
  const b = new GroupBuilder('J');
  texts.forEach((t, i) => b.add(`t${i}`, 1, i % 3 !== 1, i, t));
  return b.build();
}

test('a group holds its tasks texts end to end, each found again by taskText', () => {
  const g = build(TEXTS);
  assert.equal(g.text, TEXTS.join(''));
  assert.equal(g.ids.length, TEXTS.length);
  TEXTS.forEach((t, i) => assert.equal(taskText(g, i), t, `task ${i}`));
  assert.equal(g.status, 'oeooeoo');
  assert.deepEqual(g.ms, [0, 1, 2, 3, 4, 5, 6]);
  assert.equal(columnsAgree(g), true);
});

test('an empty builder gives an empty group', () => {
  const g = new GroupBuilder('J').build();
  assert.equal(g.text, '');
  assert.deepEqual(g.ids, []);
  assert.equal(columnsAgree(g), true);
});

test('many small texts past several growths keep their order and boundaries', () => {
  const texts = Array.from({ length: 5_000 }, (_, i) => `{"i":${i},"s":"${i % 7 === 0 ? 'ü🧪' : 'ab'}"}\n`);
  const g = build(texts);
  assert.equal(g.text, texts.join(''));
  assert.equal(taskText(g, 4_999), texts[4_999]);
  assert.equal(taskText(g, 2_100), texts[2_100]);
  assert.equal(columnsAgree(g), true);
});

test('a split group keeps every task whole', () => {
  const g = build(TEXTS);
  const parts = splitGroup(g, 1_000);
  assert.ok(parts.length > 1);
  assert.equal(parts.map((p) => p.text).join(''), g.text);
  assert.deepEqual(parts.flatMap((p) => p.ids), g.ids);
  for (const p of parts) assert.equal(columnsAgree(p), true);
});
