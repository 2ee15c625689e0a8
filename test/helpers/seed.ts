type Table = typeof import('../../lambdas/store/table');
type Keys = typeof import('../../lambdas/store/keys');

/**
 * Members of one tenant (each in no other tenant, so no membership is `shared`) and their
 * profiles, written straight into the table by 8 concurrent BatchWriteItem streams: seeding large
 * audiences is not what scale tests and benchmarks measure. The store modules are loaded at call
 * time, after the local stack has set the table's configuration.
 */
export async function seedMembers(tenantId: string, userIds: string[], profileOf: (userId: string, i: number) => Record<string, unknown>): Promise<void> {
  const table = require('../../lambdas/store/table') as Table;
  const { keys } = require('../../lambdas/store/keys') as Keys;
  const now = Date.now();
  const items = userIds.flatMap((userId, i) => [
    {
      put: {
        ...keys.membership(tenantId, userId),
        ...keys.membershipIndex(userId, tenantId),
        _t: 'Membership',
        doc: JSON.stringify({ tenant_id: tenantId, user_id: userId }),
        created: now,
        updated: now,
      },
    },
    {
      put: {
        ...keys.profile(userId),
        ...keys.profileIndex(userId),
        _t: 'Profile',
        userId,
        doc: JSON.stringify(profileOf(userId, i)),
        created: now,
        updated: now,
      },
    },
  ]);
  const streams = 8;
  await Promise.all(Array.from({ length: streams }, (_, w) => table.batchWrite(items.filter((_, i) => Math.floor(i / 25) % streams === w))));
}
