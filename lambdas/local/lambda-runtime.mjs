// A Lambda function instance for the local runner (lambdas/local/bundles.ts): loads one shipped
// bundle as Lambda's Node.js runtime does (`<file>.<export>` of the template's Handler, from the
// function's code folder, as native ESM), then runs the invocations the parent sends over IPC,
// concurrently, each with a Lambda context. The environment is the function's own, set by the parent.
// Exits when the parent goes away.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [codeDir, handlerName] = process.argv.slice(2);
const dot = handlerName.lastIndexOf('.');
const base = path.join(codeDir, handlerName.slice(0, dot));
const exportName = handlerName.slice(dot + 1);
const file = ['.js', '.mjs', '.cjs'].map((ext) => base + ext).find((f) => existsSync(f));

let handler;
try {
  if (!file) throw new Error(`Runtime.ImportModuleError: no ${base}.js, .mjs or .cjs`);
  const mod = await import(pathToFileURL(file).href);
  handler = mod[exportName];
  if (typeof handler !== 'function') throw new Error(`Runtime.HandlerNotFound: ${path.basename(file)}.${exportName} is not a function`);
  process.send({ type: 'ready' });
} catch (e) {
  process.send({ type: 'init-error', error: String(e?.stack ?? e) });
  process.exit(1);
}

process.on('message', async (m) => {
  if (m.type !== 'invoke') return;
  // A monotonic clock for the deadline, as the Lambda runtime counts it.
  const deadline = performance.now() + m.timeoutMs;
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: '$LATEST',
    invokedFunctionArn: m.functionArn,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: m.requestId,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - performance.now()),
    done() {},
    fail() {},
    succeed() {},
  };
  try {
    const result = await handler(m.event, context);
    process.send({ type: 'result', id: m.id, result: result ?? null });
  } catch (e) {
    process.send({ type: 'result', id: m.id, error: { name: e?.name ?? 'Error', message: String(e?.message ?? e), stack: String(e?.stack ?? '') } });
  }
});
process.on('disconnect', () => process.exit(0));
