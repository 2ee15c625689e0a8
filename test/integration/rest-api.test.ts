import { sendAndWait } from '../helpers/send';
import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';

/**
 * `-c api=rest` deploys an API Gateway REST API, which hands the functions payload 1.0 events
 * (encoded `path`, `resource` and path parameters, multi-value headers) under a stage path. The
 * local adapter builds those events here, and the same handlers and the official SDK work through it.
 */
let s: TestStack;
beforeAll(async () => {
  s = await startTestStack({ api: 'rest' });
});
afterAll(() => s?.stop());

describe('the API behind a REST API (payload 1.0)', () => {
  it('is reached under its stage, as the deployed ApiUrl is', async () => {
    expect(s.url).toMatch(/\/prod$/);
    const res = await fetch(`${s.url}/health`);
    expect([res.status, await res.json()]).toEqual([200, { status: 'ok' }]);
    // Outside the stage a REST API answers 403; inside it, a path no route serves reaches the catch-all route: Courier's 404.
    expect((await fetch(s.url.replace(/\/prod$/, '/health'))).status).toBe(403);
    const nowhere = await s.http('GET', '/nowhere/at/all');
    expect([nowhere.status, nowhere.json]).toEqual([404, { message: 'No route for GET /nowhere/at/all', type: 'invalid_request_error' }]);
  });

  it('serves ids with slashes, spaces and @ through the official SDK', async () => {
    const id = `${uid('rest')}/a b@c`;
    await s.client.profiles.replace(id, { profile: { email: 'ada@example.test', plan: 'pro' } });
    expect((await s.client.profiles.retrieve(id)).profile).toEqual({ email: 'ada@example.test', plan: 'pro' });
    const lists = await s.http('GET', `/profiles/${encodeURIComponent(id)}/lists`);
    expect([lists.status, lists.json.results]).toEqual([200, []]);
  });

  it('answers wrong methods and bad input in Courier’s shape', async () => {
    const wrong = await s.http('PATCH', '/send');
    expect([wrong.status, wrong.json.type]).toEqual([405, 'invalid_request_error']);
    const bad = await s.http('PUT', `/profiles/${uid('p')}`, { profile: 'nope' });
    expect([bad.status, bad.json.message]).toEqual([400, expect.stringContaining('body.profile')]);
    expect((await s.http('GET', '/profiles/x', undefined, { key: 'wrong' })).status).toBe(401);
  });

  it('reads headers such as Idempotency-Key whatever their case', async () => {
    const key = uid('idem');
    const body = { message: { to: { user_id: uid('u') }, content: { title: 't', body: 'b' }, routing: { method: 'single', channels: ['inbox'] } } };
    const first = await s.http('POST', '/send', body, { headers: { 'Idempotency-Key': key } });
    const again = await s.http('POST', '/send', body, { headers: { 'Idempotency-Key': key } });
    expect(first.status).toBe(202);
    expect([again.status, again.json.requestId, again.headers.get('idempotent-replayed')]).toEqual([202, first.json.requestId, 'true']);
  });

  it('sends, delivers and lists messages end to end', async () => {
    const user = uid('rest-user');
    const { messages } = await sendAndWait(
      s,
      { to: { user_id: user }, content: { title: 'Hi', body: 'there' }, routing: { method: 'single', channels: ['inbox'] } },
      1,
    );
    expect(messages[0].status).toBe('DELIVERED');
    const token = (await s.http('POST', '/auth/issue-token', { scope: `user_id:${user} inbox:read:messages`, expires_in: '1h' })).json.token as string;
    const inbox = await s.http('GET', '/inbox/messages?limit=5', undefined, { key: token });
    expect([inbox.status, inbox.json.results.map((m: { title: string }) => m.title)]).toEqual([200, ['Hi']]);
  });
});
