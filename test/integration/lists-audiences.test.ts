import { NotFoundError } from '@trycourier/courier';
import { startTestStack, type TestStack } from '../helpers/stack';
import { eventually, uid } from '../helpers/wait';
import { aTenant } from '../helpers/builders';

let s: TestStack;
beforeAll(async () => {
  s = await startTestStack();
});
afterAll(() => s?.stop());

describe('lists', () => {
  it('creates, reads, soft-deletes and restores a list, with ISO timestamps', async () => {
    const id = uid('news.weekly');
    await s.client.lists.update(id, { name: 'Weekly news' });
    const list = await s.client.lists.retrieve(id);
    expect(list).toEqual({ id, name: 'Weekly news', created: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), updated: expect.any(String) });
    await s.client.lists.delete(id);
    await expect(s.client.lists.retrieve(id)).rejects.toBeInstanceOf(NotFoundError);
    expect((await s.client.lists.list({ pattern: id })).items).toEqual([]);
    await s.client.lists.restore(id, {});
    expect((await s.client.lists.retrieve(id)).name).toBe('Weekly news');
  });

  it('adds, replaces and removes subscriptions; subscribing auto-creates the list', async () => {
    const id = uid('auto');
    await s.client.lists.subscriptions.add(id, { recipients: [{ recipientId: 'a' }, { recipientId: 'b' }] });
    expect((await s.client.lists.retrieve(id)).name).toBe(id);
    await s.client.lists.subscriptions.add(id, { recipients: [{ recipientId: 'c' }] });
    const ids = async () => (await s.client.lists.subscriptions.list(id)).items.map((i) => i.recipientId).sort();
    expect(await ids()).toEqual(['a', 'b', 'c']);
    await s.client.lists.subscriptions.subscribe(id, { recipients: [{ recipientId: 'b' }, { recipientId: 'd' }] });
    expect(await ids()).toEqual(['b', 'd']);
    await s.client.lists.subscriptions.unsubscribeUser('d', { list_id: id });
    expect(await ids()).toEqual(['b']);
    const page = await s.client.lists.subscriptions.list(id);
    expect(page).toEqual({ items: [{ recipientId: 'b', created: expect.any(String) }], paging: { cursor: null, more: false } });
  });

  it('finds lists by * and ** patterns and pages subscribers past 100', async () => {
    const p = uid('pat');
    for (const l of ['eng.alerts', 'eng.news', 'ops.alerts', 'eng.deep.x']) await s.client.lists.update(`${p}.${l}`, { name: l });
    const find = async (pattern: string) => (await s.client.lists.list({ pattern })).items.map((i) => i.id).sort();
    expect(await find(`${p}.*.alerts`)).toEqual([`${p}.eng.alerts`, `${p}.ops.alerts`]);
    expect(await find(`${p}.eng.**`)).toEqual([`${p}.eng.alerts`, `${p}.eng.deep.x`, `${p}.eng.news`]);
    expect((await s.http('GET', `/lists?pattern=${p}.**.x`)).status).toBe(400);

    const big = `${p}.big`;
    await s.client.lists.subscriptions.add(big, { recipients: Array.from({ length: 150 }, (_, i) => ({ recipientId: `u${i}` })) });
    const first = await s.client.lists.subscriptions.list(big);
    expect(first.items).toHaveLength(100);
    expect(first.paging.more).toBe(true);
    const second = await s.client.lists.subscriptions.list(big, { cursor: first.paging.cursor! });
    expect(second.items).toHaveLength(50);
    expect(second.paging).toEqual({ cursor: null, more: false });
  });

  it("serves a profile's lists and refuses bad list ids", async () => {
    const u = uid('lister');
    await s.client.profiles.lists.subscribe(u, { lists: [{ listId: `${u}.one` }, { listId: `${u}.two` }] });
    const mine = await eventually(
      () => s.client.profiles.lists.retrieve(u),
      (r) => (r.results ?? []).length === 2,
    );
    expect(mine.results!.map((l) => l.id).sort()).toEqual([`${u}.one`, `${u}.two`]);
    await s.client.profiles.lists.delete(u);
    await eventually(
      () => s.client.profiles.lists.retrieve(u),
      (r) => (r.results ?? []).length === 0,
    );
    expect((await s.http('PUT', '/lists/a.b.c.d.e', { name: 'too deep' })).status).toBe(400);
    expect((await s.http('PUT', '/lists/x', { nom: 'typo' })).json.message).toMatch(/body\.name/);
  });
});

describe('audiences', () => {
  it('keeps membership materialised as profiles change, without re-saving the audience', async () => {
    const a = uid('enterprise');
    const [u1, u2, u3] = [uid('u1'), uid('u2'), uid('u3')];
    await s.client.profiles.replace(u1, { profile: { plan: 'enterprise', seats: 25 } });
    await s.client.profiles.replace(u2, { profile: { plan: 'enterprise', seats: 3 } });
    const saved = await s.client.audiences.update(a, {
      name: 'Big enterprise',
      operator: 'AND',
      filter: {
        filters: [
          { operator: 'EQ', path: 'plan', value: 'enterprise' },
          { operator: 'GTE', path: 'seats', value: '10' },
        ],
      },
    });
    expect(saved.audience).toMatchObject({ id: a, name: 'Big enterprise', created_at: expect.any(String), updated_at: expect.any(String) });
    const members = async () => (await s.client.audiences.listMembers(a)).items.map((m) => m.member_id).sort();
    await eventually(members, (m) => m.join() === [u1].join());

    await s.client.profiles.replace(u3, { profile: { plan: 'enterprise', seats: 10 } });
    await s.client.profiles.create(u2, { profile: { seats: 50 } });
    await eventually(members, (m) => m.join() === [u1, u2, u3].sort().join());

    await s.client.profiles.update(u1, { patch: [{ op: 'replace', path: '/plan', value: 'free' }] });
    await s.client.profiles.delete(u3);
    await eventually(members, (m) => m.join() === [u2].join());

    const page = await s.client.audiences.listMembers(a);
    expect(page.items[0]).toEqual({ member_id: u2, audience_id: a, audience_version: 1, added_at: expect.any(String), reason: 'filter matched' });
  });

  it('re-materialises when the filter changes, and follows MEMBER_OF memberships', async () => {
    const t = await aTenant(s);
    const a = uid('members');
    const u = uid('mu');
    await s.client.profiles.replace(u, { profile: { plan: 'pro' } });
    await s.client.audiences.update(a, { filter: { filters: [{ operator: 'MEMBER_OF', path: 'account_id', value: t }] } });
    const members = async () => (await s.client.audiences.listMembers(a)).items.map((m) => m.member_id);
    await s.quiesce();
    expect(await members()).toEqual([]);
    await s.client.users.tenants.addSingle(t, { user_id: u });
    await eventually(members, (m) => m.join() === u);
    await s.client.audiences.update(a, { filter: { filters: [{ operator: 'EQ', path: 'plan', value: `${a}-nobody` }] } });
    await eventually(members, (m) => m.length === 0);
    await s.client.audiences.delete(a);
    await expect(s.client.audiences.retrieve(a)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('lists audiences and refuses a bad filter naming the field', async () => {
    const res = await s.http('PUT', `/audiences/${uid('bad')}`, {
      filter: {
        filters: [
          { operator: 'EQ', path: 'x', value: 'y' },
          { operator: 'NOPE', path: 'x', value: 'y' },
        ],
      },
    });
    expect([res.status, res.json.message]).toEqual([400, expect.stringContaining('filter.filters.1.operator')]);
    const list = await s.client.audiences.list();
    expect(list.paging).toEqual({ cursor: null, more: false });
    expect(list.items.length).toBeGreaterThan(0);
  });
});

describe('access patterns', () => {
  it('never issues a Scan: every read above was a GetItem, BatchGetItem or Query', () => {
    const commands = new Set(s.commands());
    expect(commands.has('Query')).toBe(true);
    expect([...commands].filter((c) => c.includes('Scan'))).toEqual([]);
  });
});
