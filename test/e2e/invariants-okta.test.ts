import { invariantsSuite } from './invariants.suite.ts';

invariantsSuite('okta');
