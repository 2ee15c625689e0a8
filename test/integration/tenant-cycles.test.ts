import { startTestStack, type TestStack } from '../helpers/stack';
import { messagesOf } from '../helpers/send';
import { eventually, uid } from '../helpers/wait';

/**
 * Issue 11, item 1: tenant cycles and endless fan-outs. The API refuses a hierarchy deeper than
 * MAX_TENANT_DEPTH and any cycle, however deep and however concurrent the writes; a tree made
 * corrupt behind the API's back (written straight into the table) ends its send with a terminal
 * error in the request's log instead of a walk that never ends, and the sweeper leaves it ended.
 */
let s: TestStack;
beforeAll(async () => {
  s = await startTestStack({ scheduleEveryMs: 0, visibilityTimeoutSeconds: { fanout: 2 } });
});
afterAll(() => s?.stop());

const store = () => require('../../lambdas/store/messages') as typeof import('../../lambdas/store/messages');
const tenants = () => require('../../lambdas/store/tenants') as typeof import('../../lambdas/store/tenants');

const put = (id: string, parent?: string) => s.http('PUT', `/tenants/${encodeURIComponent(id)}`, { name: id, ...(parent ? { parent_tenant_id: parent } : {}) });

/** Writes a tenant item with `parent` straight into the table (no checks): a corrupt tree. */
async function writeRaw(id: string, parent: string | null): Promise<void> {
  const { upsertItem } = require('../../lambdas/store/table') as typeof import('../../lambdas/store/table');
  const { keys } = require('../../lambdas/store/keys') as typeof import('../../lambdas/store/keys');
  await upsertItem(keys.tenant(id), {
    _t: 'Tenant',
    tenantId: id,
    doc: JSON.stringify({ id, name: id, parent_tenant_id: parent }),
    ...keys.tenantIndex(id, parent),
  });
}

/** The request's open marker still exists (the sweeper has not closed it). */
async function isOpen(requestId: string): Promise<boolean> {
  const { OPEN_SHARDS } = require('../../lambdas/store/keys') as typeof import('../../lambdas/store/keys');
  const { now } = require('../../lambdas/shared/clock') as typeof import('../../lambdas/shared/clock');
  for (let shard = 0; shard < OPEN_SHARDS; shard++) {
    if ((await store().openRequestsDue(shard, now() + 365 * 86_400_000, 1000)).some((o) => o.requestId === requestId)) return true;
  }
  return false;
}

const inbox = { content: { title: 'Hi', body: 'x' }, routing: { method: 'single', channels: ['inbox'] } };

describe('the depth limit and the cycle check', () => {
  it('refuses a 65th level with 400 naming body.parent_tenant_id, the cycle through the 64th, and a subtree moved too deep', async () => {
    const p = uid('deep');
    const ids = Array.from({ length: 65 }, (_, i) => `${p}-${i}`);
    for (let i = 0; i < 64; i++) expect((await put(ids[i], i ? ids[i - 1] : undefined)).status).toBe(200);
    const tooDeep = await put(ids[64], ids[63]);
    expect([tooDeep.status, tooDeep.json.message]).toEqual([400, expect.stringMatching(/body\.parent_tenant_id: .*maximum depth of 64/)]);
    const cycle = await put(ids[0], ids[63]);
    expect([cycle.status, cycle.json.message]).toEqual([400, expect.stringMatching(/body\.parent_tenant_id: .*cycle/)]);
    expect((await s.client.tenants.retrieve(ids[0])).parent_tenant_id).toBeNull();

    // A 30-deep subtree fits under the 10th tenant of the chain (40 deep), not under the 40th (70).
    const sub = Array.from({ length: 30 }, (_, i) => `${p}-sub${i}`);
    for (let i = 0; i < sub.length; i++) expect((await put(sub[i], i ? sub[i - 1] : undefined)).status).toBe(200);
    const moved = await put(sub[0], ids[39]);
    expect([moved.status, moved.json.message]).toEqual([400, expect.stringMatching(/body\.parent_tenant_id: .*descendants .* maximum depth of 64/)]);
    expect((await put(sub[0], ids[9])).status).toBe(200);
    expect((await tenants().tenantChain(sub[29])).length).toBe(40);
  });

  it('never accepts both of two concurrent reparentings that close a cycle (A<->B, and A->B->C with C->D->A)', async () => {
    const outcomes: number[][] = [];
    for (let round = 0; round < 6; round++) {
      const p = uid(`race${round}`);
      const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((x) => `${p}-${x}`);
      for (const id of [a, b, c]) await put(id);
      await put(d, a);
      const two = await Promise.all([put(a, b), put(b, a)]);
      // Two moves whose new parents differ from the tenants the other writes: B's parent C, D's parent A.
      const [x, y, z, w] = ['x', 'y', 'z', 'w'].map((q) => `${p}-${q}`);
      for (const id of [x, z]) await put(id);
      await put(y, z);
      await put(w, x);
      const four = await Promise.all([put(x, y), put(z, w)]);
      for (const r of [...two, ...four]) expect([200, 400, 409]).toContain(r.status);
      outcomes.push(
        two.map((r) => r.status),
        four.map((r) => r.status),
      );
      // Whatever won, no tenant's chain loops.
      for (const id of [a, b, c, d, x, y, z, w]) await expect(tenants().tenantChain(id)).resolves.toBeDefined();
    }
    expect(outcomes.filter((pair) => pair.every((status) => status === 200))).toEqual([]);
  });
});

describe('a send over a corrupt tree', () => {
  it('stops at the cycle with a terminal error in the request log, delivers each member reached once, and the sweeper leaves it closed', async () => {
    const p = uid('loop');
    const [t0, t1, t2] = [0, 1, 2].map((i) => `${p}-${i}`);
    await put(t0);
    await put(t1, t0);
    await put(t2, t1);
    const users = [t0, t1, t2].map((t) => `${t}-user`);
    for (const [i, t] of [t0, t1, t2].entries()) await s.client.users.tenants.addSingle(t, { user_id: users[i] });
    await writeRaw(t0, t2); // t0 -> t2 -> t1 -> t0

    const runs = [{ include_children: true }, { include_parent: true }].map(async (flags) => {
      const trace = uid('trace');
      const { requestId } = await s.client.send.message({ message: { ...inbox, to: { tenant_id: t0, ...flags }, metadata: { trace_id: trace } } as never });
      const req = await eventually(
        () => store().getRequest(requestId),
        (r) => r?.fanout?.done === true,
        30_000,
      );
      expect(req!.fanout).toMatchObject({ done: true, emitted: 3, failed: expect.stringContaining('is its own ancestor') });
      expect(req!.log).toEqual([expect.objectContaining({ type: 'FANOUT_FAILED', error: req!.fanout!.failed })]);
      const messages = await messagesOf(s, trace, 3);
      expect(messages.map((m) => [m.recipient, m.status]).sort()).toEqual(users.map((u) => [u, 'DELIVERED']));
      return requestId;
    });
    const requestIds = await Promise.all(runs);

    // Past the sweep grace, the sweeper closes both requests and re-runs neither.
    const { advanceClock } = require('../../lambdas/shared/clock') as typeof import('../../lambdas/shared/clock');
    advanceClock(10 * 60_000);
    await eventually(
      async () => {
        await s.runScheduled();
        return Promise.all(requestIds.map(isOpen));
      },
      (open) => open.every((o) => !o),
      30_000,
    );
    for (const id of requestIds) expect((await store().getRequest(id))!.fanout).toMatchObject({ done: true, emitted: 3, failed: expect.any(String) });
  });

  it('ends an include_parent send over a chain deeper than the limit (written behind the API) with a terminal error', async () => {
    const p = uid('chain');
    const ids = Array.from({ length: 70 }, (_, i) => `${p}-${i}`);
    for (let i = 0; i < ids.length; i++) await writeRaw(ids[i], i ? ids[i - 1] : null);
    await s.client.users.tenants.addSingle(ids[69], { user_id: `${p}-leaf` });
    await s.client.users.tenants.addSingle(ids[0], { user_id: `${p}-top` });
    const trace = uid('trace');
    const { requestId } = await s.client.send.message({
      message: { ...inbox, to: { tenant_id: ids[69], include_parent: true }, metadata: { trace_id: trace } } as never,
    });
    const req = await eventually(
      () => store().getRequest(requestId),
      (r) => r?.fanout?.done === true,
      30_000,
    );
    expect(req!.fanout).toMatchObject({ done: true, emitted: 1, failed: expect.stringContaining('deeper than 64') });
    const [leaf] = await messagesOf(s, trace, 1);
    expect([leaf.recipient, leaf.status]).toEqual([`${p}-leaf`, 'DELIVERED']);
  });
});
