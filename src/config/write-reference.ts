import { writeFileSync } from 'node:fs';
import { renderConfigReference } from './reference.ts';

/** `npm run docs`: rewrites docs/configuration.md from the key table. */
writeFileSync(new URL('../../docs/configuration.md', import.meta.url), renderConfigReference());
