/**
 * The inbox GraphQL schema (`POST /inbox/graphql`): exactly the operations Courier's browser client
 * `@trycourier/courier-js` 3.x (InboxClient) sends to `apiUrls.inbox.graphql`, checked against 3.4.0.
 *
 * - `read`, `archived`, `opened` are booleans: the inbox store keeps each state, not the time it was
 *   set (the client types them as timestamp strings and only tests them for truth).
 * - `data` and `tags` are null: the inbox store keeps a message's rendered title, body and blocks,
 *   not the send's data or tags. A `tags` or `from` filter is refused with an error.
 * - `pageInfo.startCursor` is the cursor of the NEXT page, as the client passes it back as `after`.
 * - `clickTrackingId` is the message id; `clicked` checks it and moves the message to CLICKED.
 * - Mutations answer `true`, or null with an error naming why (never a silent success).
 */
export const INBOX_SDL = /* GraphQL */ `
  "Any JSON value."
  scalar JSON

  input FilterParamsInput {
    "The tenant (Courier's account id) whose messages to include; a tenant-scoped token may name only its own."
    accountId: String
    "true: archived messages only; false or unset: not archived ones."
    archived: Boolean
    "read or unread; unset: both."
    status: String
    "Not supported (no tags are kept): refused unless empty."
    tags: [String!]
    "Not supported: refused when set."
    from: String
  }

  type PageInfo {
    "The cursor of the next page (pass it as after), null on the last page."
    startCursor: String
    hasNextPage: Boolean!
  }

  type TrackingIds {
    clickTrackingId: String
  }

  type Action {
    content: String
    href: String
    data: JSON
  }

  type Message {
    messageId: String!
    read: Boolean!
    archived: Boolean!
    opened: Boolean!
    "ISO 8601 time the message reached the inbox."
    created: String!
    title: String
    preview: String
    data: JSON
    tags: [String!]
    trackingIds: TrackingIds!
    actions: [Action!]!
  }

  type Messages {
    "Messages passing the filter; null (with an error) when too many to count."
    totalCount: Int
    pageInfo: PageInfo!
    nodes: [Message!]!
  }

  type Query {
    count(params: FilterParamsInput): Int
    messages(params: FilterParamsInput, limit: Int = 24, after: String): Messages
  }

  type Mutation {
    read(messageId: String!): Boolean
    unread(messageId: String!): Boolean
    opened(messageId: String!): Boolean
    archive(messageId: String!): Boolean
    unarchive(messageId: String!): Boolean
    clicked(messageId: String!, trackingId: String!): Boolean
    markAllRead: Boolean
    archiveRead: Boolean
    archiveAll: Boolean
  }
`;
