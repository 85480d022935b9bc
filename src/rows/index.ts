/**
 * What a result row is, with no I/O: rendering rows (fixed field order) and result groups (the
 * rows of several tasks of one job in columns). Used where rows are made (worker threads, the
 * agent's core, the coordinator's error rows) and where they are written (the sink).
 */
export { okRow, errorRow, toJson, type RowHead } from './render.js';
export { GroupBuilder, taskText, columnsAgree, oversized, splitGroup } from './groups.js';
