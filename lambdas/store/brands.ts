import { documents } from './documents';

export interface BrandDoc {
  name: string;
  settings: Record<string, unknown>;
  snippets: { items: { name: string; value: string }[] };
}

export const brands = documents<BrandDoc>('BRAND');
