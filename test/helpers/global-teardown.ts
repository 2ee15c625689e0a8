import type { Emulator } from '../../lambdas/local/emulators';

export default async function globalTeardown(): Promise<void> {
  const emulators = (globalThis as { __emulators?: Emulator[] }).__emulators ?? [];
  await Promise.all(emulators.map((e) => e.stop()));
}
