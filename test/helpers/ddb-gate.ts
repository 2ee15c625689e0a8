/**
 * Deterministic interleavings for race tests: `pauseAfter` holds the first DynamoDB call of the
 * in-process functions that matches, after DynamoDB answered it, until the test releases it. A
 * test can so let one worker read, run a whole competing change, then let the first one write
 * from what it read, without sleeping and hoping for an order.
 *
 * Load it only after startTestStack (the client module reads the stack's configuration).
 */

interface Gate {
  match: (command: string, input: string) => boolean;
  reached: () => void;
  released: Promise<void>;
}

const gates: Gate[] = [];
let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  const { ddb } = require('../../lambdas/shared/aws') as typeof import('../../lambdas/shared/aws');
  ddb.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const command = (context.commandName ?? '').replace(/Command$/, '');
      const input = JSON.stringify(args.input);
      const i = gates.findIndex((g) => g.match(command, input));
      if (i >= 0) {
        const [gate] = gates.splice(i, 1);
        gate.reached();
        await gate.released;
      }
      return result;
    },
    { step: 'initialize', name: 'testGate' },
  );
}

export interface Paused {
  /** Resolves when a matching call has been answered and is being held. */
  reached: Promise<void>;
  release(): void;
}

/** Holds the next call whose command (`GetItem`, `Query`, ...) and JSON input match, once. */
export function pauseAfter(match: (command: string, input: string) => boolean): Paused {
  install();
  let reached!: () => void;
  let release!: () => void;
  const p: Paused = { reached: new Promise<void>((r) => (reached = r)), release: () => release() };
  gates.push({ match, reached, released: new Promise<void>((r) => (release = r)) });
  return p;
}
