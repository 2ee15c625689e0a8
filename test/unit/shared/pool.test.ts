import { limiter } from '../../../lambdas/shared/pool';

describe('limiter', () => {
  it.each([1, 3, 32])('runs at most %i calls at once, and every call, each with its own result or error', async (limit) => {
    const run = limiter(limit);
    let running = 0;
    let most = 0;
    const call = (i: number) =>
      run(async () => {
        running++;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, 1 + (i % 3)));
        running--;
        if (i % 7 === 6) throw new Error(`call ${i} failed`);
        return i;
      });
    const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => call(i)));
    expect(most).toBe(Math.min(limit, 50));
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual(
      Array.from({ length: 50 }, (_, i) => (i % 7 === 6 ? `call ${i} failed` : i)),
    );
    expect(running).toBe(0);
  });
});
