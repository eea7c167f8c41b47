import { stateRecoverySuite } from './state-recovery.suite.ts';

stateRecoverySuite('okta');
