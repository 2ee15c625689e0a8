import { parseConfig, type Config } from './settings';

export { parseConfig, type Config } from './settings';

export const config: Config = parseConfig(process.env);

/** A setting that only some functions need; the function that needs it calls this at module scope. */
export function required<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new Error(`invalid configuration: ${name} is required by this function`);
  return value;
}
