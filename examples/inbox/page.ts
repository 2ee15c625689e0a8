/**
 * The example page: Courier's own web components, unmodified, signed in against this backend.
 * Its server (examples/inbox/server.ts) plays your backend: it holds the API key and hands the page
 * a user token from POST /auth/issue-token, with the `apiUrls` of the stack.
 */
import { Courier } from '@trycourier/courier-js';
import { CourierInboxDatastore, CourierInboxDataStoreListener, markAsRead, type CourierInbox } from '@trycourier/courier-ui-inbox';
import '@trycourier/courier-ui-toast';
import '@trycourier/courier-ui-preferences';

interface PageConfig {
  userId: string;
  jwt: string;
  tenantId?: string;
  apiUrls: { courier: { rest: string; graphql: string }; inbox: { graphql: string; webSocket: string } };
}

async function main(): Promise<void> {
  const status = document.getElementById('status') as HTMLElement;
  // The unread count in the title bar (and the tab's title), from the inbox's own store.
  const unread = document.getElementById('unread') as HTMLElement;
  CourierInboxDatastore.shared.addDataStoreListener(
    new CourierInboxDataStoreListener({
      onTotalUnreadCountChange: (count: number) => {
        unread.textContent = `${count} unread`;
        document.title = count ? `(${count}) Inbox example` : 'Inbox example';
      },
    }),
  );
  const res = await fetch(`./config${location.search}`);
  if (!res.ok) {
    status.textContent = `no token: ${res.status} ${await res.text()}`;
    return;
  }
  const config = (await res.json()) as PageConfig;
  // The inbox and preferences of a tenant (seed 003): the components take the tenant from signIn.
  Courier.shared.signIn({ userId: config.userId, jwt: config.jwt, tenantId: config.tenantId, apiUrls: config.apiUrls });
  status.textContent = `${config.userId}${config.tenantId ? ` in ${config.tenantId}` : ''}`;
  // A click reads the message (the component records the open and the click itself).
  const inbox = document.getElementById('inbox') as CourierInbox;
  inbox.onMessageClick(({ message }) => {
    if (!message.read) void markAsRead(message);
  });
}

void main();
