/**
 * Every key of the single table is built here, from the entity name and its ids, so entities never
 * collide and a reader can see every access pattern in one place.
 *
 * Table: `pk` (partition) / `sk` (sort); `gsi1pk` / `gsi1sk` on the one GSI (`gsi1`, all attributes
 * projected) for reverse look-ups and collections; `ttl` (epoch seconds) for expiring items.
 *
 * Ids are escaped (`%` -> `%25`, `#` -> `%23`) so `#` only ever separates key parts.
 */
export const esc = (id: string): string => id.replace(/%/g, '%25').replace(/#/g, '%23');
export const unesc = (part: string): string => part.replace(/%23/g, '#').replace(/%25/g, '%');

export interface Key {
  pk: string;
  sk: string;
}

export interface IndexKey {
  gsi1pk: string;
  gsi1sk: string;
}

export const GSI1 = 'gsi1';

export const keys = {
  /** API key by the SHA-256 of the key; listed in creation order through gsi1. */
  apiKey: (hash: string): Key => ({ pk: `APIKEY#${hash}`, sk: 'APIKEY' }),
  apiKeyIndex: (createdAt: string, hash: string): IndexKey => ({ gsi1pk: 'APIKEYS', gsi1sk: `${createdAt}#${hash}` }),

  /** A user's profile; the user's preferences share its partition. */
  profile: (userId: string): Key => ({ pk: `USER#${esc(userId)}`, sk: 'PROFILE' }),
};

/** The table's key schema, read by the CDK app and by the local stack when it creates the table. */
export const TABLE_SCHEMA = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'ttl',
  indexes: [{ name: GSI1, partitionKey: 'gsi1pk', sortKey: 'gsi1sk' }],
} as const;
