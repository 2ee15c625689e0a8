import type { ListRecord } from '../store/lists';

/** Response shapes shared by several resource groups. */
export const iso = (ms: number): string => new Date(ms).toISOString();

export const describeList = (l: ListRecord) => ({ id: l.id, name: l.name, created: iso(l.created), updated: iso(l.updated) });
