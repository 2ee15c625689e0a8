import { memo } from '../../../lambdas/shared/cache';

describe('memo', () => {
  it('shares one load between concurrent callers and expires entries', async () => {
    jest.useFakeTimers({ now: 0 });
    const get = memo<number>(1000);
    let loads = 0;
    const load = async () => ++loads;
    expect(await Promise.all([get('a', load), get('a', load)])).toEqual([1, 1]);
    jest.setSystemTime(999);
    expect(await get('a', load)).toBe(1);
    jest.setSystemTime(1000);
    expect(await get('a', load)).toBe(2);
    jest.useRealTimers();
  });

  it('forgets failed loads and bounds its size', async () => {
    const get = memo<string>(60_000, 2);
    await expect(get('x', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await get('x', async () => 'ok')).toBe('ok');
    await get('y', async () => 'y');
    await get('z', async () => 'z');
    expect(await get('x', async () => 'reloaded')).toBe('reloaded');
  });
});
