/** The wire protocol: subjects, messages, codec, version. Pure: no I/O. */
export * from './version.js';
export * from './subjects.js';
export * from './messages.js';
export * from './control.js';
export * from './alloc.js';
export * from './codec.js';
export * from './size.js';
