/** Polls `read` until `done` holds (the local queue pollers run asynchronously). */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const t0 = Date.now();
  let value = await read();
  while (!done(value)) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(value).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 100));
    value = await read();
  }
  return value;
}

export const uid = (prefix: string): string => `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
