import { wallNow } from './clock';

/**
 * A small time-bounded memo for workspace data a warm function reads over and over (templates,
 * tenants, topics, brands, providers): concurrent callers share one in-flight load, entries expire
 * after `ttlMs` so edits show up within seconds, and the map never grows past `max` entries.
 */
export function memo<V>(ttlMs: number, max = 1000) {
  const entries = new Map<string, { at: number; value: Promise<V> }>();
  return (key: string, load: () => Promise<V>): Promise<V> => {
    const now = wallNow();
    const hit = entries.get(key);
    if (hit && now - hit.at < ttlMs) return hit.value;
    if (entries.size >= max) entries.delete(entries.keys().next().value!);
    const value = load();
    entries.set(key, { at: now, value });
    value.catch(() => entries.delete(key));
    return value;
  };
}
