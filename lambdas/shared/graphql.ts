import { execute, GraphQLError, parse, validate, type ExecutionResult, type GraphQLSchema, type ValidationRule } from 'graphql';

/** One GraphQL request as clients post it. */
export interface GraphqlRequest {
  query: string;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
}

/**
 * Parses (at most `maxTokens`), validates (with `rules`) and runs one request, for both GraphQL
 * endpoints (the inbox's and the client's). Parse and validation errors come back as `errors`
 * (HTTP 200, as GraphQL servers answer), and so does a resolver's error that `codeOf` gives a code
 * (its `extensions.code`) or that is a GraphQLError already; any other error a resolver threw is
 * rethrown: the server's fault, a 500.
 */
export async function runGraphql(o: {
  schema: GraphQLSchema;
  rules: readonly ValidationRule[];
  maxTokens: number;
  maxValidationErrors?: number;
  request: GraphqlRequest;
  rootValue: unknown;
  contextValue: unknown;
  codeOf: (error: Error) => string | undefined;
}): Promise<ExecutionResult> {
  let document;
  try {
    document = parse(o.request.query, { maxTokens: o.maxTokens, noLocation: false });
  } catch (e) {
    if (e instanceof GraphQLError) return { errors: [e] };
    throw e;
  }
  const invalid = validate(o.schema, document, o.rules, { maxErrors: o.maxValidationErrors });
  if (invalid.length) return { errors: invalid };
  const result = await execute({
    schema: o.schema,
    document,
    rootValue: o.rootValue,
    contextValue: o.contextValue,
    variableValues: o.request.variables ?? undefined,
    operationName: o.request.operationName ?? undefined,
  });
  if (!result.errors) return result;
  const errors = result.errors.map((e) => {
    const cause = e.originalError;
    if (!cause || cause instanceof GraphQLError) return e;
    const code = o.codeOf(cause);
    if (code === undefined) throw cause;
    return new GraphQLError(cause.message, { nodes: e.nodes, path: e.path, extensions: { code } });
  });
  return { ...result, errors };
}
