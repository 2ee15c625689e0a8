import { NotFoundError } from '@trycourier/courier';
import { advanceClock } from '../../lambdas/shared/clock';
import { sendAndWait } from '../helpers/send';
import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';

/**
 * Issue 14: `messages.list` as the SDK documents it. No hidden look-back window (it used to stop
 * 7 days back, 30 at most), `paging.more` false once nothing older exists, and `requests.archive`:
 * an archived request's messages drop out of every listing unless `archived=true` asks for them
 * (which used to return nothing at all).
 */
let s: TestStack;
beforeAll(async () => {
  s = await startTestStack();
});
afterAll(() => s?.stop());

const inbox = (user: string) => ({ to: { user_id: user }, content: { title: 'Hi', body: 'there' }, routing: { method: 'single', channels: ['inbox'] } });

async function listAll(params: Record<string, unknown> = {}): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await s.client.messages.list({ ...params, cursor } as never);
    pages += 1;
    ids.push(...(page.results ?? []).map((m) => m.id));
    cursor = page.paging.more ? (page.paging.cursor ?? undefined) : undefined;
    if (!page.paging.more) expect(page.paging.cursor ?? null).toBeNull();
  } while (cursor);
  return { ids, pages };
}

it('pages back through everything retained, with no look-back window, and says when nothing older exists', async () => {
  const old = await sendAndWait(s, inbox(uid('old')), 1);
  advanceClock(40 * 24 * 3600_000);
  const recent = await sendAndWait(s, inbox(uid('recent')), 1);
  const { ids } = await listAll();
  // Newest first; the 40-day-old message is found by walking back, not cut off by a window.
  expect(ids).toEqual([recent.messages[0].id, old.messages[0].id]);
  // enqueued_after still bounds the walk (the stack's clock is 40 days ahead of this process's).
  expect((await listAll({ enqueued_after: String(Date.now() + 20 * 24 * 3600_000) })).ids).toEqual([recent.messages[0].id]);
});

it('leaves an archived request’s messages out of every listing unless archived=true', async () => {
  const user = uid('arch');
  const kept = await sendAndWait(s, inbox(user), 1);
  const archived = await sendAndWait(s, { ...inbox(user), metadata: { tags: ['to-archive'] } }, 1);
  const [keptId, archivedId] = [kept.messages[0].id, archived.messages[0].id];
  await s.client.requests.archive(archived.requestId);

  expect((await listAll()).ids).toContain(keptId);
  expect((await listAll()).ids).not.toContain(archivedId);
  expect((await listAll({ archived: true })).ids).toEqual(expect.arrayContaining([keptId, archivedId]));
  expect((await listAll({ recipient: user })).ids).toEqual([keptId]);
  expect((await listAll({ recipient: user, archived: true })).ids).toEqual([archivedId, keptId]);
  expect((await listAll({ messageId: archivedId })).ids).toEqual([]);
  expect((await listAll({ messageId: archivedId, archived: true })).ids).toEqual([archivedId]);
  // The message itself is still there.
  expect((await s.client.messages.retrieve(archivedId)).id).toBe(archivedId);

  await expect(s.client.requests.archive(`1${archived.requestId.slice(1)}`)).rejects.toBeInstanceOf(NotFoundError);
});
