import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Emulator } from '../../lambdas/local/emulators';

/**
 * Stops the emulators, and writes what the functions called in this run, per function, to
 * .local/iam-observed.json (the (function, action) pairs behind each role's grants; see README Tests).
 */
export default async function globalTeardown(): Promise<void> {
  const emulators = (globalThis as { __emulators?: Emulator[] }).__emulators ?? [];
  await Promise.all(emulators.map((e) => e.stop()));
  const log = process.env.TEST_AWS_CALLS_LOG;
  if (!log || !existsSync(log)) return;
  const byFunction: Record<string, Set<string>> = {};
  for (const line of readFileSync(log, 'utf8').split('\n').filter(Boolean)) {
    const { fn, action } = JSON.parse(line) as { fn: string; action: string };
    (byFunction[fn] ??= new Set()).add(action);
  }
  const out = Object.fromEntries(
    Object.entries(byFunction)
      .sort()
      .map(([fn, actions]) => [fn, [...actions].sort()]),
  );
  const pairs = Object.values(out).reduce((n, a) => n + a.length, 0);
  const dir = path.resolve(__dirname, '../../.local');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'iam-observed.json'), JSON.stringify(out, null, 2) + '\n');
  console.log(`AWS calls observed: ${pairs} distinct (function, action) pairs over ${Object.keys(out).length} functions (.local/iam-observed.json)`);
}
