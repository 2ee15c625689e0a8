/** Polls `read` until `done` holds (the local queue pollers run asynchronously). */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const t0 = Date.now();
  let started = Date.now();
  let value = await read();
  while (!done(value)) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(value).slice(0, 500)}`);
    // Poll no more often than every 100 ms, nor spend more than a fifth of the time reading.
    await new Promise((r) => setTimeout(r, Math.max(100, 4 * (Date.now() - started))));
    started = Date.now();
    value = await read();
  }
  return value;
}

export const uid = (prefix: string): string => `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
