/**
 * Outputs as tables for analysis (`shoal export`): a JSONL output as CSV or Parquet, one row
 * per line in task order, one column per field of the row and of its value (flattened with
 * `flat`).
 */
export { exportOutput, formatFor, defaultExportPath, FORMATS, MAX_LINE_NUMBERS, type ExportFormat, type ExportOptions, type ExportReport } from './export.js';
export { TableShape, Table, isRow, MAX_COLUMNS, type Cell, type Column, type ColumnType, type Row, type SkippedField } from './columns.js';
export { KIND_COLUMNS, thresholdColumn, type KindColumns } from './kind-columns.js';
export type { TornTail } from './lines.js';
export { naturalCompare } from './order.js';
