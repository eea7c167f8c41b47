import { stateRecoverySuite } from './state-recovery.suite.ts';

stateRecoverySuite('entra');
