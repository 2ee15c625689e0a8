import { documents } from './documents';

/** A configured provider: which catalog provider, serving which channel, at which priority. */
export interface ProviderDoc {
  provider: string;
  channel: string;
  title: string;
  alias?: string;
  /** Lower first; ties broken by id. */
  priority: number;
  settings: Record<string, unknown>;
}

export const providers = documents<ProviderDoc>('PROVIDER');
