import jsep from 'jsep';
import { z } from 'zod';

/**
 * Conditions: Courier's `if` (and Elemental's `loop`), "a JS conditional with access to
 * data/profile". Parsed by jsep (a small JavaScript expression parser, which builds an AST and runs
 * nothing) and evaluated here by walking that AST: no `eval`, no `vm`, no `Function`.
 *
 * The language is this subset of JavaScript expressions:
 * - the names in scope (`data`, `profile`, `tenant`; in Elemental also `refs` and, inside a loop,
 *   `$` with `$.item` and `$.index`) and `undefined`; any other name is refused when parsed;
 * - literals (strings, numbers, `true`, `false`, `null`) and array literals `[a, b]`;
 * - member access, dotted and computed (`data.plan`, `data["plan"]`, `data.items[0]`, `?.`), which
 *   reads own properties only: `constructor`, `__proto__`, `prototype` and anything inherited read
 *   as undefined, and a getter is never called;
 * - one method, `.includes(x)` on arrays and strings, and `.length` (an own property);
 * - unary `! - + typeof`; binary `=== !== == != < <= > >=`, `+ - * / % **`, `&& || ??`;
 *   conditional `a ? b : c`.
 * Anything else (assignment, other calls, `this`, `new`, bitwise operators, several expressions)
 * does not parse. A source is at most MAX_CONDITION_LENGTH characters and MAX_CONDITION_NODES AST
 * nodes, nested at most MAX_CONDITION_DEPTH deep.
 *
 * Evaluation never throws into delivery: where JavaScript would throw (reading a property of
 * undefined or null, a name not in scope), or a string grows past MAX_STRING_LENGTH, the
 * condition is false (`if`) and a loop repeats nothing. The result's truthiness is JavaScript's.
 */

export const MAX_CONDITION_LENGTH = 1000;
export const MAX_CONDITION_NODES = 200;
export const MAX_CONDITION_DEPTH = 64;
/** The longest string `+` may build while evaluating; past it the evaluation fails (false). */
export const MAX_STRING_LENGTH = 100_000;

/** Names a channel or provider `if` can read. */
export const MESSAGE_SCOPE = ['data', 'profile', 'tenant'] as const;
/** Names an Elemental element's `if` and `loop` can read: the message's, the elements named by `ref`, and the loop's `$`. */
export const ELEMENT_SCOPE = ['data', 'profile', 'tenant', 'refs', '$'] as const;

/** A condition that does not parse, or uses what the language does not have; the message says what. */
export class ConditionError extends Error {
  override name = 'ConditionError';
}

type Node = jsep.Expression;

export interface Condition {
  source: string;
  ast: Node;
  /** AST nodes: what one evaluation costs, at least. */
  size: number;
}

jsep.addUnaryOp('typeof');
for (const op of ['|', '^', '&', '<<', '>>', '>>>']) jsep.removeBinaryOp(op);
jsep.removeUnaryOp('~');

const TOO_DEEP = `nests more than ${MAX_CONDITION_DEPTH} operators or brackets deep`;
const BINARY = new Set(['||', '??', '&&', '==', '!=', '===', '!==', '<', '>', '<=', '>=', '+', '-', '*', '/', '%', '**']);
const UNARY = new Set(['!', '-', '+', 'typeof']);
const FORBIDDEN_KEYS = new Set(['constructor', '__proto__', 'prototype']);
const METHODS = new Set(['includes']);

/** Deepest bracket nesting in the source (quotes aside), checked before jsep recurses into it. */
function bracketDepth(source: string): number {
  let depth = 0;
  let max = 0;
  let quote: string | undefined;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '(' || c === '[') max = Math.max(max, ++depth);
    else if (c === ')' || c === ']') depth--;
  }
  return max;
}

/** Checks the AST against the language; returns its size. */
function check(node: Node, names: ReadonlySet<string>, depth: number): number {
  if (depth > MAX_CONDITION_DEPTH) throw new ConditionError(TOO_DEEP);
  const sub = (n: Node) => check(n, names, depth + 1);
  switch (node.type) {
    case 'Literal':
      if (node.value instanceof RegExp) throw new ConditionError('regular expressions are not supported');
      return 1;
    case 'Identifier': {
      const name = (node as jsep.Identifier).name;
      if (name !== 'undefined' && !names.has(name)) throw new ConditionError(`unknown name "${name}": a condition can read ${[...names].join(', ')}`);
      return 1;
    }
    case 'MemberExpression': {
      const m = node as jsep.MemberExpression;
      return 1 + sub(m.object) + (m.computed ? sub(m.property) : 1);
    }
    case 'CallExpression': {
      const c = node as jsep.CallExpression;
      const callee = c.callee as jsep.MemberExpression;
      const method = callee.type === 'MemberExpression' && !callee.computed ? (callee.property as jsep.Identifier).name : undefined;
      if (!method || !METHODS.has(method)) throw new ConditionError('calls are not supported, except .includes()');
      if (c.arguments.length !== 1) throw new ConditionError('.includes() takes one argument');
      return 1 + sub(callee.object) + sub(c.arguments[0]);
    }
    case 'UnaryExpression': {
      const u = node as jsep.UnaryExpression;
      if (!UNARY.has(u.operator)) throw new ConditionError(`the operator ${u.operator} is not supported`);
      return 1 + sub(u.argument);
    }
    case 'BinaryExpression': {
      const b = node as jsep.BinaryExpression;
      if (!BINARY.has(b.operator)) throw new ConditionError(`the operator ${b.operator} is not supported`);
      return 1 + sub(b.left) + sub(b.right);
    }
    case 'ConditionalExpression': {
      const c = node as jsep.ConditionalExpression;
      return 1 + sub(c.test) + sub(c.consequent) + sub(c.alternate);
    }
    case 'ArrayExpression':
      return 1 + (node as jsep.ArrayExpression).elements.reduce((n, e) => n + (e ? sub(e) : 1), 0);
    case 'Compound':
      throw new ConditionError('must be one expression');
    case 'ThisExpression':
      throw new ConditionError('"this" is not supported');
    default:
      throw new ConditionError(`${node.type} is not supported`);
  }
}

/** Parsed conditions by scope and source; conditions repeat across recipients and channels. Bounded: cleared when full. */
const cache = new Map<string, Condition | ConditionError>();
const CACHE_SIZE = 1000;

/** Parses and checks a condition; throws ConditionError saying what is wrong. */
export function parseCondition(source: string, scope: readonly string[] = MESSAGE_SCOPE): Condition {
  const key = `${scope.join(',')}\u0000${source}`;
  let hit = cache.get(key);
  if (!hit) {
    hit = parse(source, new Set(scope));
    if (cache.size >= CACHE_SIZE) cache.clear();
    cache.set(key, hit);
  }
  if (hit instanceof ConditionError) throw hit;
  return hit;
}

function parse(source: string, names: ReadonlySet<string>): Condition | ConditionError {
  if (source.trim() === '') return new ConditionError('must not be empty');
  if (source.length > MAX_CONDITION_LENGTH) return new ConditionError(`must be at most ${MAX_CONDITION_LENGTH} characters`);
  if (bracketDepth(source) > MAX_CONDITION_DEPTH) return new ConditionError(TOO_DEEP);
  let ast: Node;
  try {
    ast = jsep(source);
  } catch (e) {
    return new ConditionError(`does not parse: ${(e as Error).message}`);
  }
  try {
    const size = check(ast, names, 0);
    if (size > MAX_CONDITION_NODES) return new ConditionError(`has more than ${MAX_CONDITION_NODES} terms`);
    return { source, ast, size };
  } catch (e) {
    if (e instanceof ConditionError) return e;
    return new ConditionError(`does not parse: ${(e as Error).message}`);
  }
}

/** Is there a condition? A missing, null or blank `if` / `loop` is none (an `if` that always holds, a loop that is not one). */
export const isCondition = (source: unknown): source is string => typeof source === 'string' && source.trim() !== '';

/** Why a condition is refused (undefined when it parses, or is blank: no condition): for schemas, which name the field. */
export function conditionIssue(source: string, scope: readonly string[] = MESSAGE_SCOPE): string | undefined {
  if (!isCondition(source)) return undefined;
  try {
    parseCondition(source, scope);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** A failure inside an evaluation: the condition is false. */
class Failure extends Error {}

/** An own data property of a value (strings included: their `length` and indexes), else undefined. Never a getter, never inherited. */
function own(value: unknown, key: unknown): unknown {
  if (typeof key !== 'string' && typeof key !== 'number') return undefined;
  const name = String(key);
  if (FORBIDDEN_KEYS.has(name)) return undefined;
  if (typeof value === 'string') return name === 'length' ? value.length : /^\d+$/.test(name) ? value[Number(name)] : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  const d = Object.getOwnPropertyDescriptor(value, name);
  return d && 'value' in d ? d.value : undefined;
}

interface Run {
  scope: Record<string, unknown>;
  step: (n: number) => void;
}

function evaluateNode(node: Node, run: Run): unknown {
  switch (node.type) {
    case 'Literal':
      return (node as jsep.Literal).value;
    case 'Identifier': {
      const name = (node as jsep.Identifier).name;
      if (name === 'undefined') return undefined;
      if (!Object.hasOwn(run.scope, name)) throw new Failure(`${name} is not defined`);
      return run.scope[name];
    }
    case 'MemberExpression': {
      const m = node as jsep.MemberExpression;
      const object = evaluateNode(m.object, run);
      if (object === undefined || object === null) {
        if (m.optional) return undefined;
        throw new Failure(`cannot read a property of ${String(object)}`);
      }
      return own(object, m.computed ? evaluateNode(m.property, run) : (m.property as jsep.Identifier).name);
    }
    case 'CallExpression': {
      const c = node as jsep.CallExpression;
      const target = evaluateNode((c.callee as jsep.MemberExpression).object, run);
      const arg = evaluateNode(c.arguments[0], run);
      if (Array.isArray(target)) {
        run.step(target.length);
        return target.includes(arg);
      }
      if (typeof target === 'string') return target.includes(String(arg));
      throw new Failure('.includes() of something that is not an array or a string');
    }
    case 'UnaryExpression': {
      const u = node as jsep.UnaryExpression;
      const v = evaluateNode(u.argument, run);
      switch (u.operator) {
        case '!':
          return !v;
        case '-':
          return -(v as number);
        case '+':
          return +(v as number);
        default:
          return typeof v;
      }
    }
    case 'BinaryExpression':
      return binary(node as jsep.BinaryExpression, run);
    case 'ConditionalExpression': {
      const c = node as jsep.ConditionalExpression;
      return evaluateNode(c.test, run) ? evaluateNode(c.consequent, run) : evaluateNode(c.alternate, run);
    }
    case 'ArrayExpression':
      return (node as jsep.ArrayExpression).elements.map((e) => (e ? evaluateNode(e, run) : undefined));
    default:
      throw new Failure(`${node.type} is not supported`);
  }
}

function binary(b: jsep.BinaryExpression, run: Run): unknown {
  const left = evaluateNode(b.left, run);
  switch (b.operator) {
    case '&&':
      return left ? evaluateNode(b.right, run) : left;
    case '||':
      return left ? left : evaluateNode(b.right, run);
    case '??':
      return left ?? evaluateNode(b.right, run);
  }
  // Operands are JSON values: comparing or adding them runs no code of anyone's.
  const l = left as number;
  const r = evaluateNode(b.right, run) as number;
  switch (b.operator) {
    case '===':
      return l === r;
    case '!==':
      return l !== r;
    case '==':
      return l == r;
    case '!=':
      return l != r;
    case '<':
      return l < r;
    case '>':
      return l > r;
    case '<=':
      return l <= r;
    case '>=':
      return l >= r;
    case '+': {
      const sum: unknown = (l as unknown as string) + r;
      if (typeof sum === 'string') {
        run.step(Math.ceil(sum.length / 1000));
        if (sum.length > MAX_STRING_LENGTH) throw new Failure(`a string longer than ${MAX_STRING_LENGTH} characters`);
      }
      return sum;
    }
    case '-':
      return l - r;
    case '*':
      return l * r;
    case '/':
      return l / r;
    case '%':
      return l % r;
    default:
      return l ** r;
  }
}

/** The outcome of an evaluation: its value, or why it failed (then an `if` is false). */
export type Evaluation = { ok: true; value: unknown } | { ok: false; error: string };

/**
 * Evaluates a parsed condition in `scope`. `step` is charged the work done (the AST's size, plus
 * the length of arrays `.includes()` searches); an error it throws (a rendering budget) is thrown
 * on, everything else is an unsuccessful Evaluation.
 */
export function evaluate(condition: Condition, scope: Record<string, unknown>, step: (n: number) => void = () => {}): Evaluation {
  let stopped: { error: unknown } | undefined;
  const charge = (n: number) => {
    try {
      step(n);
    } catch (e) {
      stopped = { error: e };
      throw e;
    }
  };
  try {
    charge(condition.size);
    return { ok: true, value: evaluateNode(condition.ast, { scope, step: charge }) };
  } catch (e) {
    if (stopped) throw stopped.error;
    return { ok: false, error: (e as Error).message };
  }
}

/** Whether a condition holds: its value's JavaScript truthiness; false when it fails to evaluate. */
export function holds(condition: Condition, scope: Record<string, unknown>, step?: (n: number) => void): boolean {
  const result = evaluate(condition, scope, step);
  return result.ok && Boolean(result.value);
}

/** What a `loop` repeats over: the array its expression gives; nothing when it gives anything else or fails. */
export function loopItems(condition: Condition, scope: Record<string, unknown>, step?: (n: number) => void): unknown[] {
  const result = evaluate(condition, scope, step);
  return result.ok && Array.isArray(result.value) ? result.value : [];
}

/** A condition field (`if`, `loop`) of a schema: a string that parses in `scope`, or null / absent (no condition). */
export const conditionSchema = (scope: readonly string[]) =>
  z
    .string()
    .superRefine((source, ctx) => {
      const issue = conditionIssue(source, scope);
      if (issue) ctx.addIssue({ code: 'custom', message: issue });
    })
    .nullish();

/** Channel or provider settings by key (`message.channels`, `message.providers`, a routing strategy's), as far as `if` goes. */
export type ConditionalSettings = Partial<Record<string, { if?: string | null } | undefined>> | null | undefined;

/**
 * Does the `if` of `key`'s settings hold for a recipient? The message's own settings are used when
 * they name the key, else the fallback's (a template's routing strategy). No `if`: it holds. An
 * `if` that does not parse (checked when it was accepted, so only stored data that escaped the
 * checks) or fails to evaluate does not.
 */
export function settingHolds(own: ConditionalSettings, fallback: ConditionalSettings, key: string, scope: Record<string, unknown>): boolean {
  const entry = own && Object.hasOwn(own, key) ? own[key] : fallback && Object.hasOwn(fallback, key) ? fallback[key] : undefined;
  const source = entry?.if;
  if (!isCondition(source)) return true;
  try {
    return holds(parseCondition(source, MESSAGE_SCOPE), scope);
  } catch {
    return false;
  }
}
