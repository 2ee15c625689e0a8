import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AwsCall } from '../shared/usage';
import { iamRequestsOf, queueName, type IamRequest } from './aws-calls';

/**
 * The AWS endpoint that functions running from their bundles talk to (lambdas/local/bundles.ts):
 * it reads which function signed each request (each runs with its own access key id, its function
 * id, as each Lambda function runs with its own role), records the IAM request of the call, and
 * forwards it unchanged to DynamoDB Local or fauxqs, or answers it as SES or SNS would. Queue URLs given to the functions point here
 * (as a real queue URL points at the SQS endpoint); the gateway swaps in the emulator's URL.
 */
export interface AwsGateway {
  url: string;
  /** The queue URL a function is given for an emulator queue URL. */
  queueUrl(emulatorUrl: string): string;
  /** Each distinct (function, IAM action, resource) seen so far. */
  requests(): IamRequest[];
  /** Calls that could not be attributed to a function or service, or that failed to forward. */
  problems(): string[];
  close(): Promise<void>;
}

/** `Credential=<access key id>/<date>/<region>/<service>/aws4_request` of a SigV4 Authorization header. */
function signer(authorization: string | undefined): { keyId: string; region: string; service: string } | undefined {
  const m = /Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(authorization ?? '');
  return m ? { keyId: m[1], region: m[2], service: m[3] } : undefined;
}

export async function startAwsGateway(o: {
  dynamodbEndpoint: string;
  sqsEndpoint: string;
  account: string;
  queueUrls: string[];
  /** The local socket server (its management API's origin) and the API id and stage its ARNs name. */
  socket: { origin: string; apiId: string; stage: string };
}): Promise<AwsGateway> {
  const seen = new Map<string, IamRequest>();
  const problems: string[] = [];
  const byName = new Map(o.queueUrls.map((u) => [queueName(u), u]));
  let base = '';

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => void handle(req, res, Buffer.concat(chunks)));
  });

  const record = (fn: string, call: AwsCall) => {
    for (const r of iamRequestsOf(call, { account: o.account, socketApi: { apiId: o.socket.apiId, stage: o.socket.stage } })) {
      const key = `${fn}|${r.action}|${r.resource}`;
      if (!seen.has(key)) seen.set(key, { fn, ...r });
    }
  };

  /**
   * SES (v2 SendEmail) and SNS (Publish) stand-ins: the provider adapters' calls are recorded and
   * answered as AWS answers them, without sending anything. True when the request was one of them.
   */
  function provider(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, who: { keyId: string; region: string; service: string }): boolean {
    if (who.service === 'ses' && req.method === 'POST' && req.url === '/v2/email/outbound-emails') {
      record(who.keyId, { service: 'sesv2', command: 'SendEmail', input: JSON.parse(body.toString('utf8')) as Record<string, unknown>, region: who.region });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ MessageId: `local-ses-${seen.size}` }));
      return true;
    }
    const form = new URLSearchParams(body.toString('utf8'));
    if (who.service === 'sns' && form.get('Action') === 'Publish') {
      const input = {
        TopicArn: form.get('TopicArn') ?? undefined,
        TargetArn: form.get('TargetArn') ?? undefined,
        PhoneNumber: form.get('PhoneNumber') ?? undefined,
      };
      record(who.keyId, { service: 'sns', command: 'Publish', input, region: who.region });
      const xml = `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>local-sns-${seen.size}</MessageId></PublishResult><ResponseMetadata><RequestId>local</RequestId></ResponseMetadata></PublishResponse>`;
      res.writeHead(200, { 'content-type': 'text/xml' }).end(xml);
      return true;
    }
    return false;
  }

  /** The management API of the WebSocket API (`/<stage>/@connections/<id>`): recorded, then forwarded to the local socket server. */
  function management(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, who: { keyId: string; region: string; service: string }): boolean {
    const m = /^\/[^/]+\/@connections\/([^/?]+)$/.exec(req.url ?? '');
    if (who.service !== 'execute-api' || !m) return false;
    const command = { POST: 'PostToConnection', DELETE: 'DeleteConnection', GET: 'GetConnection' }[req.method ?? ''] ?? String(req.method);
    record(who.keyId, { service: 'apigatewaymanagementapi', command, input: { ConnectionId: decodeURIComponent(m[1]) }, region: who.region });
    const upstream = new URL(o.socket.origin);
    const forward = http.request(
      { hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: { 'content-length': String(body.length) } },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    forward.on('error', (e) => {
      problems.push(`forwarding execute-api ${command} failed: ${e.message}`);
      if (!res.headersSent) res.writeHead(502).end();
    });
    forward.end(body);
    return true;
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<void> {
    const who = signer(req.headers.authorization);
    if (who && (provider(req, res, body, who) || management(req, res, body, who))) return;
    const target = String(req.headers['x-amz-target'] ?? '');
    const [prefix, command] = target.split('.');
    const service = prefix === 'DynamoDB_20120810' ? 'dynamodb' : prefix === 'AmazonSQS' ? 'sqs' : undefined;
    if (!who || !service || !command) {
      problems.push(`unattributed ${req.method} ${req.url} target=${target || '-'} signer=${who?.keyId ?? '-'}`);
      res
        .writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ __type: 'UnrecognizedClientException', message: 'not a DynamoDB or SQS JSON request' }));
      return;
    }
    let payload = body;
    const input = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
    if (service === 'sqs' && typeof input.QueueUrl === 'string') {
      const real = byName.get(queueName(input.QueueUrl));
      if (real) payload = Buffer.from(JSON.stringify({ ...input, QueueUrl: real }));
    }
    record(who.keyId, { service, command, input, region: who.region });
    const upstream = new URL(service === 'dynamodb' ? o.dynamodbEndpoint : o.sqsEndpoint);
    // DynamoDB Local accepts only letters and digits as an access key id; signatures are not checked.
    const authorization = String(req.headers.authorization).replace(/Credential=[^/]+\//, 'Credential=local/');
    const headers = { ...req.headers, authorization, host: upstream.host, 'content-length': String(payload.length) };
    const forward = http.request({ hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    forward.on('error', (e) => {
      problems.push(`forwarding ${service}.${command} failed: ${e.message}`);
      if (!res.headersSent) res.writeHead(502).end();
    });
    forward.end(payload);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    queueUrl: (emulatorUrl) => `${base}/${o.account}/${queueName(emulatorUrl)}`,
    requests: () => [...seen.values()],
    problems: () => [...problems],
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
