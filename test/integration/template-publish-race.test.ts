import { pauseAfter } from '../helpers/ddb-gate';
import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';

/**
 * Template publication under races (issue 11, item 16), made deterministic: one request is held
 * right after it read the template (`pauseAfter`) while a competing request runs to the end.
 * A published version must never change, and a lost race answers 409.
 */

let s: TestStack;
beforeAll(async () => {
  s = await startTestStack({ scheduleEveryMs: 0 });
});
afterAll(() => s?.stop());

const draft = (name: string) => ({ notification: { name, content: { elements: [{ type: 'text', content: name }] } } });
const readTemplate = (id: string) => (command: string, input: string) =>
  command === 'GetItem' && input.includes(`"NOTIFICATION#${id}"`) && input.includes('"sk":"NOTIFICATION"');

async function version(id: string, v: string): Promise<string | number> {
  const res = await s.http('GET', `/notifications/${id}?version=${v}`);
  return res.status === 200 ? res.json.name : res.status;
}

describe('notification template publication', () => {
  it('a publish that read the template before a concurrent publish answers 409 and changes nothing', async () => {
    const id = uid('tpl');
    expect((await s.http('PUT', `/notifications/${id}`, { ...draft('one'), state: 'PUBLISHED' })).status).toBe(200);
    expect((await s.http('PUT', `/notifications/${id}`, draft('two'))).status).toBe(200);
    // A publish reads the template (draft "two", v1 published) and is held...
    const held = pauseAfter(readTemplate(id));
    const late = s.http('POST', `/notifications/${id}/publish`, {});
    await held.reached;
    // ...while another request saves draft "three" and publishes it as v2.
    expect((await s.http('PUT', `/notifications/${id}`, { ...draft('three'), state: 'PUBLISHED' })).status).toBe(200);
    held.release();
    const res = await late;
    expect([res.status, res.json?.type]).toEqual([409, 'invalid_request_error']);
    expect(await version(id, 'v2')).toBe('three');
    expect(await version(id, 'published')).toBe('three');
    expect(await version(id, 'draft')).toBe('three');
    expect(await version(id, 'v3')).toBe(404);
  });

  it('a draft save that read the template before a publish keeps it published, so the next publish never overwrites it', async () => {
    const id = uid('tpl');
    expect((await s.http('PUT', `/notifications/${id}`, { ...draft('one'), state: 'PUBLISHED' })).status).toBe(200);
    expect((await s.http('PUT', `/notifications/${id}`, draft('two'))).status).toBe(200);
    // A draft save reads the template (v1 published) and is held...
    const held = pauseAfter(readTemplate(id));
    const save = s.http('PUT', `/notifications/${id}`, draft('three'));
    await held.reached;
    // ...while draft "two" is published as v2.
    expect((await s.http('POST', `/notifications/${id}/publish`, {})).status).toBe(204);
    held.release();
    expect((await save).status).toBe(200);
    // The next publication is v3: v2 keeps what was published as v2.
    expect((await s.http('POST', `/notifications/${id}/publish`, {})).status).toBe(204);
    expect(await version(id, 'v2')).toBe('two');
    expect(await version(id, 'v3')).toBe('three');
    expect(await version(id, 'published')).toBe('three');
  });
});
