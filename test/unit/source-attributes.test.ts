import { describe, expect, it } from 'vitest';
import type { IllTypedValue } from '../../src/model/idp.ts';
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
    ['an empty array', [], []],
  ])('%s', (_label, value, expected) => {
    const illTyped: IllTypedValue[] = [];
    expect(attributeList(value, 'dockerTeam', illTyped)).toEqual(expected);
    expect(illTyped).toEqual([]);
  });
});

describe('a value of another type is never coerced into a meaning (issue 13)', () => {
  it.each<[string, unknown, IllTypedValue[]]>([
    ['a number (a schema typed number)', 3, [{ field: 'dockerOrg', value: '3', expected: 'a string or a list of strings' }]],
    ['a boolean', true, [{ field: 'dockerOrg', value: 'true', expected: 'a string or a list of strings' }]],
    ['an object where a list belongs', { a: 1 }, [{ field: 'dockerOrg', value: '{"a":1}', expected: 'a string or a list of strings' }]],
    ['one bad item in a list, named by its index', ['acme', 7], [{ field: 'dockerOrg[1]', value: '7', expected: 'a string or a list of strings' }]],
  ])('%s is reported, not turned into text', (_label, value, expected) => {
    const illTyped: IllTypedValue[] = [];
    const out = attributeList(value, 'dockerOrg', illTyped);
    expect(out.every((v) => typeof v === 'string')).toBe(true);
    expect(out).not.toContain(String(value));
    expect(illTyped).toEqual(expected);
  });

  it('a long value is cut short in the report', () => {
    const illTyped: IllTypedValue[] = [];
    attributeList({ blob: 'x'.repeat(500) }, 'dockerTeam', illTyped);
    expect(illTyped[0]?.value.length).toBeLessThan(120);
    expect(illTyped[0]?.value).toContain('characters)');
  });
});
