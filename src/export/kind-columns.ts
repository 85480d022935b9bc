/**
 * What a kind's values mean for a flat table (`export --flat`): which arrays are vectors (one
 * column per component) and which objects are keyed by numbers (ordered by them, named so
 * pandas can take them as attributes). Anything not listed here is flattened by the general
 * rules of columns.ts.
 */

/** How one kind's value is laid out in a flat table. */
export interface KindColumns {
  /** Value paths (keys joined by '.') of arrays that are vectors, and the names of their components. */
  readonly vectors?: Readonly<Record<string, readonly string[]>>;
  /** Value paths of objects keyed by numbers: their keys go in numeric order, each named by `name`. */
  readonly numbered?: Readonly<Record<string, { readonly name: (key: string) => string }>>;
}

/** A threshold key (`0.75`, `1.0`) as a column name part: `d0_75`, `d1_0` (d for δ). */
export function thresholdColumn(key: string): string {
  return `d${key.replace(/\./g, '_')}`;
}

export const KIND_COLUMNS: Readonly<Record<string, KindColumns>> = {
  conformers: {
    vectors: { rows: ['first', 'end'] },
    numbered: { metrics: { name: thresholdColumn } },
  },
  frames: {
    vectors: { cog: ['x', 'y', 'z'], com: ['x', 'y', 'z'] },
  },
};
