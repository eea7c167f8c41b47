import { graphDeltaExpired } from '../../src/sandbox/entra/faults.ts';
import { incrementalSuite } from './incremental.suite.ts';

incrementalSuite('entra', { route: 'usersDelta', expired: () => graphDeltaExpired() });
