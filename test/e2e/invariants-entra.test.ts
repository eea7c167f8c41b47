import { invariantsSuite } from './invariants.suite.ts';

invariantsSuite('entra');
