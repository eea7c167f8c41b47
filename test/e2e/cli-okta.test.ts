import { cliSuite } from './cli.suite.ts';

cliSuite('okta');
