import { describe, expect, it } from 'vitest';
import { attributeList } from '../../src/sources/attributes.ts';

/** Okta app profiles and Graph properties alike: a string, an array, null or missing → string[]. */
describe('docker* attributes become lists (every source)', () => {
  it.each<[string, unknown, string[]]>([
    ['a string', 'member', ['member']],
    ['an array', ['backend', 'frontend'], ['backend', 'frontend']],
    ['null', null, []],
    ['missing', undefined, []],
    ['an empty string', '', []],
    ['an array with null and empty entries', ['backend', null, '', 'data'], ['backend', 'data']],
    ['untrimmed values, kept for the rules to judge', ['  backend ', 'Owner'], ['  backend ', 'Owner']],
    ['whitespace only, kept (only "" is empty)', ' ', [' ']],
    ['a number (schema typed number)', 3, ['3']],
    ['a boolean', true, ['true']],
    ['an object, kept as JSON so it is reported', { a: 1 }, ['{"a":1}']],
    ['an empty array', [], []],
  ])('%s', (_label, value, expected) => {
    expect(attributeList(value)).toEqual(expected);
  });
});
