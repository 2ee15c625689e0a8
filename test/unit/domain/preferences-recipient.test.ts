import {
  activeSnooze,
  inlinePreferencesSchema,
  matchPreference,
  REASONS,
  recipientPreferencesSchema,
  resolvePreference,
  type PreferenceLayers,
  type PreferenceRule,
} from '../../../lambdas/domain/preferences';

/*
 * The RecipientPreferences layers of D4 (L list, S list subscription, R to.preferences) with the
 * stored ones. One row per case: [tenant context?, workspace, list, user, tenant, user_tenant,
 * subscription, recipient, expected].
 *
 * A cell is '-' (layer absent) or a status and/or channels and/or a snooze:
 *   IN | OUT | REQ      status
 *   +email,sms          channels (channel_preferences, or custom routing for stored layers)
 *   z                   a snooze window around the test time; z0 one already over; z[] rules: [] (clears)
 * e.g. 'OUT', 'IN+email', 'INz', 'IN+smsz0'.
 *
 * expected: '<status>@<deciding layer>' then ' +<channels>@<routing layer>' when routing applies,
 * then ' z@<layer>' when the recipient is snoozed. Layers: w L u t ut S R, or 'default'.
 * deliver is false for OUT and when snoozed.
 */
type Row = [ctx: boolean, w: string, l: string, u: string, t: string, ut: string, s: string, r: string, expected: string];

const AT = Date.parse('2026-11-30T12:00:00Z');
const NOW_WINDOW = { start: '2026-11-30T11:00:00Z', until: '2026-11-30T13:00:00Z' };
const PAST_WINDOW = { start: '2026-11-29T11:00:00Z', until: '2026-11-29T13:00:00Z' };

const CASES: Row[] = [
  // ctx    w       L          u       t        ut       S            R             expected
  [false, '-', '-', '-', '-', '-', '-', 'OUT', 'OUT@R'],
  [false, '-', '-', '-', '-', '-', 'OUT', '-', 'OUT@S'],
  [false, '-', 'OUT', '-', '-', '-', '-', '-', 'OUT@L'],
  [false, '-', 'OUT', 'IN', '-', '-', '-', '-', 'IN@u'],
  [false, 'OUT', 'IN', '-', '-', '-', '-', '-', 'IN@L'],
  [false, '-', '-', 'OUT', '-', '-', 'IN', '-', 'IN@S'],
  [false, '-', '-', 'OUT', '-', '-', '-', 'IN', 'IN@R'],
  [false, '-', '-', '-', '-', '-', 'OUT', 'IN', 'IN@R'],
  [false, '-', '-', '-', '-', '-', 'IN', 'OUT', 'OUT@R'],
  [false, 'REQ', '-', '-', '-', '-', 'OUT', 'OUT', 'REQ@w'],
  [false, '-', 'REQ', 'OUT', '-', '-', 'OUT', 'OUT', 'REQ@L'],
  [false, '-', '-', '-', '-', '-', '-', 'IN+email', 'IN@R +email@R'],
  [false, '+sms', '-', '-', '-', '-', 'IN+email', '-', 'IN@S +email@S'],
  [false, '-', 'IN+push', '-', '-', '-', '-', 'IN+email,sms', 'IN@R +email,sms@R'],
  [false, 'REQ', '-', '-', '-', '-', '-', 'OUT+inbox', 'REQ@w +inbox@R'],
  [false, '-', '-', '-', '-', '-', '-', 'INz', 'IN@R z@R'],
  [false, '-', '-', '-', '-', '-', '-', 'INz0', 'IN@R'],
  [false, '-', '-', '-', '-', '-', 'INz', '-', 'IN@S z@S'],
  [false, '-', '-', '-', '-', '-', 'INz', 'INz[]', 'IN@R'],
  [false, '-', '-', '-', '-', '-', 'INz', 'IN', 'IN@R z@S'],
  [false, '-', 'INz', '-', '-', '-', '-', '-', 'IN@L z@L'],
  [false, 'REQ', '-', '-', '-', '-', '-', 'INz', 'REQ@w'],
  [false, '-', 'REQ', '-', '-', '-', 'INz', '-', 'REQ@L'],
  [false, '-', '-', '-', '-', '-', 'OUTz', '-', 'OUT@S z@S'],
  [true, '-', '-', 'OUT', 'IN', '-', 'OUT', '-', 'OUT@S'],
  [true, '-', '-', '-', 'REQ', '-', 'OUT', 'OUT', 'REQ@t'],
  [true, '-', '-', '-', 'REQ', '-', 'INz', '-', 'REQ@t'],
  [true, '-', '-', '-', 'OUT', 'IN', '-', 'OUT', 'OUT@R'],
  [true, '-', 'OUT', 'IN', '-', '-', '-', '-', 'IN@u'],
  [true, '-', 'IN', '-', 'OUT', '-', '-', '-', 'OUT@t'],
  [true, '-', '-', '-', '+email', '-', 'IN+sms', '-', 'IN@S +sms@S'],
  [true, '-', '-', '-', '-', '-', '-', 'INz', 'IN@R z@R'],
];

const STATUS = { IN: 'OPTED_IN', OUT: 'OPTED_OUT', REQ: 'REQUIRED' } as const;
const LAYER = {
  w: 'workspace',
  L: 'list',
  u: 'user',
  t: 'tenant',
  ut: 'user_tenant',
  S: 'list_subscription',
  R: 'recipient',
  default: 'default',
} as const;

function rule(cell: string): PreferenceRule {
  const m = /^(IN|OUT|REQ)?(?:\+([\w,]+))?(z0|z\[\]|z)?$/.exec(cell);
  if (!m || cell === '') throw new Error(`malformed cell "${cell}"`);
  const [, status, channels, snooze] = m;
  return {
    ...(status ? { status: STATUS[status as keyof typeof STATUS] } : {}),
    ...(channels ? { has_custom_routing: true, custom_routing: channels.split(',') } : {}),
    ...(snooze === 'z' ? { rules: [NOW_WINDOW] } : snooze === 'z0' ? { rules: [PAST_WINDOW] } : snooze === 'z[]' ? { rules: [] } : {}),
  };
}

function layersOf([ctx, w, l, u, t, ut, s, r]: Row): PreferenceLayers {
  const layers: PreferenceLayers = { hasTenantContext: ctx, at: AT };
  if (w !== '-') layers.workspace = rule(w);
  if (l !== '-') layers.list = { list_id: 'list', key: 'tmpl', rule: rule(l) };
  if (u !== '-') layers.user = rule(u);
  if (t !== '-') layers.tenant = { tenant_id: 'tenant', rule: rule(t) };
  if (ut !== '-') layers.userTenant = rule(ut);
  if (s !== '-') layers.listSubscription = { list_id: 'list', key: 'tmpl', rule: rule(s) };
  if (r !== '-') layers.recipient = { key: 'tmpl', rule: rule(r) };
  return layers;
}

describe('resolvePreference with RecipientPreferences layers (table)', () => {
  it.each(CASES)('ctx=%s w=%s L=%s u=%s t=%s ut=%s S=%s R=%s -> %s', (...row) => {
    const expected = row[8];
    const m = /^(IN|OUT|REQ)@(\w+)(?: \+([\w,]+)@(\w+))?(?: z@(\w+))?$/.exec(expected);
    if (!m) throw new Error(`malformed expectation "${expected}"`);
    const [, status, deciding, routing, routingLayer, snoozeLayer] = m;
    const d = resolvePreference(layersOf(row));
    expect({
      status: d.status,
      decidingLayer: d.decidingLayer,
      customRouting: d.customRouting,
      routingLayer: d.routingLayer,
      snooze: d.snooze,
      deliver: d.deliver,
    }).toEqual({
      status: STATUS[status as keyof typeof STATUS],
      decidingLayer: LAYER[deciding as keyof typeof LAYER],
      customRouting: routing?.split(','),
      routingLayer: routingLayer && LAYER[routingLayer as keyof typeof LAYER],
      snooze: snoozeLayer ? { until: NOW_WINDOW.until, layer: LAYER[snoozeLayer as keyof typeof LAYER] } : undefined,
      deliver: status !== 'OUT' && !snoozeLayer,
    });
  });

  it('lists the layers in the order they apply, the given ones only when given, with their list and key', () => {
    const withCtx = resolvePreference(layersOf([true, 'IN', 'IN', '-', '-', '-', 'OUT', 'IN', '']));
    expect(withCtx.layers.map((l) => [l.layer, l.list_id, l.key])).toEqual([
      ['workspace', undefined, undefined],
      ['list', 'list', 'tmpl'],
      ['user', undefined, undefined],
      ['tenant', undefined, undefined],
      ['user_tenant', undefined, undefined],
      ['list_subscription', 'list', 'tmpl'],
      ['recipient', undefined, 'tmpl'],
    ]);
    const stored = resolvePreference({ hasTenantContext: false, workspace: { status: 'OPTED_IN' } });
    expect(stored.layers.map((l) => l.layer)).toEqual(['workspace', 'tenant', 'user', 'user_tenant']);
  });

  it('says why a locked layer applied neither status nor snooze, and why preferences for another template do not apply', () => {
    const d = resolvePreference({
      hasTenantContext: false,
      at: AT,
      workspace: { status: 'REQUIRED' },
      recipient: { key: 'tmpl', rule: { status: 'OPTED_OUT', rules: [NOW_WINDOW] } },
      listSubscription: { list_id: 'list', notApplicable: "templateId x is not this message's template" },
    });
    const reasons = Object.fromEntries(d.layers.map((l) => [l.layer, [l.applied, l.reason]]));
    expect(reasons.recipient).toEqual([false, `${REASONS.requiredByWorkspace}; ${REASONS.snoozeLocked}`]);
    expect(reasons.list_subscription).toEqual([false, "templateId x is not this message's template"]);
    expect(d.deliver).toBe(true);
  });

  it('has no snooze without a time to check', () => {
    expect(resolvePreference({ hasTenantContext: false, recipient: { rule: { status: 'OPTED_IN', rules: [NOW_WINDOW] } } }).deliver).toBe(true);
  });
});

describe('activeSnooze', () => {
  const cases: Array<[rules: Array<{ start?: string; until: string }>, at: string, expected: string | undefined]> = [
    [[{ until: '2026-11-30T13:00:00Z' }], '2026-11-30T12:00:00Z', '2026-11-30T13:00:00Z'],
    [[{ until: '2026-11-30T13:00:00Z' }], '2026-11-30T13:00:00Z', undefined],
    [[{ start: '2026-11-30T12:00:00Z', until: '2026-11-30T13:00:00Z' }], '2026-11-30T12:00:00Z', '2026-11-30T13:00:00Z'],
    [[{ start: '2026-11-30T12:00:01Z', until: '2026-11-30T13:00:00Z' }], '2026-11-30T12:00:00Z', undefined],
    [
      [
        { until: '2026-11-30T13:00:00Z' },
        { start: '2026-11-30T11:00:00Z', until: '2026-11-30T15:00:00Z' },
        { start: '2026-11-30T14:00:00Z', until: '2026-11-30T18:00:00Z' },
      ],
      '2026-11-30T12:00:00Z',
      '2026-11-30T15:00:00Z',
    ],
    [[], '2026-11-30T12:00:00Z', undefined],
  ];
  it.each(cases)('%j at %s -> %s', (rules, at, expected) => expect(activeSnooze(rules, Date.parse(at))).toBe(expected));
});

describe('matchPreference', () => {
  const prefs = {
    notifications: {
      tmpl: { status: 'OPTED_OUT' as const },
      topic: { status: 'OPTED_IN' as const, channel_preferences: [{ channel: 'sms' as const }], rules: [{ until: '2026-12-01T00:00:00Z' }] },
    },
  };
  const cases: Array<[name: string, p: Parameters<typeof matchPreference>[0], keys: Parameters<typeof matchPreference>[1], expected: unknown]> = [
    ['the template entry beats the topic entry', prefs, { templateIds: ['tmpl'], topicId: 'topic' }, { key: 'tmpl', rule: { status: 'OPTED_OUT' } }],
    [
      'the topic entry, its channels as custom routing and its rules',
      prefs,
      { templateIds: ['other'], topicId: 'topic' },
      { key: 'topic', rule: { status: 'OPTED_IN', has_custom_routing: true, custom_routing: ['sms'], rules: [{ until: '2026-12-01T00:00:00Z' }] } },
    ],
    ['the resolved notification id (an event sent)', prefs, { templateIds: ['event', 'tmpl'] }, { key: 'tmpl', rule: { status: 'OPTED_OUT' } }],
    ['nothing keyed for this message', prefs, { templateIds: ['other'], topicId: 'x' }, undefined],
    ['no preferences', undefined, { templateIds: ['tmpl'] }, undefined],
    [
      'templateId of another template',
      { ...prefs, templateId: 'else' },
      { templateIds: ['tmpl'] },
      { notApplicable: "templateId else is not this message's template" },
    ],
    ['templateId of this template', { ...prefs, templateId: 'tmpl' }, { templateIds: ['tmpl'] }, { key: 'tmpl', rule: { status: 'OPTED_OUT' } }],
    [
      'empty channel_preferences set no routing',
      { notifications: { t: { status: 'OPTED_IN', channel_preferences: [] } } },
      { templateIds: ['t'] },
      { key: 't', rule: { status: 'OPTED_IN' } },
    ],
  ];
  it.each(cases)('%s', (_name, p, keys, expected) => expect(matchPreference(p, keys)).toEqual(expected));
});

describe('preference body schemas', () => {
  const issue = (schema: typeof recipientPreferencesSchema | typeof inlinePreferencesSchema, body: unknown) => {
    const r = schema.safeParse(body);
    return r.success ? 'ok' : `${r.error.issues[0].path.join('.')}: ${r.error.issues[0].message}`;
  };
  const cases: Array<[body: unknown, recipient: string | RegExp, inline: string | RegExp]> = [
    [{ notifications: { t: { status: 'OPTED_OUT' } } }, 'ok', 'ok'],
    [{ notifications: { t: { status: 'MAYBE' } } }, /^notifications\.t\.status: /, /^notifications\.t\.status: /],
    [
      { notifications: { t: { status: 'OPTED_IN', channel_preferences: [{ channel: 'fax' }] } } },
      /^notifications\.t\.channel_preferences\.0\.channel: /,
      /channel/,
    ],
    [{ notifications: { t: { status: 'OPTED_IN', rules: [{ start: '2026-11-30T12:00:00Z' }] } } }, /^notifications\.t\.rules\.0\.until: /, /until/],
    [{ notifications: { t: { status: 'OPTED_IN', rules: [{ until: 'soon' }] } } }, 'notifications.t.rules.0.until: must be an ISO-8601 time', /until/],
    [
      { notifications: { t: { status: 'OPTED_IN', rules: [{ start: '2026-11-30T13:00:00Z', until: '2026-11-30T12:00:00Z' }] } } },
      'notifications.t.rules.0.start: start must be before until',
      /start/,
    ],
    [{ categories: { c: { status: 'OPTED_OUT' } } }, /^categories: categories are not supported/, /^categories: categories are not supported/],
    [{ categories: {}, notifications: null }, 'ok', 'ok'],
    [{ notifications: { t: { status: 'OPTED_IN', source: 'recipient' } } }, /^notifications\.t: /, 'ok'],
    [{ notifications: { t: { status: 'OPTED_IN', source: 'list' } } }, /^notifications\.t: /, /^notifications\.t\.source: /],
    [{ templateId: 't' }, /templateId|Unrecognized/, 'ok'],
    [{ notifications: { t: { status: 'OPTED_IN', snooze: {} } } }, /^notifications\.t: /, /^notifications\.t: /],
  ];
  it.each(cases)('%j', (body, recipient, inline) => {
    for (const [schema, expected] of [
      [recipientPreferencesSchema, recipient],
      [inlinePreferencesSchema, inline],
    ] as const) {
      const got = issue(schema, body);
      if (typeof expected === 'string') expect(got).toBe(expected);
      else expect(got).toMatch(expected);
    }
  });
});
