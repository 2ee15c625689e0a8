import { targetData } from '../../../lambdas/shared/jobs';
import { packBySize } from '../../../lambdas/shared/queue';

describe('packBySize', () => {
  it.each([
    ['nothing', [], 10, 3, []],
    ['by count', [1, 1, 1, 1, 1], 100, 2, [[1, 1], [1, 1], [1]]],
    [
      'by bytes',
      [4, 4, 4, 4],
      10,
      10,
      [
        [4, 4],
        [4, 4],
      ],
    ],
    ['exactly the limit', [5, 5, 5], 10, 10, [[5, 5], [5]]],
    ['an item over the limit alone', [3, 20, 3, 3], 10, 10, [[3], [20], [3, 3]]],
    ['bytes and count together', [1, 9, 1, 1, 1, 1], 10, 3, [[1, 9], [1, 1, 1], [1]]],
  ])('%s', (_name, sizes, maxBytes, maxCount, want) => {
    expect(packBySize(sizes, (n) => n, maxBytes, maxCount)).toEqual(want);
  });

  it('keeps order and never exceeds either limit, except a single oversized item', () => {
    const sizes = Array.from({ length: 500 }, (_, i) => ((i * 7919) % 97) + 1);
    const runs = packBySize(sizes, (n) => n, 120, 7);
    expect(runs.flat()).toEqual(sizes);
    for (const run of runs) {
      expect(run.length).toBeLessThanOrEqual(7);
      if (run.length > 1) expect(run.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(120);
    }
  });
});

describe('targetData', () => {
  const message = { to: [{ user_id: 'u' }, { list_id: 'l', data: { big: 'x' } }] as never };
  it.each([
    ['its own copy wins', { data: { own: 1 }, target: 1 }, { own: 1 }],
    ['the referenced entry', { target: 1 }, { big: 'x' }],
    ['an entry without data', { target: 0 }, undefined],
    ['no reference', {}, undefined],
    ['a reference past the entries', { target: 9 }, undefined],
  ])('%s', (_name, r, want) => {
    expect(targetData(message, r)).toEqual(want);
  });

  it('reads a single (non-array) `to`', () => {
    expect(targetData({ to: { list_id: 'l', data: { a: 1 } } as never }, { target: 0 })).toEqual({ a: 1 });
  });
});
