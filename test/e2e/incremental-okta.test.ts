import { oktaLogCursorExpired } from '../../src/sandbox/okta/faults.ts';
import { incrementalSuite } from './incremental.suite.ts';

incrementalSuite('okta', { route: 'listLogEvents', expired: oktaLogCursorExpired });
