import type { QueueName } from '../shared/topology';

/** Where a running `npm start` leaves its endpoints for local tools (`npm run keys`, `npm run dlq`), relative to the project. */
export const LOCAL_STACK_FILE = '.local/stack.json';

/** What `npm start` writes to LOCAL_STACK_FILE (JSON) once it is ready; it deletes the file when it stops. */
export interface LocalStackFile {
  /** The API, e.g. http://127.0.0.1:3000. */
  url: string;
  /** The realtime inbox socket, e.g. ws://127.0.0.1:3001/inbox (a page's `apiUrls.inbox.webSocket`). */
  wsUrl: string;
  dynamodbEndpoint: string;
  tableName: string;
  /** fauxqs; its queue URLs name hosts that do not resolve, so clients send to this endpoint. */
  sqsEndpoint: string;
  /** Each work queue and its dead-letter queue. */
  queues: Record<QueueName, { url: string; dlqUrl: string }>;
}
