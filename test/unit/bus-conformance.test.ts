/** The bus conformance suite against the in-process bus (the NATS half is in test/integration/bus-nats.test.ts). */
import { MemoryBus } from '../../src/bus/index.js';
import { busConformance } from '../helpers/bus-conformance.js';

busConformance('MemoryBus', async () => new MemoryBus());
