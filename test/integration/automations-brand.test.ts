import { emailTemplate } from '../helpers/automations';
import { startTestStack, type TestStack } from '../helpers/stack';
import { messagesOf } from '../helpers/send';
import { eventually, uid } from '../helpers/wait';

/**
 * Issue 18 item 1: an automation's `brand` (the run's, and a `send` step's own, which beats it)
 * reaches the email its send steps send. Asserted on the email the SMTP capture received: the
 * brand's colour bar and footer in its HTML, and `{{brand.name}}` in its subject. The notification
 * template has a brand of its own, which a run or step brand must override (a send's `brand_id`
 * comes first, docs/decisions.md D3) and which a run without a brand keeps.
 */
let s: TestStack;
beforeAll(async () => {
  s = await startTestStack({ scheduleEveryMs: 0 });
});
afterAll(() => s?.stop());

interface RunView {
  runId: string;
  status: string;
  steps: { index: number; action: string; ref?: string; status: string; messageId?: string }[];
}
const settled = (runId: string) =>
  eventually(
    async () => (await s.http('GET', `/automations/runs/${runId}`)).json as RunView,
    (r) => r.status !== 'running',
    30_000,
  );
type Mail = { via: string; messageId: string; to: string[]; subject: string; html?: string };
/** The one email a message sent, once it arrived. */
const mailOf = async (messageId: string): Promise<Mail> => {
  const mails = await eventually(
    async () => (s.captures() as unknown as Mail[]).filter((c) => c.via === 'smtp' && c.messageId === messageId),
    (m) => m.length > 0,
  );
  expect(mails).toHaveLength(1);
  return mails[0];
};

/** Brands told apart by colour and footer. */
const BRANDS = { run: '#a1b2c3', step: '#c3b2a1', template: '#b2c3a1' } as const;
type Which = keyof typeof BRANDS;
const brandId: Record<Which, string> = { run: uid('run-brand'), step: uid('step-brand'), template: uid('template-brand') };
const footer = (which: Which) => `Sent under the ${which} brand`;
/** Which of the brands an email carries: its colour, footer and name, and none of the others'. */
function brandOf(mail: Mail): Which {
  const carried = (Object.keys(BRANDS) as Which[]).filter((w) => mail.html?.includes(BRANDS[w]) || mail.html?.includes(footer(w)));
  expect(carried).toHaveLength(1);
  const [which] = carried;
  expect(mail.html).toContain(BRANDS[which]);
  expect(mail.html).toContain(footer(which));
  expect(mail.subject).toBe(`News from ${brandId[which]}`);
  return which;
}

let template: string;
let user: string;
beforeAll(async () => {
  for (const which of Object.keys(BRANDS) as Which[])
    await s.client.brands.create({
      id: brandId[which],
      name: brandId[which],
      settings: { colors: { primary: BRANDS[which] }, email: { footer: { content: footer(which) } } },
    } as never);
  template = await emailTemplate(s, { title: 'News from {{brand.name}}', body: 'Hello {{name}}' }, { id: brandId.template });
  user = uid('branded');
  await s.client.profiles.replace(user, { profile: { email: `${user}@example.test` } });
});

describe("an automation's brand reaches the email its sends send", () => {
  it("invokeAdHoc: a send without a brand carries the run's, a send with its own carries that one, a send-list the run's", async () => {
    const list = uid('brand.list');
    await s.client.lists.subscriptions.add(list, { recipients: [{ recipientId: user }] });
    const { runId } = await s.client.automations.invoke.invokeAdHoc({
      automation: {
        steps: [
          { action: 'send', ref: 'run-brand' } as never,
          { action: 'send', brand: brandId.step, ref: 'step-brand' } as never,
          { action: 'send-list', list, ref: 'list' } as never,
        ],
      },
      brand: brandId.run,
      template,
      recipient: user,
      data: { name: 'Ann' },
    });
    const run = await settled(runId);
    expect(run.steps.map((x) => [x.ref, x.status])).toEqual([
      ['run-brand', 'done'],
      ['step-brand', 'done'],
      ['list', 'done'],
    ]);
    const messages = await messagesOf(s, runId, 3);
    expect(messages.map((m) => m.status)).toEqual(['SENT', 'SENT', 'SENT']);
    const [runBrand, stepBrand] = [await mailOf(run.steps[0].messageId!), await mailOf(run.steps[1].messageId!)];
    expect(runBrand.to).toEqual([`${user}@example.test`]);
    expect([brandOf(runBrand), brandOf(stepBrand)]).toEqual(['run', 'step']);
    const listed = messages.find((m) => m.id !== run.steps[0].messageId && m.id !== run.steps[1].messageId)!;
    expect(brandOf(await mailOf(listed.id))).toBe('run');
    expect(runBrand.html).toContain('Hello Ann');
  });

  it("invokeByTemplate and journeys.invoke: the invocation's brand, else the notification template's own", async () => {
    const automation = uid('branded-automation');
    expect((await s.http('PUT', `/automations/templates/${automation}`, { name: 'Branded', steps: [{ action: 'send', template }] })).status).toBe(200);
    const byTemplate = await s.client.automations.invoke.invokeByTemplate(automation, { recipient: user, brand: brandId.run });
    const journey = await s.client.journeys.invoke(automation, { user_id: user });
    const [branded, unbranded] = [await settled(byTemplate.runId), await settled(journey.runId)];
    expect([branded.status, unbranded.status]).toEqual(['done', 'done']);
    expect(brandOf(await mailOf(branded.steps[0].messageId!))).toBe('run');
    expect(brandOf(await mailOf(unbranded.steps[0].messageId!))).toBe('template');
  });
});
