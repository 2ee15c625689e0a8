import { z } from 'zod';
import { ValidationError } from '../shared/errors';

/**
 * List ids and list patterns, as Courier defines them. An id is up to four non-empty dot-separated parts;
 * in a pattern a part may be `*` (exactly one part) or, as the last part only, `**` (one or more
 * remaining parts).
 */

export const MAX_LIST_ID_PARTS = 4;
const MAX_LIST_ID_LENGTH = 256;

/** Why `text` is not a valid dot-separated id shape, or undefined when it is. */
function shapeProblem(text: string, parts: readonly string[]): string | undefined {
  if (text.length === 0 || text.length > MAX_LIST_ID_LENGTH) return `must be 1-${MAX_LIST_ID_LENGTH} characters`;
  if (parts.length > MAX_LIST_ID_PARTS) return `must have at most ${MAX_LIST_ID_PARTS} dot-separated parts (has ${parts.length})`;
  if (parts.includes('')) return 'must not have an empty part (leading, trailing or doubled dot)';
  return undefined;
}

function listIdProblem(id: string): string | undefined {
  // '*' is refused in ids so that an exact-id pattern can never be read as a wildcard pattern.
  return shapeProblem(id, id.split('.')) ?? (id.includes('*') ? "must not contain '*'" : undefined);
}

function listPatternProblem(pattern: string): string | undefined {
  const parts = pattern.split('.');
  const shape = shapeProblem(pattern, parts);
  if (shape) return shape;
  for (const [i, part] of parts.entries()) {
    if (part.includes('*') && part !== '*' && part !== '**') return `part "${part}" must be '*', '**' or free of '*'`;
    if (part === '**' && i !== parts.length - 1) return "'**' must be the last part";
  }
  return undefined;
}

/** A list id: 1-256 characters, at most four non-empty dot-separated parts, no `*`. */
export const listIdSchema = z.string().superRefine((id, ctx) => {
  const message = listIdProblem(id);
  if (message) ctx.addIssue({ code: 'custom', message });
});

export interface ListPattern {
  raw: string;
  /**
   * The literal parts before the first wildcard, for a DynamoDB `begins_with` over list ids; ends
   * with '.' when a wildcard follows, so `eng.*` never reads `engineering.x`. An exact id is its
   * own prefix, and `matches` still filters what the prefix over-selects (`a.b` also begins `a.bc`).
   */
  prefix: string;
  matches(listId: string): boolean;
}

/**
 * Validates and compiles a `list_pattern` (or `GET /lists?pattern=`); an exact id (no wildcard) is a
 * pattern matching only itself. Throws a ValidationError naming the problem.
 *
 * @example compileListPattern('eng.*.alerts').matches('eng.web.alerts') // true, prefix 'eng.'
 */
export function compileListPattern(pattern: string): ListPattern {
  const problem = listPatternProblem(pattern);
  if (problem) throw new ValidationError(`Invalid list pattern "${pattern}": ${problem}`);

  const parts = pattern.split('.');
  const firstWildcard = parts.findIndex((p) => p === '*' || p === '**');
  const literal = firstWildcard === -1 ? parts : parts.slice(0, firstWildcard);
  const prefix = literal.join('.') + (firstWildcard > 0 ? '.' : '');
  const rest = parts.at(-1) === '**';
  const fixed = rest ? parts.slice(0, -1) : parts;

  return {
    raw: pattern,
    prefix,
    matches(listId: string): boolean {
      const idParts = listId.split('.');
      const lengthOk = rest ? idParts.length > fixed.length : idParts.length === fixed.length;
      return lengthOk && fixed.every((p, i) => p === '*' || p === idParts[i]);
    },
  };
}
