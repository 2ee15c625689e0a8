// A customer's webhook endpoint in its own process (a provider is another machine: it must not
// share the test's event loop). Answers FAIL_STATUS to the first FAIL_FIRST calls of each message,
// then 200; GET /calls lists every call received.
import http from 'node:http';

const failFirst = Number(process.env.FAIL_FIRST ?? 0);
const failStatus = Number(process.env.FAIL_STATUS ?? 503);
const calls = [];

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/calls') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(calls));
    return;
  }
  let raw = '';
  req.on('data', (c) => (raw += c));
  req.on('end', () => {
    const body = JSON.parse(raw || '{}');
    const messageId = String(body.messageId);
    // An outbound webhook event (`{ type, data }`) is recorded with its message's id and status.
    const event = typeof body.type === 'string' && body.data ? { type: body.type, id: body.data.id, status: body.data.status } : undefined;
    calls.push({
      at: Date.now(),
      messageId,
      event,
      idempotencyKey: req.headers['idempotency-key'] ?? null,
      signature: req.headers['x-courier-signature'] ?? null,
    });
    const nth = calls.filter((c) => c.messageId === messageId).length;
    res.writeHead(nth <= failFirst ? failStatus : 200, { 'content-type': 'application/json' });
    res.end('{}');
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n'));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
