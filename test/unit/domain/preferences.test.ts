import {
  defaultStatus,
  REASONS,
  resolvePreference,
  type LayerName,
  type PreferenceLayers,
  type PreferenceRule,
  type PreferenceStatus,
} from '../../../lambdas/domain/preferences';

/*
 * Case notation, one row per case: [tenant context?, workspace, ancestors, tenant, user, user_tenant, expected].
 *
 * A layer cell is '-' (not set) or a status and/or a routing part:
 *   IN | OUT | REQ     status OPTED_IN | OPTED_OUT | REQUIRED
 *   +email,slack       has_custom_routing: true with those entries ('+' alone: true with none)
 *   ~                  has_custom_routing: false
 * e.g. 'OUT+sms', 'IN~', '+push'. The ancestors cell lists ancestors topmost first: 'IN+email > OUT'.
 *
 * expected is '<status>@<deciding layer>' then, when custom routing applies, ' +<entries>@<routing layer>',
 * with layers w, a, t, u, ut or 'default': 'REQ@w +sms@ut'.
 */
type Row = [ctx: boolean, w: string, a: string, t: string, u: string, ut: string, expected: string];

const CASES: Row[] = [
  // ctx   workspace    ancestors        tenant             user                         user_tenant              expected
  [true, '-', '-', '-', '-', '-', 'IN@default'],
  [true, 'OUT', '-', '-', '-', '-', 'OUT@w'],
  [true, '-', 'REQ', '-', '-', '-', 'REQ@a'],
  [true, '-', '-', 'IN+email,slack', '-', '-', 'IN@t +email,slack@t'],
  [true, '-', '-', '-', 'OUT', '-', 'OUT@u'],
  [true, '-', '-', '-', '-', 'OUT', 'OUT@ut'],
  [true, 'REQ', 'OUT', '-', '-', '-', 'OUT@a'],
  [true, 'IN+email', '-', '~', '-', '-', 'IN@w'],
  [true, 'OUT', '-', '-', 'IN', '-', 'IN@u'],
  [true, 'REQ', '-', '-', '-', 'OUT+sms', 'REQ@w +sms@ut'],
  [true, '-', 'IN+email', 'IN+email,slack', '-', '-', 'IN@t +email,slack@t'],
  [true, '-', '+push', '-', 'OUT', '-', 'OUT@u +push@a'],
  [true, '-', 'REQ', '-', '-', 'IN', 'REQ@a'],
  [true, '-', '-', 'IN', 'OUT', '-', 'IN@t'],
  [true, '-', '-', 'REQ+email', '-', 'OUT~', 'REQ@t'],
  [true, '-', '-', '-', 'OUT', 'IN', 'IN@ut'],
  [true, 'REQ', 'IN', 'OUT', '-', '-', 'OUT@t'],
  [true, 'IN', 'OUT+sms', '-', 'IN', '-', 'OUT@a +sms@a'],
  [true, 'OUT', '~', '-', '-', '+inbox', 'OUT@w +inbox@ut'],
  [true, 'REQ', '-', 'IN', 'OUT', '-', 'IN@t'],
  [true, 'REQ', '-', 'OUT', '-', 'IN', 'OUT@t'],
  [true, 'IN+email', '-', '-', 'OUT', '+', 'OUT@u +email@w'],
  [true, '-', '-', '-', '+sms', '-', 'IN@default +sms@u'],
  [true, '-', '-', '+email', 'OUT+sms', '-', 'OUT@u +email@t'],
  [true, 'REQ', '-', '-', 'OUT', '-', 'REQ@w'],
  [true, '-', 'OUT', '+slack', 'IN', '-', 'OUT@a +slack@t'],
  [true, '-', 'IN', 'OUT', '-', 'IN+push', 'IN@ut +push@ut'],
  [true, '-', 'IN+email', '-', 'REQ', '~', 'IN@a'],
  [true, '-', '-', 'OUT', 'IN', 'REQ', 'REQ@ut'],
  [true, '+email', '+sms', 'IN', 'OUT', '-', 'IN@t +sms@a'],
  [true, 'REQ+email', '+sms,email', '~', '-', 'OUT+push', 'REQ@w +push@ut'],
  [true, 'OUT', 'IN', '-', 'REQ', 'OUT', 'OUT@ut'],
  [true, 'IN', '-', 'REQ', 'IN', 'OUT+email,email,sms', 'REQ@t +email,sms@ut'],
  [true, '-', 'REQ', 'IN', 'OUT', '~', 'IN@t'],
  [true, 'OUT', 'IN > REQ', '+email', 'IN', 'IN', 'REQ@a +email@t'],
  [true, '-', 'OUT+email > IN', '-', '-', '-', 'IN@a +email@a'],
  [true, 'REQ', 'IN > ~', 'OUT', '-', 'REQ', 'OUT@t'],
  [true, '-', '-', '+email', '-', 'IN~', 'IN@ut'],

  [false, '-', '-', '-', '-', '-', 'IN@default'],
  [false, 'REQ', '-', '-', '-', '-', 'REQ@w'],
  [false, '-', 'OUT', '-', '-', '-', 'IN@default'],
  [false, '-', '-', 'OUT', '-', '-', 'IN@default'],
  [false, '-', '-', '-', 'OUT', '-', 'OUT@u'],
  [false, '-', '-', '-', '-', 'OUT', 'IN@default'],
  [false, 'IN+sms', 'OUT+email', '-', '-', '-', 'IN@w +sms@w'],
  [false, 'OUT', '-', 'IN', '-', '-', 'OUT@w'],
  [false, 'REQ', '-', '-', 'OUT+email', '-', 'REQ@w +email@u'],
  [false, 'IN', '-', '-', '-', 'OUT', 'IN@w'],
  [false, '-', 'IN', 'REQ', '-', '-', 'IN@default'],
  [false, '-', 'REQ', '-', 'IN', '-', 'IN@u'],
  [false, '-', '+email', '-', '-', '+sms', 'IN@default'],
  [false, '-', '-', 'IN', 'OUT', '-', 'OUT@u'],
  [false, '-', '-', 'OUT', '-', 'OUT', 'IN@default'],
  [false, '-', '-', '-', 'IN+push', 'OUT', 'IN@u +push@u'],
  [false, '+email', 'REQ', 'OUT', '-', '-', 'IN@default +email@w'],
  [false, 'OUT+email', 'IN', '-', '~', '-', 'OUT@w'],
  [false, 'REQ', 'OUT', '-', '-', 'OUT', 'REQ@w'],
  [false, 'IN', '-', 'OUT', 'REQ', '-', 'REQ@u'],
  [false, 'OUT', '-', 'IN', '-', 'IN', 'OUT@w'],
  [false, 'REQ+sms', '-', '-', 'IN+email', 'OUT', 'REQ@w +email@u'],
  [false, '-', 'OUT', 'OUT', '+inbox', '-', 'IN@default +inbox@u'],
  [false, '-', 'IN', 'IN', '-', 'OUT', 'IN@default'],
  [false, '-', 'OUT', '-', 'IN', 'OUT', 'IN@u'],
  [false, '-', '-', 'REQ', 'OUT', 'IN', 'OUT@u'],
  [false, 'IN+email', 'OUT', 'REQ', '+', '-', 'IN@w +email@w'],
  [false, 'OUT', 'IN', 'IN', '-', 'IN', 'OUT@w'],
  [false, '~', '+email', '-', 'OUT+sms', 'IN', 'OUT@u +sms@u'],
  [false, 'REQ', '-', 'OUT', 'IN', 'OUT', 'REQ@w'],
  [false, '-', 'IN', 'OUT', 'OUT', 'IN', 'OUT@u'],
  [false, 'IN', 'OUT', 'OUT', '+direct_message,webhook', 'OUT', 'IN@w +direct_message,webhook@u'],
];

const STATUS = { IN: 'OPTED_IN', OUT: 'OPTED_OUT', REQ: 'REQUIRED' } as const;
const LAYER = { w: 'workspace', a: 'ancestor_tenant', t: 'tenant', u: 'user', ut: 'user_tenant' } as const;
type Column = keyof typeof LAYER;
const COLUMNS: Column[] = ['w', 'a', 't', 'u', 'ut'];

/** The parts of one cell; throws on a typo so a malformed row fails instead of testing nothing. */
function parseCell(cell: string): { status?: keyof typeof STATUS; routing?: string[]; clear?: true } {
  const m = /^(IN|OUT|REQ)?(?:\+([\w,]*)|(~))?$/.exec(cell);
  if (!m || cell === '') throw new Error(`malformed cell "${cell}"`);
  const [, status, routing, clear] = m;
  return {
    ...(status ? { status: status as keyof typeof STATUS } : {}),
    ...(routing !== undefined ? { routing: routing ? routing.split(',') : [] } : {}),
    ...(clear ? { clear: true as const } : {}),
  };
}

function rule(cell: string): PreferenceRule {
  const { status, routing, clear } = parseCell(cell);
  return {
    ...(status ? { status: STATUS[status] } : {}),
    ...(routing ? { has_custom_routing: true, custom_routing: routing } : {}),
    ...(clear ? { has_custom_routing: false } : {}),
  };
}

const ancestorCells = (cell: string): string[] => (cell === '-' ? [] : cell.split(' > '));

function layersOf([ctx, w, a, t, u, ut]: Row): PreferenceLayers {
  const layers: PreferenceLayers = { hasTenantContext: ctx };
  if (w !== '-') layers.workspace = rule(w);
  if (a !== '-') layers.ancestors = ancestorCells(a).map((c, i) => ({ tenant_id: `ancestor-${i}`, rule: rule(c) }));
  if (t !== '-') layers.tenant = { tenant_id: 'context-tenant', rule: rule(t) };
  if (u !== '-') layers.user = rule(u);
  if (ut !== '-') layers.userTenant = rule(ut);
  return layers;
}

function expectedOf(expected: string) {
  const m = /^(IN|OUT|REQ)@(w|a|t|ut|u|default)(?: \+([\w,]+)@(w|a|t|ut|u))?$/.exec(expected);
  if (!m) throw new Error(`malformed expectation "${expected}"`);
  const [, code, by, routing, routingBy] = m;
  const status: PreferenceStatus = STATUS[code as keyof typeof STATUS];
  return {
    status,
    deliver: status !== 'OPTED_OUT',
    decidingLayer: by === 'default' ? 'default' : LAYER[by as Column],
    ...(routing ? { customRouting: routing.split(','), routingLayer: LAYER[routingBy as Column] } : {}),
  };
}

const title = ([ctx, ...rest]: Row): string =>
  `${ctx ? 'tenant context' : 'no tenant context'} | ${COLUMNS.map((c, i) => `${c}=${rest[i]}`).join(' ')} => ${rest[5]}`;

describe('resolvePreference: the case table', () => {
  it.each(CASES.map((row) => [title(row), row] as const))('%s', (_title, row) => {
    const { status, deliver, decidingLayer, customRouting, routingLayer } = resolvePreference(layersOf(row));
    expect({ status, deliver, decidingLayer, customRouting, routingLayer }).toEqual(expectedOf(row[6]));
  });
});

describe('the case table itself', () => {
  const patternName = (ctx: boolean, set: boolean[]): string => {
    const names = COLUMNS.filter((_, i) => set[i]).map((c) => LAYER[c]);
    return `${ctx ? 'with' : 'without'} tenant context, set: ${names.join(' + ') || 'none'}`;
  };

  it('has a case for every set/unset pattern of the five layers, with and without a tenant context', () => {
    const covered = new Set(
      CASES.map(([ctx, ...cells]) =>
        patternName(
          ctx,
          cells.slice(0, 5).map((c) => c !== '-'),
        ),
      ),
    );
    const missing: string[] = [];
    for (const ctx of [true, false]) {
      for (let mask = 0; mask < 2 ** COLUMNS.length; mask++) {
        const name = patternName(
          ctx,
          COLUMNS.map((_, i) => (mask & (1 << i)) !== 0),
        );
        if (!covered.has(name)) missing.push(name);
      }
    }
    expect(missing).toEqual([]);
  });

  it('sets every status, a routing list and a routing clear on every layer in a case where that layer applies', () => {
    const applies = (column: Column, ctx: boolean): boolean => column === 'w' || (column === 'u' ? !ctx : ctx);
    const seen = new Set<string>();
    for (const [ctx, ...cells] of CASES) {
      COLUMNS.forEach((column, i) => {
        if (!applies(column, ctx)) return;
        const parts = (column === 'a' ? ancestorCells(cells[i]) : [cells[i]]).filter((c) => c !== '-').map(parseCell);
        for (const { status, routing, clear } of parts) {
          if (status) seen.add(`${LAYER[column]} ${status}`);
          if (routing?.length) seen.add(`${LAYER[column]} +routing`);
          if (clear) seen.add(`${LAYER[column]} ~routing`);
        }
      });
    }
    const required = COLUMNS.flatMap((c) => ['IN', 'OUT', 'REQ', '+routing', '~routing'].map((s) => `${LAYER[c]} ${s}`));
    expect(required.filter((name) => !seen.has(name))).toEqual([]);
  });
});

describe('resolvePreference: the seed documents', () => {
  it('child tenant routing replaces the parent list: parent OPTED_IN [email], child OPTED_IN [email, slack], no user preference', () => {
    const d = resolvePreference({
      hasTenantContext: true,
      ancestors: [{ tenant_id: 'parent', rule: { status: 'OPTED_IN', has_custom_routing: true, custom_routing: ['email'] } }],
      tenant: { tenant_id: 'child', rule: { status: 'OPTED_IN', has_custom_routing: true, custom_routing: ['email', 'slack'] } },
    });
    expect(d).toMatchObject({ status: 'OPTED_IN', deliver: true, customRouting: ['email', 'slack'], decidingLayer: 'tenant', routingLayer: 'tenant' });
  });

  it('a tenant default OPTED_IN with Email + Slack reaches a user with no preference for that tenant', () => {
    const d = resolvePreference({
      hasTenantContext: true,
      tenant: { tenant_id: 'tenant-a', rule: { status: 'OPTED_IN', has_custom_routing: true, custom_routing: ['email', 'slack'] } },
    });
    expect(d).toMatchObject({ status: 'OPTED_IN', deliver: true, customRouting: ['email', 'slack'] });
  });

  describe('workspace alerts ON, one user, two projects', () => {
    const workspace: PreferenceRule = { status: 'OPTED_IN' };

    it('filters the user opted out for stage-project', () => {
      const d = resolvePreference({ hasTenantContext: true, workspace, tenant: { tenant_id: 'stage-project' }, userTenant: { status: 'OPTED_OUT' } });
      expect(d).toMatchObject({ status: 'OPTED_OUT', deliver: false, decidingLayer: 'user_tenant' });
    });

    it('delivers by email and Slack for prod-project, where the same user chose both', () => {
      const d = resolvePreference({
        hasTenantContext: true,
        workspace,
        tenant: { tenant_id: 'prod-project' },
        userTenant: { status: 'OPTED_IN', has_custom_routing: true, custom_routing: ['email', 'slack'] },
      });
      expect(d).toMatchObject({ status: 'OPTED_IN', deliver: true, customRouting: ['email', 'slack'], routingLayer: 'user_tenant' });
    });
  });

  it('a global opt-out holds in a tenant context (auto-inferred for a single-tenant user) whose tenants set nothing for the topic', () => {
    const d = resolvePreference({ hasTenantContext: true, workspace: { status: 'OPTED_IN' }, tenant: { tenant_id: 'acme' }, user: { status: 'OPTED_OUT' } });
    expect([d.status, d.deliver, d.decidingLayer]).toEqual(['OPTED_OUT', false, 'user']);
  });

  it('a tenant default opt-in beats a global opt-out in that tenant context', () => {
    const d = resolvePreference({ hasTenantContext: true, tenant: { tenant_id: 'acme', rule: { status: 'OPTED_IN' } }, user: { status: 'OPTED_OUT' } });
    expect(d).toMatchObject({ status: 'OPTED_IN', deliver: true, decidingLayer: 'tenant' });
  });

  it('...unless the user also opts out for that tenant', () => {
    const d = resolvePreference({
      hasTenantContext: true,
      tenant: { tenant_id: 'acme', rule: { status: 'OPTED_IN' } },
      user: { status: 'OPTED_OUT' },
      userTenant: { status: 'OPTED_OUT' },
    });
    expect(d).toMatchObject({ status: 'OPTED_OUT', deliver: false, decidingLayer: 'user_tenant' });
  });

  it('a global opt-out decides when there is no tenant context', () => {
    const d = resolvePreference({ hasTenantContext: false, workspace: { status: 'OPTED_IN' }, user: { status: 'OPTED_OUT' } });
    expect(d).toMatchObject({ status: 'OPTED_OUT', deliver: false, decidingLayer: 'user' });
  });

  it('a workspace REQUIRED topic stays REQUIRED against a user-tenant opt-out, whose routing still applies', () => {
    const d = resolvePreference({
      hasTenantContext: true,
      workspace: { status: 'REQUIRED' },
      tenant: { tenant_id: 'acme' },
      userTenant: { status: 'OPTED_OUT', has_custom_routing: true, custom_routing: ['push'] },
    });
    expect(d).toMatchObject({ status: 'REQUIRED', deliver: true, decidingLayer: 'workspace', customRouting: ['push'], routingLayer: 'user_tenant' });
  });
});

describe('resolvePreference: the explain contributions', () => {
  const contribution = (layers: PreferenceLayers, layer: LayerName) => resolvePreference(layers).layers.find((l) => l.layer === layer);

  it('lists every layer in order, one entry per ancestor, with what it set, whether it applied and why not', () => {
    const d = resolvePreference({
      hasTenantContext: true,
      workspace: { status: 'REQUIRED' },
      ancestors: [{ tenant_id: 'org', rule: { status: 'OPTED_IN', has_custom_routing: true, custom_routing: ['email'] } }, { tenant_id: 'team' }],
      tenant: { tenant_id: 'project', rule: { has_custom_routing: true, custom_routing: [] } },
      user: { status: 'OPTED_OUT' },
      userTenant: { status: 'OPTED_OUT', has_custom_routing: true, custom_routing: ['sms'] },
    });
    expect(d).toEqual({
      status: 'OPTED_IN',
      deliver: true,
      decidingLayer: 'ancestor_tenant',
      customRouting: ['sms'],
      routingLayer: 'user_tenant',
      layers: [
        { layer: 'workspace', applied: true, set: { status: 'REQUIRED' } },
        { layer: 'user', applied: false, set: { status: 'OPTED_OUT' }, reason: REASONS.requiredByWorkspace },
        { layer: 'ancestor_tenant', tenant_id: 'org', applied: true, set: { status: 'OPTED_IN', has_custom_routing: true, custom_routing: ['email'] } },
        { layer: 'ancestor_tenant', tenant_id: 'team', applied: false, set: {}, reason: REASONS.nothingSet },
        { layer: 'tenant', tenant_id: 'project', applied: false, set: { has_custom_routing: true, custom_routing: [] }, reason: REASONS.emptyRouting },
        {
          layer: 'user_tenant',
          applied: true,
          set: { status: 'OPTED_OUT', has_custom_routing: true, custom_routing: ['sms'] },
          reason: REASONS.requiredByWorkspace,
        },
      ],
    });
  });

  it('applies a global preference in a tenant context, before the tenant layers, which may then replace it', () => {
    const d = resolvePreference({
      hasTenantContext: true,
      user: { status: 'OPTED_OUT', has_custom_routing: true, custom_routing: ['sms'] },
      tenant: { tenant_id: 't' },
    });
    expect(d.layers.map((l) => l.layer)).toEqual(['workspace', 'user', 'tenant', 'user_tenant']);
    expect(d.layers[1]).toEqual({ layer: 'user', applied: true, set: { status: 'OPTED_OUT', has_custom_routing: true, custom_routing: ['sms'] } });
    expect([d.status, d.decidingLayer, d.customRouting]).toEqual(['OPTED_OUT', 'user', ['sms']]);
  });

  it('reports ancestors, tenant and user-tenant as not applied without a tenant context', () => {
    const d = resolvePreference({
      hasTenantContext: false,
      ancestors: [{ tenant_id: 'org', rule: { status: 'OPTED_OUT' } }],
      tenant: { tenant_id: 'acme', rule: { status: 'OPTED_OUT' } },
      userTenant: { status: 'OPTED_OUT' },
    });
    expect(d.status).toBe('OPTED_IN');
    expect(d.layers.filter((l) => l.layer !== 'workspace' && l.layer !== 'user')).toEqual([
      expect.objectContaining({ layer: 'ancestor_tenant', tenant_id: 'org', applied: false, reason: 'no tenant context' }),
      expect.objectContaining({ layer: 'tenant', tenant_id: 'acme', applied: false, reason: 'no tenant context' }),
      expect.objectContaining({ layer: 'user_tenant', applied: false, reason: 'no tenant context' }),
    ]);
  });

  it('refuses a user status on a REQUIRED topic: not applied when status is all it set', () => {
    const c = contribution({ hasTenantContext: false, workspace: { status: 'REQUIRED' }, user: { status: 'OPTED_OUT' } }, 'user');
    expect(c).toMatchObject({ applied: false });
    expect(c?.reason).toMatch(/^REQUIRED cannot be opted out/);
  });

  it('refuses a user-tenant status after tenant defaults made the topic REQUIRED', () => {
    const layers: PreferenceLayers = {
      hasTenantContext: true,
      tenant: { tenant_id: 'acme', rule: { status: 'REQUIRED' } },
      userTenant: { status: 'OPTED_IN' },
    };
    expect(resolvePreference(layers)).toMatchObject({ status: 'REQUIRED', decidingLayer: 'tenant' });
    expect(contribution(layers, 'user_tenant')).toMatchObject({ applied: false, reason: REASONS.requiredByTenant });
  });

  it('keeps a workspace REQUIRED lock on the user layers after a tenant default overrode the status', () => {
    const layers: PreferenceLayers = {
      hasTenantContext: true,
      workspace: { status: 'REQUIRED' },
      tenant: { tenant_id: 'acme', rule: { status: 'OPTED_OUT' } },
      userTenant: { status: 'OPTED_IN' },
    };
    expect(resolvePreference(layers)).toMatchObject({ status: 'OPTED_OUT', deliver: false, decidingLayer: 'tenant' });
    expect(contribution(layers, 'user_tenant')).toMatchObject({ applied: false, reason: REASONS.requiredByWorkspace });
  });

  it('marks a layer applied even when a later layer replaced what it set', () => {
    const layers: PreferenceLayers = { hasTenantContext: false, workspace: { status: 'OPTED_OUT' }, user: { status: 'OPTED_IN' } };
    expect(contribution(layers, 'workspace')).toEqual({ layer: 'workspace', applied: true, set: { status: 'OPTED_OUT' } });
  });

  it('marks a has_custom_routing: false layer applied: it clears earlier routing', () => {
    const layers: PreferenceLayers = {
      hasTenantContext: false,
      workspace: { has_custom_routing: true, custom_routing: ['email'] },
      user: { has_custom_routing: false },
    };
    expect(resolvePreference(layers).customRouting).toBeUndefined();
    expect(contribution(layers, 'user')).toEqual({ layer: 'user', applied: true, set: { has_custom_routing: false } });
  });

  it('ignores a custom_routing list without has_custom_routing, and says so', () => {
    const layers: PreferenceLayers = { hasTenantContext: false, user: { status: 'OPTED_IN', custom_routing: ['sms'] } };
    expect(resolvePreference(layers).customRouting).toBeUndefined();
    expect(contribution(layers, 'user')).toMatchObject({ applied: true, reason: REASONS.routingWithoutFlag });
  });

  it('shows only preference fields in set, whatever else the stored item carries', () => {
    const stored = { status: 'OPTED_OUT', pk: 'TENANT#acme', updated_at: '2024-01-01' } as PreferenceRule;
    expect(contribution({ hasTenantContext: true, tenant: { tenant_id: 'acme', rule: stored } }, 'tenant')?.set).toEqual({ status: 'OPTED_OUT' });
  });

  it('keeps routing entries as given, deduplicated in order, without changing the input', () => {
    const userTenant: PreferenceRule = { has_custom_routing: true, custom_routing: ['slack', 'email', 'slack', 'msteams'] };
    expect(resolvePreference({ hasTenantContext: true, userTenant }).customRouting).toEqual(['slack', 'email', 'msteams']);
    expect(userTenant.custom_routing).toEqual(['slack', 'email', 'slack', 'msteams']);
  });
});

describe('defaultStatus', () => {
  it('is OPTED_IN when no layer sets a status', () => {
    expect(defaultStatus({ hasTenantContext: false })).toBe('OPTED_IN');
    expect(defaultStatus({ hasTenantContext: true, tenant: { tenant_id: 'acme', rule: { has_custom_routing: true, custom_routing: ['sms'] } } })).toBe(
      'OPTED_IN',
    );
  });

  it('is the workspace status without a tenant context, whatever tenant layers are given', () => {
    expect(defaultStatus({ hasTenantContext: false, workspace: { status: 'OPTED_OUT' }, tenant: { tenant_id: 'acme', rule: { status: 'OPTED_IN' } } })).toBe(
      'OPTED_OUT',
    );
  });

  it('layers ancestors then the tenant over the workspace in a tenant context', () => {
    const base = {
      hasTenantContext: true,
      workspace: { status: 'OPTED_IN' as const },
      ancestors: [{ tenant_id: 'org', rule: { status: 'REQUIRED' as const } }],
    };
    expect(defaultStatus(base)).toBe('REQUIRED');
    expect(defaultStatus({ ...base, tenant: { tenant_id: 'acme', rule: { status: 'OPTED_OUT' } } })).toBe('OPTED_OUT');
  });

  it('ignores user layers even when a caller passes them', () => {
    const withUser = { hasTenantContext: false, workspace: { status: 'OPTED_IN' }, user: { status: 'OPTED_OUT' } } as PreferenceLayers;
    expect(defaultStatus(withUser)).toBe('OPTED_IN');
  });
});
