import type { TestStack } from './stack';
import { uid } from './wait';

/**
 * The entities tests set up over and over, each made through the API under a fresh id (so tests
 * sharing a stack never see each other's), and the bodies they send. Each returns what the test
 * refers to afterwards: the id, or the body.
 */

type Client = TestStack['client'];
type Profile = Parameters<Client['profiles']['replace']>[1]['profile'];
type TenantBody = Parameters<Client['tenants']['update']>[1];

/** Routing that sends on the first of `channels` that applies to the recipient. */
export const via = (...channels: string[]) => ({ method: 'single', channels });

/** Subscribes `users` to `list` (created if new). */
export async function aListOf(s: TestStack, list: string, users: string[]): Promise<void> {
  await s.client.lists.subscriptions.add(list, { recipients: users.map((recipientId) => ({ recipientId })) });
}

/** Sends a short inbox message to every subscriber of `list` under `traceId`; the request id. */
export async function sendToList(s: TestStack, list: string, traceId: string): Promise<string> {
  const message = { to: { list_id: list }, content: { title: 'Hi', body: 'x' }, routing: via('inbox'), metadata: { trace_id: traceId } };
  return (await s.client.send.message({ message } as never)).requestId;
}

/** A profile the webhook channel delivers to at `url`. */
export const webhookProfile = (url: string): Profile => ({ webhook: { url } });

/** A user with `profile`, under a fresh id starting with `prefix`. */
export async function aUser(s: TestStack, profile: Profile = {}, prefix = 'user'): Promise<string> {
  const id = uid(prefix);
  await s.client.profiles.replace(id, { profile });
  return id;
}

/** `count` users, each with `profileOf(i)`, under fresh ids. */
export async function someUsers(s: TestStack, count: number, profileOf: (i: number) => Profile, prefix = 'user'): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(await aUser(s, profileOf(i), `${prefix}${i}`));
  return ids;
}

/** A tenant under a fresh id, named after that id unless `body` names it. */
export async function aTenant(s: TestStack, body: Partial<TenantBody> = {}, prefix = 'tenant'): Promise<string> {
  const id = uid(prefix);
  await s.client.tenants.update(id, { name: id, ...body });
  return id;
}

/** A list under a fresh id with `recipientIds` subscribed. */
export async function aList(s: TestStack, recipientIds: string[], prefix = 'list'): Promise<string> {
  const id = uid(prefix);
  await s.client.lists.subscriptions.add(id, { recipients: recipientIds.map((recipientId) => ({ recipientId })) });
  return id;
}

/**
 * A published template whose stored content is `content` as it is, unchecked: made with valid
 * content, then written straight to the store, as a template stored before a check existed would be.
 */
export async function aTemplateStoredWith(s: TestStack, content: unknown): Promise<string> {
  const created = await s.client.notifications.create({
    notification: {
      name: `old-${Math.random().toString(36).slice(2, 8)}`,
      tags: [],
      brand: null,
      subscription: null,
      routing: null,
      content: { version: '2022-01-01', elements: [{ type: 'text', content: 'ok' }] },
    },
    state: 'PUBLISHED',
  } as never);
  const store = require('../../lambdas/store/templates') as typeof import('../../lambdas/store/templates');
  const read = await store.editDraft(created.id, (draft) => ({ ...draft, content: content as never }));
  await store.publish(created.id, read!);
  return created.id;
}
