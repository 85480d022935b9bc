/**
 * The Bus conformance suite (test/unit/bus-conformance.test.ts) against NatsBus on a real
 * nats-server, so both implementations are held to one contract.
 */
import { connectNats } from '../../src/bus/index.js';
import { busConformance } from '../helpers/bus-conformance.js';
import { natsSuite } from '../helpers/suite.js';

const suite = natsSuite('shoal-bus-nats-');

busConformance('NatsBus', () => connectNats({ url: suite.nats.url, name: 'shoal-test bus-conformance' }));
