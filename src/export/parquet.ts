/**
 * A table as Parquet, written by hyparquet-writer (pure JavaScript, one dependency: its own
 * reader) one row group at a time, so memory holds one group whatever the file's size. Every
 * column is optional (nulls allowed): `int` is INT64, `double` DOUBLE, `boolean` BOOLEAN,
 * `string` a UTF-8 BYTE_ARRAY; Snappy-compressed, as pandas and pyarrow write by default.
 */
import { ParquetWriter, fileWriter, schemaFromColumnData, type BasicType, type ColumnSource, type KeyValue } from 'hyparquet-writer';
import type { Cell, Column, ColumnType } from './columns.js';

/** Rows per row group at most. */
export const GROUP_ROWS = 100_000;
/** About this many bytes of cells per row group at most (text counted by its length). */
export const GROUP_BYTES = 32 * 2 ** 20;

const PARQUET_TYPE: Record<ColumnType, BasicType> = { boolean: 'BOOLEAN', int: 'INT64', double: 'DOUBLE', string: 'STRING' };

export interface ParquetOptions {
  /** Key-value metadata stored in the file's footer. */
  metadata?: KeyValue[];
  /** Rows per row group at most (tests use small groups). */
  groupRows?: number;
}

/** Writes `rows` (cells in column order) to `path` as Parquet; returns the rows written. */
export async function writeParquet(path: string, columns: readonly Column[], rows: AsyncIterable<Cell[]>, o: ParquetOptions = {}): Promise<number> {
  const sources = (data: unknown[][]): ColumnSource[] =>
    columns.map((c, i) => ({ name: c.name, type: PARQUET_TYPE[c.type], nullable: true, data: data[i]! as ColumnSource['data'] }));
  const schema = schemaFromColumnData({ columnData: sources(columns.map(() => [])) });
  const writer = new ParquetWriter({ writer: fileWriter(path), schema, createdBy: 'shoal', ...(o.metadata ? { kvMetadata: o.metadata } : {}) });
  const groupRows = o.groupRows ?? GROUP_ROWS;
  const ints = columns.map((c) => c.type === 'int');
  let data: unknown[][] = columns.map(() => []);
  let buffered = 0;
  let bytes = 0;
  let total = 0;
  const flush = async (): Promise<void> => {
    if (buffered === 0) return;
    await writer.write({ columnData: sources(data), rowGroupSize: buffered });
    total += buffered;
    data = columns.map(() => []);
    buffered = 0;
    bytes = 0;
  };
  for await (const cells of rows) {
    for (let i = 0; i < cells.length; i++) {
      const v = cells[i]!;
      // INT64 takes BigInt; the table's ints are safe integers, so nothing is rounded.
      data[i]!.push(ints[i] && v !== null ? BigInt(v as number) : v);
      bytes += typeof v === 'string' ? v.length : 8;
    }
    if (++buffered >= groupRows || bytes >= GROUP_BYTES) await flush();
  }
  await flush();
  await writer.finish();
  return total;
}
