/*
 * Where the workers may connect. API callers choose webhook URLs, Teams URLs, FCM endpoints, the
 * Slack API URL and the SMTP host, so without a check they could aim the workers at the cloud
 * metadata service or anything else on the workers' network and read status and timing back from
 * the message history. Every provider connection is checked here on the address it will actually
 * connect to (after DNS), and pinned to it: the check runs inside the connection's own lookup (HTTP)
 * or hands the connection the checked address (SMTP), so a name cannot resolve to a public address
 * for the check and a private one for the connect.
 *
 * Refused: loopback, "this network", private (RFC 1918, IPv6 unique local), link-local (with the
 * metadata address 169.254.169.254), carrier-grade NAT, multicast, reserved and documentation
 * ranges, and IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4) whose IPv4
 * address is refused. `ALLOW_PRIVATE_EGRESS=true` (the local stack) allows everything;
 * `EGRESS_ALLOW_HOSTS` names hosts (or addresses) allowed to be private.
 */

import dns from 'node:dns';
import net from 'node:net';
import { egressAllowed, literalHost, normalizeHost, type EgressPolicy } from './addresses';
import { config } from './config';

export { addressIsPrivate, egressAllowed, isLoopback, literalHost, normalizeHost, type EgressPolicy } from './addresses';

/** A refused connection. Its message says nothing about the address: it reaches the message history. */
export class EgressRefused extends Error {
  readonly code = 'EGRESS_REFUSED';
  constructor() {
    super('private address refused');
    this.name = 'EgressRefused';
  }
}

export const configuredPolicy = (): EgressPolicy => ({ allowPrivate: config.ALLOW_PRIVATE_EGRESS, allowHosts: config.EGRESS_ALLOW_HOSTS });

/**
 * A `lookup` for net/tls/http connections: resolves as `dns.lookup` does, and fails with
 * EgressRefused when any address the name resolves to is refused, so the socket only ever connects
 * to an address that passed. (A host that is an IP address never reaches a lookup: check those
 * with `checkLiteral` first.)
 */
export function guardedLookup(policy: EgressPolicy = configuredPolicy()): net.LookupFunction {
  return (hostname, options, callback) => {
    const opts: dns.LookupOptions = typeof options === 'object' && options !== null ? options : {};
    dns.lookup(hostname, { family: opts.family, hints: opts.hints, all: true }, (err, addresses) => {
      if (err) return callback(err, '', undefined);
      if (addresses.length === 0) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '', undefined);
      if (!addresses.every((a) => egressAllowed(hostname, a.address, policy))) return callback(new EgressRefused(), '', undefined);
      if (opts.all) return callback(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

/** Throws EgressRefused when `hostname` (a URL's) is an address that is refused; names pass (the lookup checks them). */
export function checkLiteral(hostname: string, policy: EgressPolicy = configuredPolicy()): void {
  const literal = literalHost(hostname);
  if (literal !== undefined && !egressAllowed(literal, literal, policy)) throw new EgressRefused();
}

/**
 * Resolves `host` (an address in any spelling, or a name) to the one address to connect to, checked:
 * for clients that take an address (SMTP), so the connection goes exactly where the check looked.
 */
export async function resolveEgress(host: string, policy: EgressPolicy = configuredPolicy()): Promise<{ address: string; family: number }> {
  const normalized = normalizeHost(host) ?? host;
  if (net.isIP(normalized)) {
    if (!egressAllowed(normalized, normalized, policy)) throw new EgressRefused();
    return { address: normalized, family: net.isIP(normalized) };
  }
  const addresses = await dns.promises.lookup(normalized, { all: true });
  if (addresses.length === 0) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${normalized}`), { code: 'ENOTFOUND' });
  if (!addresses.every((a) => egressAllowed(normalized, a.address, policy))) throw new EgressRefused();
  return addresses[0];
}
