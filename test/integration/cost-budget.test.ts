import { seedMembers } from '../helpers/seed';
import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';

/**
 * Issue 13: what one recipient of a fan-out costs, counted by the same counters the benchmark
 * prices (DynamoDB capacity as AWS bills it, SQS requests as billed), asserted against a budget:
 * a change that adds a write, a read or a queue request per recipient fails here, not in the next
 * benchmark. The budget is the current design's figure with a small margin; lower it with the
 * design, never raise it without saying why in bench/README.md.
 */
const MEMBERS = 1_000;

/**
 * Per recipient, at most: the figures measured on 2026-11-30 (inbox 1.095 WRU, 0.535 RRU, 1.098
 * requests, 0.005 SQS; email 1.175 WRU, 0.535 RRU, 1.137 requests, 0.005 SQS) plus a margin for the
 * fan-out's page boundaries. A fan-out's message records are slots of its delivery jobs' records
 * (store/jobs.ts, docs/decisions.md D12), written once per round for the whole job of 25 (its
 * outbox, written by the fan-out before the job is sent, fixes who is in it). Inbox: the inbox item
 * (one conditional put, counted unread lazily, D13), which is also the message's recipient index
 * entry, and the job's record, written once with the outcomes (no claim for an inbox-only round of
 * a recipient without a record). Email: the recipient index entry, and the job's record twice (the
 * claims, then the outcomes with the rendered emails, compressed together). Entries are conditional
 * puts, one request each: an entry shares its key with the user's inbox item for the message and
 * must never replace it. Before job records: inbox 2.007 WRU and email 3.007 (a record per
 * recipient, written once for the inbox and twice, claim and outcome, for email); before that,
 * inbox 6.007 WRU (the item and its counter in one transaction, and a separate entry).
 * Since issue 16 an email recipient also reads its address's suppression entry (D21): 0.5 RRU,
 * batched with the job's other recipients into one BatchGetItem (email 1.035 RRU, 1.151 requests
 * measured on 2026-11-30; bench/README.md "Issue 16").
 * Since issue 17 an inbox recipient's new message is pushed to the user's open sockets, which costs
 * one Query of the user's connections (gsi1, eventually consistent: 0.5 RRU, one request) whether
 * the user has one or not (bench/README.md "Issue 17").
 */
const BUDGET = {
  inbox: { wcu: 1.15, rcu: 1.1, dynamoRequests: 2.2, sqsBilled: 0.01 },
  email: { wcu: 1.25, rcu: 1.1, dynamoRequests: 1.2, sqsBilled: 0.01 },
};

let s: TestStack;
beforeAll(async () => {
  s = await startTestStack({ concurrency: { fanout: 2, delivery: 6 } });
});
afterAll(() => s?.stop());

const usage = () => require('../../lambdas/shared/usage') as typeof import('../../lambdas/shared/usage');

async function perRecipient(channel: 'inbox' | 'email') {
  const tenantId = uid(`budget-${channel}`);
  await s.client.tenants.update(tenantId, { name: tenantId });
  await seedMembers(
    tenantId,
    Array.from({ length: MEMBERS }, (_, i) => `${tenantId}-u${i}`),
    (userId) => ({ name: userId, email: `${userId}@example.test` }),
  );
  await s.quiesce();
  usage().resetUsage();
  const sent = await s.http('POST', '/send', {
    message: { to: { tenant_id: tenantId }, content: { title: 'Hi', body: 'Hello {{profile.name}}' }, routing: { method: 'single', channels: [channel] } },
  });
  expect(sent.status).toBe(202);
  await s.quiesce(120_000);
  const { dynamodb, sqs } = usage().usageSnapshot();
  const per = (n: number) => +(n / MEMBERS).toFixed(3);
  return {
    wcu: per(dynamodb.wcu),
    rcu: per(dynamodb.rcu),
    dynamoRequests: per(Object.values(dynamodb.requests).reduce((a, b) => a + b, 0)),
    sqsBilled: per(sqs.billedRequests),
  };
}

describe(`a ${MEMBERS}-member tenant send`, () => {
  it.each(['inbox', 'email'] as const)('to the %s costs no more per recipient than the budget', async (channel) => {
    const measured = await perRecipient(channel);
    process.stdout.write(`cost budget ${channel}: ${JSON.stringify(measured)}\n`);
    for (const k of Object.keys(BUDGET[channel]) as (keyof typeof measured)[]) expect({ [k]: measured[k] <= BUDGET[channel][k] }).toEqual({ [k]: true });
  });
});

/**
 * Single sends, one user per `POST /send`, measured from the call through delivery (the sweeper's
 * pass is not in it; a single send stored finished is not walked). Per send, at most: the figures
 * measured on 2026-11-29 plus a margin. A single send due at once is delivered by the send function
 * before it answers (D14): no SQS request, the request not read back, no claim (nothing else can
 * drive the message before its request is stored), and the request stored by the delivery's first
 * write, carrying the finished record. 3.0 WRU: the request with its record (its item and its gsi1
 * copy, 2 WRU) and the inbox item or, for email, the recipient index entry. 1.5 RRU: the API key,
 * the profile and the user's tenants. Before, through the delivery queue: 5.0 WRU, 2.5 RRU (the
 * request read back) and 3 SQS requests a send; before that, the record written with the request
 * (1 WRU), an open marker's put and delete (2), and an entry the inbox item then replaced (1).
 * Since 2026-11-30 the hours directory the message listing walks costs 1 WRU once an hour per warm
 * function (0.05 a send here, 0.1 when a run crosses the hour). Since issue 16 a send by email
 * reads the address's suppression entry (D21): 0.5 RRU more (2.0). Since issue 17 a send to the
 * inbox lists the user's sockets to push the new message to: 0.5 RRU more (2.0). Since the counters
 * bill every read at least its minimum, as AWS does (usage.ts readFloorUnits; DynamoDB Local reports
 * 0 for a read that finds nothing), a read that finds nothing is counted: here the Query of the user's
 * tenants (none), 0.5 RRU the counters missed before (2.5 to 2.55 measured on 2026-11-30, both channels:
 * the hours directory the listing walks is read about once an hour per warm function).
 */
const SINGLE_SENDS = 20;
const SINGLE_BUDGET = {
  inbox: { wcu: 3.1, rcu: 2.65, sqsBilled: 0.01 },
  email: { wcu: 3.1, rcu: 2.65, sqsBilled: 0.01 },
};

describe(`${SINGLE_SENDS} single sends`, () => {
  it.each(['inbox', 'email'] as const)('to the %s cost no more per send than the budget', async (channel) => {
    const users = Array.from({ length: SINGLE_SENDS }, () => uid(`single-${channel}`));
    for (const u of users) await s.client.profiles.create(u, { profile: { email: `${u}@example.test` } });
    await s.quiesce();
    usage().resetUsage();
    for (const u of users) {
      const sent = await s.http('POST', '/send', {
        message: { to: { user_id: u }, content: { title: 'Hi', body: 'Hello' }, routing: { method: 'single', channels: [channel] } },
      });
      expect(sent.status).toBe(202);
    }
    await s.quiesce();
    const { dynamodb, sqs } = usage().usageSnapshot();
    const per = (n: number) => +(n / SINGLE_SENDS).toFixed(3);
    const measured = { wcu: per(dynamodb.wcu), rcu: per(dynamodb.rcu), sqsBilled: per(sqs.billedRequests) };
    process.stdout.write(`cost budget single ${channel}: ${JSON.stringify(measured)}\n`);
    const budget = SINGLE_BUDGET[channel];
    for (const k of Object.keys(budget) as (keyof typeof measured)[]) expect({ [k]: measured[k] <= budget[k] }).toEqual({ [k]: true });
  });
});
