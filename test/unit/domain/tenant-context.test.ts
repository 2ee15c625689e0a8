import {
  chooseBrand,
  chooseContextTenant,
  loadedLayers,
  MAX_CONTEXT_LAYERS,
  mergeRecipientProfile,
  mergeTenantLayers,
  wouldCycle,
  type TenantRecord,
} from '../../../lambdas/domain/tenant-context';

const tenant = (id: string, parent: string | null, extra: Partial<TenantRecord> = {}): TenantRecord => ({
  id,
  name: id,
  parent_tenant_id: parent,
  ...extra,
});

/** The seed hierarchy (seed 004): tenant0 > tenantQ > tenantP > {tenantR1 > tenantR1D1, tenantR2 > {tenantR2D1, tenantR2D2}}. */
const seedTree: Record<string, TenantRecord> = Object.fromEntries(
  [
    tenant('tenant0', null),
    tenant('tenantQ', 'tenant0'),
    tenant('tenantP', 'tenantQ'),
    tenant('tenantR1', 'tenantP'),
    tenant('tenantR1D1', 'tenantR1'),
    tenant('tenantR2', 'tenantP'),
    tenant('tenantR2D1', 'tenantR2'),
    tenant('tenantR2D2', 'tenantR2'),
  ].map((t) => [t.id, t]),
);

/** What the store does: follow parent_tenant_id from the context tenant up to the root. */
function chainNearestFirst(tree: Record<string, TenantRecord>, id: string): TenantRecord[] {
  const chain: TenantRecord[] = [];
  for (let t: TenantRecord | undefined = tree[id]; t; t = t.parent_tenant_id ? tree[t.parent_tenant_id] : undefined) chain.push(t);
  return chain;
}

const ids = (layers: TenantRecord[]): string[] => layers.map((t) => t.id);

describe('loadedLayers (seed hierarchy)', () => {
  it.each<[string, string[]]>([
    ['tenant0', ['tenant0']],
    ['tenantP', ['tenant0', 'tenantQ', 'tenantP']],
    ['tenantR2', ['tenant0', 'tenantQ', 'tenantP', 'tenantR2']],
    ['tenantR1', ['tenant0', 'tenantQ', 'tenantP', 'tenantR1']],
    ['tenantR2D2', ['tenantQ', 'tenantP', 'tenantR2', 'tenantR2D2']],
    ['tenantR2D1', ['tenantQ', 'tenantP', 'tenantR2', 'tenantR2D1']],
    ['tenantR1D1', ['tenantQ', 'tenantP', 'tenantR1', 'tenantR1D1']],
  ])('context %s loads %j, topmost first', (context, expected) => {
    expect(ids(loadedLayers(chainNearestFirst(seedTree, context)))).toEqual(expected);
  });

  it(`keeps the ${MAX_CONTEXT_LAYERS} nearest layers of a 6-level chain`, () => {
    const chain = ['L5', 'L4', 'L3', 'L2', 'L1', 'L0'].map((id, i, all) => tenant(id, all[i + 1] ?? null));
    expect(ids(loadedLayers(chain))).toEqual(['L2', 'L3', 'L4', 'L5']);
  });

  it('does not reorder the caller’s array', () => {
    const chain = chainNearestFirst(seedTree, 'tenantR2');
    loadedLayers(chain);
    expect(ids(chain)).toEqual(['tenantR2', 'tenantP', 'tenantQ', 'tenant0']);
  });
});

describe('mergeTenantLayers', () => {
  it('merges the seed metadata example: child brand and keys win, parent keys stay', () => {
    const parent = tenant('parent', null, { brand_id: 'brandX', user_profile: { key1: 'value1', key3: 'valueA' } });
    const child = tenant('child', 'parent', { brand_id: 'brandY', user_profile: { key2: 'value2', key3: 'valueB' } });

    const context = mergeTenantLayers([parent, child]);

    expect(context).toEqual({
      tenant: child,
      layers: [parent, child],
      brand_id: 'brandY',
      properties: {},
      user_profile: { key1: 'value1', key2: 'value2', key3: 'valueB' },
    });
  });

  it.each<[string, TenantRecord[], string | undefined]>([
    ['no layer sets a brand', [tenant('a', null), tenant('b', 'a')], undefined],
    ['only the top sets one', [tenant('a', null, { brand_id: 'top' }), tenant('b', 'a'), tenant('c', 'b')], 'top'],
    ['a middle layer overrides the top', [tenant('a', null, { brand_id: 'top' }), tenant('b', 'a', { brand_id: 'mid' }), tenant('c', 'b')], 'mid'],
    ['a null brand does not clear an ancestor’s', [tenant('a', null, { brand_id: 'top' }), tenant('b', 'a', { brand_id: null })], 'top'],
    ['an empty brand does not clear an ancestor’s', [tenant('a', null, { brand_id: 'top' }), tenant('b', 'a', { brand_id: '' })], 'top'],
  ])('brand_id when %s', (_title, layers, brand) => {
    expect(mergeTenantLayers(layers).brand_id).toBe(brand);
  });

  it('merges properties and user_profile top-level key by key, lower layers winning, JSON types kept', () => {
    const layers = [
      tenant('a', null, { properties: { tz: 'UTC', plan: 'gold', seats: 5 }, user_profile: { slack: { access_token: 'top' }, lang: 'en' } }),
      tenant('b', 'a', { properties: { tz: 'Europe/Paris', flags: { beta: true } } }),
      tenant('c', 'b', { properties: { plan: null }, user_profile: { slack: { channel: 'c' } } }),
    ];

    const context = mergeTenantLayers(layers);

    expect(context.properties).toEqual({ tz: 'Europe/Paris', plan: null, seats: 5, flags: { beta: true } });
    // Nested objects are replaced whole: the child's slack object has no access_token.
    expect(context.user_profile).toEqual({ slack: { channel: 'c' }, lang: 'en' });
  });

  it('merges a truncated 6-level chain from its topmost loaded layer', () => {
    const chain = ['L5', 'L4', 'L3', 'L2', 'L1', 'L0'].map((id, i, all) =>
      tenant(id, all[i + 1] ?? null, { brand_id: id === 'L0' || id === 'L3' ? `brand-${id}` : null, properties: { [id]: true, level: id } }),
    );

    const context = mergeTenantLayers(loadedLayers(chain));

    expect(context.tenant.id).toBe('L5');
    expect(context.brand_id).toBe('brand-L3');
    expect(context.properties).toEqual({ L2: true, L3: true, L4: true, L5: true, level: 'L5' });
  });

  it('refuses an empty layer list', () => {
    expect(() => mergeTenantLayers([])).toThrow('at least the context tenant');
  });
});

describe('mergeRecipientProfile', () => {
  it('merges the seed 004 example, keeping inline true a boolean', () => {
    const tenantContext = mergeTenantLayers([tenant('t', null, { user_profile: { key1: 'value1', key2: 'valueA', key3: 'X', foo: 'bar' } })]);

    const profile = mergeRecipientProfile({
      tenantUserProfile: tenantContext.user_profile,
      storedProfile: { key2: 'valueB', key4: 'Y', foo: 'baz' },
      inline: { key2: 'valueC', key5: true },
    });

    expect(profile).toEqual({ foo: 'baz', key1: 'value1', key2: 'valueC', key3: 'X', key4: 'Y', key5: true });
    expect(profile.key5).toBe(true);
  });

  it.each<[string, Parameters<typeof mergeRecipientProfile>[0], Record<string, unknown>]>([
    ['nothing', {}, {}],
    ['membership beats tenant', { tenantUserProfile: { k: 't', a: 1 }, membershipProfile: { k: 'm' } }, { k: 'm', a: 1 }],
    ['stored beats membership', { membershipProfile: { k: 'm', b: 2 }, storedProfile: { k: 's' } }, { k: 's', b: 2 }],
    ['inline beats stored', { storedProfile: { k: 's' }, inline: { k: 'i' } }, { k: 'i' }],
    ['inline beats all', { tenantUserProfile: { k: 't' }, membershipProfile: { k: 'm' }, storedProfile: { k: 's' }, inline: { k: 'i' } }, { k: 'i' }],
    [
      'tenant fills what nobody else sets',
      { tenantUserProfile: { slack: { access_token: 'x' } }, storedProfile: { email: 'a@b.c' } },
      { slack: { access_token: 'x' }, email: 'a@b.c' },
    ],
    [
      'shallow: a stored object replaces the tenant one',
      { tenantUserProfile: { slack: { access_token: 'x' } }, storedProfile: { slack: { channel: 'c' } } },
      { slack: { channel: 'c' } },
    ],
    ['null and numbers are values', { tenantUserProfile: { a: 'x', n: '1' }, storedProfile: { a: null, n: 1 } }, { a: null, n: 1 }],
  ])('%s', (_title, parts, expected) => {
    expect(mergeRecipientProfile(parts)).toEqual(expected);
  });
});

describe('chooseBrand: the send, the tenant, the template, the workspace', () => {
  type B = string | null | undefined;
  it.each<[B, B, B, B, string | undefined]>([
    ['send', 'tenant', 'template', 'workspace', 'send'],
    [undefined, 'tenant', 'template', 'workspace', 'tenant'],
    [null, 'tenant', undefined, 'workspace', 'tenant'],
    ['', 'tenant', 'template', 'workspace', 'tenant'],
    [undefined, undefined, 'template', 'workspace', 'template'],
    [undefined, null, '', 'workspace', 'workspace'],
    [undefined, undefined, undefined, 'workspace', 'workspace'],
    ['send', undefined, undefined, undefined, 'send'],
    [undefined, undefined, undefined, undefined, undefined],
    [null, null, null, null, undefined],
  ])('send %j, tenant %j, template %j, workspace %j -> %j', (send, tenant, template, workspace, expected) => {
    expect(chooseBrand({ send, tenant, template, workspace })).toBe(expected);
  });

  it.each<[B, B, string | undefined]>([
    ['channel', 'send', 'channel'],
    ['channel', undefined, 'channel'],
    [null, 'send', 'send'],
    ['', 'send', 'send'],
    [undefined, undefined, 'tenant'],
  ])("a channel's brand_id %j beats the send's %j -> %j", (channel, send, expected) => {
    expect(chooseBrand({ channel, send, tenant: 'tenant', template: 'template', workspace: 'workspace' })).toBe(expected);
  });
});

describe('chooseContextTenant', () => {
  type Input = Parameters<typeof chooseContextTenant>[0];
  const base: Input = { membershipTenantIds: [], autoInfer: true };

  it.each<[string, Partial<Input>, ReturnType<typeof chooseContextTenant>]>([
    [
      'the recipient’s context wins over everything',
      { recipientTenantId: 'r', messageTenantId: 'm', fanoutTenantId: 'f', membershipTenantIds: ['x'] },
      { tenantId: 'r', source: 'recipient', ambiguous: false },
    ],
    [
      'the message context comes next',
      { messageTenantId: 'm', fanoutTenantId: 'f', membershipTenantIds: ['x', 'y'] },
      { tenantId: 'm', source: 'message', ambiguous: false },
    ],
    [
      'then the tenant a fan-out reached the user through',
      { fanoutTenantId: 'f', membershipTenantIds: ['x', 'y'] },
      { tenantId: 'f', source: 'fanout', ambiguous: false },
    ],
    ['a named tenant needs no membership', { recipientTenantId: 'r', membershipTenantIds: [] }, { tenantId: 'r', source: 'recipient', ambiguous: false }],
    ['a named tenant needs no auto-infer', { messageTenantId: 'm', autoInfer: false }, { tenantId: 'm', source: 'message', ambiguous: false }],
    ['one membership is inferred', { membershipTenantIds: ['only'] }, { tenantId: 'only', source: 'inferred', ambiguous: false }],
    ['one membership with auto-infer off gives none', { membershipTenantIds: ['only'], autoInfer: false }, { source: 'none', ambiguous: false }],
    ['no membership gives none', { membershipTenantIds: [] }, { source: 'none', ambiguous: false }],
    ['two memberships are ambiguous', { membershipTenantIds: ['a', 'b'] }, { source: 'none', ambiguous: true }],
    ['two memberships are ambiguous with auto-infer off too', { membershipTenantIds: ['a', 'b'], autoInfer: false }, { source: 'none', ambiguous: true }],
    ['an empty recipient tenant id names nothing', { recipientTenantId: '', messageTenantId: 'm' }, { tenantId: 'm', source: 'message', ambiguous: false }],
  ])('%s', (_title, input, expected) => {
    expect(chooseContextTenant({ ...base, ...input })).toEqual(expected);
  });
});

describe('wouldCycle', () => {
  it.each<[string, string, string[], boolean]>([
    ['a tenant as its own parent', 'a', ['a'], true],
    ['a direct cycle (a under its child b)', 'a', ['b', 'a'], true],
    ['a deep cycle (tenantQ under its descendant tenantR2D2)', 'tenantQ', ['tenantR2D2', 'tenantR2', 'tenantP', 'tenantQ', 'tenant0'], true],
    ['a deep cycle through the root', 'tenant0', ['tenantR2D2', 'tenantR2', 'tenantP', 'tenantQ', 'tenant0'], true],
    ['a new root-level parent', 'a', ['b'], false],
    ['moving to a sibling subtree', 'tenantR1', ['tenantR2D2', 'tenantR2', 'tenantP', 'tenantQ', 'tenant0'], false],
    ['moving a subtree up', 'tenantR2D2', ['tenantQ', 'tenant0'], false],
  ])('%s -> %s', (_title, tenantId, parentChain, expected) => {
    expect(wouldCycle(tenantId, parentChain)).toBe(expected);
  });

  it('checks against the seed tree chain, beyond the four loaded layers', () => {
    const parentChain = chainNearestFirst(seedTree, 'tenantR2D2').map((t) => t.id);
    expect(wouldCycle('tenant0', parentChain)).toBe(true);
    expect(wouldCycle('tenantR1D1', parentChain)).toBe(false);
  });
});
