/**
 * Sorts in place by keys computed once per item. A comparator that lowercases both names computes
 * them twice per comparison: at 100,000 users, 3.4 million throwaway strings for one sort, a
 * good part of a plan's CPU. Keys compare element by element, as strings or numbers compare.
 */
export function sortByKeys<T>(items: T[], keys: (item: T) => ReadonlyArray<string | number>): T[] {
  const decorated = items.map((item) => ({ item, k: keys(item) }));
  decorated.sort((a, b) => {
    for (let i = 0; i < a.k.length; i++) {
      const x = a.k[i] as string | number;
      const y = b.k[i] as string | number;
      if (x < y) return -1;
      if (x > y) return 1;
    }
    return 0;
  });
  for (let i = 0; i < items.length; i++) items[i] = (decorated[i] as { item: T }).item;
  return items;
}
