/**
 * The Bus conformance suite (test/unit/bus-conformance.test.ts) against NatsBus on a real
 * nats-server, so both implementations are held to one contract.
 */
import { after, before } from 'node:test';
import { NatsBus } from '../../src/bus/index.js';
import { startTestNats, type TestNats } from '../helpers/nats.js';
import { busConformance } from '../helpers/bus-conformance.js';

let nats: TestNats;
before(async () => {
  nats = await startTestNats();
});
after(() => nats?.stop());

busConformance('NatsBus', () => NatsBus.connect({ url: nats.url, name: 'shoal-test bus-conformance' }));
