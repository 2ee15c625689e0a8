/**
 * The client GraphQL endpoint Courier's browser client `@trycourier/courier-js` 3.x posts to
 * (`apiUrls.courier.graphql`, Courier's `/client/q`): its schema, exactly the operations that
 * client sends (client/preference-client.ts, client/brand-client.ts of 3.4.0), who may ask, and
 * the pure mappings from our preferences and brands to its types. services/client-graphql.ts runs it.
 */

import { GraphQLError, type ASTVisitor, type ValidationContext } from 'graphql';
import type { Scopes } from './tokens';
import { defaultStatus, resolvePreference, type PreferenceLayers, type PreferenceStatus } from './preferences';

export const CLIENT_SDL = /* GraphQL */ `
  "Any JSON value."
  scalar JSON

  enum PreferenceStatus {
    OPTED_IN
    OPTED_OUT
    REQUIRED
  }

  "Courier's ChannelClassification, as the client writes routingPreferences."
  enum ChannelClassification {
    direct_message
    email
    push
    sms
    webhook
    inbox
  }

  type Query {
    "The user's preference for every topic, layered as a send to them would resolve it; accountId is the tenant context."
    recipientPreferences(accountId: String): RecipientPreferenceConnection!
    "One topic's preference; null when the workspace has no such topic and the user no preference for it."
    recipientPreference(templateId: String!, accountId: String): RecipientPreference
    "The workspace's topics as a preference page: one section, since topics here have no sections."
    preferencePage(accountId: String): PreferencePage
    "A brand by id; without an id the default brand (DEFAULT_BRAND_ID), null when there is none."
    brand(brandId: String): Brand
    "Refused: this server has no digest schedules."
    digestSchedulesForTopic(templateId: String!): [DigestScheduleOption!]
  }

  type Mutation {
    "Stores the user's preference for a topic (for the tenant accountId when given) and answers the topic's layered preference."
    updatePreferenceV2(templateId: String!, preferences: PreferenceInput!, accountId: String): RecipientPreference
  }

  input PreferenceInput {
    status: PreferenceStatus!
    hasCustomRouting: Boolean
    routingPreferences: [ChannelClassification!]
    "Refused when set: this server has no digest schedules."
    digestSchedule: String
  }

  type RecipientPreferenceConnection {
    nodes: [RecipientPreference!]!
  }

  type RecipientPreference {
    templateId: String!
    templateName: String
    sectionId: String
    sectionName: String
    defaultStatus: PreferenceStatus!
    status: PreferenceStatus!
    hasCustomRouting: Boolean!
    routingPreferences: [String!]!
    digestSchedule: String
  }

  type PreferencePage {
    showCourierFooter: Boolean!
    brand(brandId: String): Brand
    channelConfigs: ChannelConfigs
    sections: PreferenceSectionConnection!
  }

  type ChannelConfigs {
    channelLabels: [ChannelLabel!]!
  }

  type ChannelLabel {
    channel: String!
    name: String!
  }

  type PreferenceSectionConnection {
    nodes: [PreferenceSection!]!
  }

  type PreferenceSection {
    sectionId: String
    name: String
    routingOptions: [String!]
    hasCustomRouting: Boolean
    topics: PreferenceTopicConnection!
  }

  type PreferenceTopicConnection {
    nodes: [PreferenceTopic!]!
  }

  type PreferenceTopic {
    templateId: String!
    templateName: String
    defaultStatus: PreferenceStatus!
    data: JSON
    "The client selects it whole (no subfields): a list of schedule options."
    digestSchedules: JSON
  }

  type DigestScheduleOption {
    scheduleId: String!
    period: String
    recurrence: String
    repeat: JSON
    repetition: String
    start: String
    default: Boolean
  }

  type Brand {
    settings: BrandSettings
    logo: BrandLogo
    links: JSON
  }

  type BrandSettings {
    colors: BrandColors
    inapp: BrandInApp
  }

  type BrandColors {
    primary: String
    secondary: String
    tertiary: String
  }

  type BrandInApp {
    borderRadius: String
    disableCourierFooter: Boolean
    disableMessageIcon: Boolean
    placement: String
  }

  type BrandLogo {
    href: String
    image: String
  }
`;

/** Bounds on one request: the query's length and tokens (aliases cannot multiply work past them) and its nesting. */
export const MAX_QUERY_CHARS = 20_000;
export const MAX_QUERY_TOKENS = 2_000;
export const MAX_QUERY_DEPTH = 8;

/** Who is asking: the token's one user, its tenant if scoped to one, and its scopes. */
export interface ClientCaller {
  userId: string;
  tenantId?: string;
  scopes: Set<string>;
}

export type CallerResult = { ok: true; caller: ClientCaller } | { ok: false; error: string };

/**
 * The caller a token makes, as the REST inbox judges it (domain/tokens.ts inboxAccess): exactly one
 * user, at most one tenant; the client's `x-courier-user-id` header, when sent, must name that user.
 * Each field then checks its own scope.
 */
export function clientCaller(scopes: Scopes, headerUserId?: string): CallerResult {
  if (scopes.userIds.length !== 1) return { ok: false, error: 'the token must be scoped to exactly one user_id' };
  if (scopes.tenantIds.length > 1) return { ok: false, error: 'the token may be scoped to one tenant_id at most' };
  const userId = scopes.userIds[0];
  if (headerUserId !== undefined && headerUserId !== userId) return { ok: false, error: `x-courier-user-id ${headerUserId} is not the token's user` };
  return { ok: true, caller: { userId, ...(scopes.tenantIds[0] ? { tenantId: scopes.tenantIds[0] } : {}), scopes: scopes.all } };
}

/** An error the client may see as a GraphQL error (anything else thrown by a resolver is the server's fault: a 500). */
export class ClientQueryError extends Error {
  constructor(
    message: string,
    readonly code: 'FORBIDDEN' | 'BAD_USER_INPUT' | 'NOT_FOUND' | 'NOT_SUPPORTED',
  ) {
    super(message);
  }
}

export interface RecipientPreferenceNode {
  templateId: string;
  templateName: string | null;
  sectionId: null;
  sectionName: null;
  defaultStatus: PreferenceStatus;
  status: PreferenceStatus;
  hasCustomRouting: boolean;
  routingPreferences: string[];
  digestSchedule: null;
}

/**
 * One topic's preference as a send to this user would resolve it (domain/preferences.ts, the
 * layers of docs/decisions.md D4; with a tenant context the tenant defaults and the user's choice
 * for the tenant too): `status` and the custom routing that apply, `defaultStatus` the status
 * without the user's layers. Topics here have no sections and no digests: those fields are null.
 */
export function preferenceNode(topicId: string, topicName: string | undefined, layers: PreferenceLayers): RecipientPreferenceNode {
  const decision = resolvePreference(layers);
  return {
    templateId: topicId,
    templateName: topicName ?? null,
    sectionId: null,
    sectionName: null,
    defaultStatus: defaultStatus(layers),
    status: decision.status,
    hasCustomRouting: decision.customRouting !== undefined,
    routingPreferences: decision.customRouting ?? [],
    digestSchedule: null,
  };
}

const obj = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const bool = (v: unknown): boolean | null => (typeof v === 'boolean' ? v : null);
const SOCIAL = ['facebook', 'instagram', 'linkedin', 'medium', 'twitter'] as const;

/**
 * A stored brand (Courier's BrandSettings) as the client reads it: `settings.colors`,
 * `settings.inapp`, the logo of the email header (`settings.email.header.logo`, the brand's logo)
 * and the social links of the email footer (`settings.email.footer.social`, `{ <network>: { url } }`).
 * A value the brand does not store is null; a wrong type stored is null too, never coerced.
 */
export function brandNode(settings: Record<string, unknown>) {
  const colors = obj(settings.colors);
  const inapp = obj(settings.inapp);
  const email = obj(settings.email);
  const logo = obj(obj(email?.header)?.logo);
  const social = obj(obj(email?.footer)?.social);
  const links = social && Object.fromEntries(SOCIAL.flatMap((n) => (str(obj(social[n])?.url) ? [[n, { url: str(obj(social[n])?.url) }]] : [])));
  return {
    settings: {
      colors: colors ? { primary: str(colors.primary), secondary: str(colors.secondary), tertiary: str(colors.tertiary) } : null,
      inapp: inapp
        ? {
            borderRadius: str(inapp.borderRadius),
            disableCourierFooter: bool(inapp.disableCourierFooter),
            disableMessageIcon: bool(inapp.disableMessageIcon),
            placement: str(inapp.placement),
          }
        : null,
    },
    logo: logo ? { href: str(logo.href), image: str(logo.image) } : null,
    links: links && Object.keys(links).length ? links : null,
  };
}

/** Refuses a query nesting selections deeper than `limit` (fragments cannot recurse: NoFragmentCyclesRule). */
export const maxDepthRule =
  (limit: number) =>
  (context: ValidationContext): ASTVisitor => {
    let depth = 0;
    return {
      SelectionSet: {
        enter(node) {
          depth += 1;
          if (depth > limit) context.reportError(new GraphQLError(`The query nests selections deeper than ${limit} levels`, { nodes: node }));
        },
        leave() {
          depth -= 1;
        },
      },
    };
  };
