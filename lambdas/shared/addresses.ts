/*
 * Addresses the workers must not reach, and the allowance for them: pure functions, used by
 * egress.ts (the connections) and settings.ts (EGRESS_ALLOW_HOSTS).
 */

import net from 'node:net';

/** What may be reached beyond public addresses: ALLOW_PRIVATE_EGRESS and EGRESS_ALLOW_HOSTS. */
export interface EgressPolicy {
  allowPrivate: boolean;
  /** Lower-case host names and canonical addresses (see `normalizeHost`). */
  allowHosts: readonly string[];
}

const stripBrackets = (host: string): string => (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host);

/**
 * The address a URL host (`new URL(u).hostname`) names, canonical, or undefined for a name. WHATWG
 * URL parsing has already turned every IPv4 spelling (`0x7f.1`, `2130706433`, `0177.0.0.1`) into
 * dotted decimal, and IPv6 into its compressed lower-case form.
 */
export function literalHost(hostname: string): string | undefined {
  const host = stripBrackets(hostname);
  return net.isIP(host) ? host.toLowerCase() : undefined;
}

/**
 * A host as the URL parser reads it: lower case, IPv4 in dotted decimal whatever its spelling,
 * IPv6 without brackets. Undefined when it is not a bare host (a scheme, port, path or anything
 * else a URL host cannot hold).
 */
export function normalizeHost(host: string): string | undefined {
  const trimmed = host.trim();
  if (trimmed === '') return undefined;
  const bare = stripBrackets(trimmed);
  if (net.isIPv6(bare)) return new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  if (/[/:@?#\s\\[\]%]/.test(trimmed)) return undefined;
  try {
    return new URL(`http://${trimmed}/`).hostname;
  } catch {
    return undefined;
  }
}

function ipv4Number(address: string): number | undefined {
  const parts = address.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

/** The eight 16-bit groups of an IPv6 address (zone removed), or undefined when it is not one. */
function ipv6Groups(address: string): number[] | undefined {
  const bare = address.replace(/%.*$/, '');
  if (!net.isIPv6(bare)) return undefined;
  let text = bare.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const n = ipv4Number(dotted[1]);
    if (n === undefined) return undefined;
    text = `${text.slice(0, -dotted[1].length)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const front = parse(head);
  const back = tail === undefined ? [] : parse(tail);
  const groups = tail === undefined ? front : [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
  return groups.length === 8 ? groups : undefined;
}

const v4 = (cidr: string): [number, number] => {
  const [address, bits] = cidr.split('/');
  return [ipv4Number(address)!, Number(bits)];
};

/** IANA's special-purpose IPv4 blocks that are not globally reachable, plus multicast and class E. */
const REFUSED_V4 = [
  '0.0.0.0/8', // "this network"
  '10.0.0.0/8', // private
  '100.64.0.0/10', // carrier-grade NAT (Alibaba's metadata service is 100.100.100.200)
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local, with the metadata service at 169.254.169.254
  '172.16.0.0/12', // private
  '192.0.0.0/24', // IETF protocol assignments
  '192.0.2.0/24', // documentation
  '192.88.99.0/24', // 6to4 relay anycast
  '192.168.0.0/16', // private
  '198.18.0.0/15', // benchmarking
  '198.51.100.0/24', // documentation
  '203.0.113.0/24', // documentation
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, and the broadcast address
].map(v4);

function ipv4Refused(n: number): boolean {
  return REFUSED_V4.some(([base, bits]) => Math.floor(n / 2 ** (32 - bits)) === Math.floor(base / 2 ** (32 - bits)));
}

/** Whether the first `bits` bits of `groups` equal those of `prefix` (a list of groups). */
function inV6(groups: number[], prefix: number[], bits: number): boolean {
  for (let i = 0; bits > 0; i++, bits -= 16) {
    const take = Math.min(16, bits);
    const mask = (0xffff << (16 - take)) & 0xffff;
    if ((groups[i] & mask) !== ((prefix[i] ?? 0) & mask)) return false;
  }
  return true;
}

const embedded = (hi: number, lo: number): number => hi * 65536 + lo;

function ipv6Refused(g: number[]): boolean {
  // IPv4-mapped ::ffff:a.b.c.d: the IPv4 address decides.
  if (inV6(g, [0, 0, 0, 0, 0, 0xffff], 96)) return ipv4Refused(embedded(g[6], g[7]));
  // NAT64 64:ff9b::a.b.c.d: the IPv4 address it translates to decides.
  if (inV6(g, [0x64, 0xff9b], 96)) return ipv4Refused(embedded(g[6], g[7]));
  // 6to4 2002:aabb:ccdd::/48: the IPv4 address of the tunnel end decides.
  if (inV6(g, [0x2002], 16)) return ipv4Refused(embedded(g[1], g[2]));
  return (
    inV6(g, [], 96) || // ::/96: unspecified, loopback, IPv4-compatible (deprecated)
    inV6(g, [0, 0, 0, 0, 0xffff, 0], 96) || // IPv4-translated
    inV6(g, [0x64, 0xff9b, 1], 48) || // local-use NAT64
    inV6(g, [0x100], 64) || // discard-only
    inV6(g, [0x2001], 23) || // IETF protocol assignments, Teredo
    inV6(g, [0x2001, 0xdb8], 32) || // documentation
    inV6(g, [0x3fff], 20) || // documentation
    inV6(g, [0xfc00], 7) || // unique local (AWS's IPv6 metadata service is fd00:ec2::254)
    inV6(g, [0xfe80], 10) || // link-local
    inV6(g, [0xfec0], 10) || // site-local (deprecated)
    inV6(g, [0xff00], 8) // multicast
  );
}

/** True for any address a worker must not reach without an explicit allowance, and for anything that is not an address. */
export function addressIsPrivate(address: string): boolean {
  const n = ipv4Number(address);
  if (n !== undefined) return ipv4Refused(n);
  const groups = ipv6Groups(address);
  return groups === undefined || ipv6Refused(groups);
}

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6. */
export function isLoopback(address: string): boolean {
  const n = ipv4Number(address);
  if (n !== undefined) return Math.floor(n / 2 ** 24) === 127;
  const g = ipv6Groups(address);
  if (!g) return false;
  if (inV6(g, [0, 0, 0, 0, 0, 0xffff], 96)) return g[6] >> 8 === 127;
  return inV6(g, [0, 0, 0, 0, 0, 0, 0, 1], 128);
}

/** Whether a connection to `address`, reached through the host name `host`, is allowed. */
export function egressAllowed(host: string, address: string, policy: EgressPolicy): boolean {
  if (policy.allowPrivate || !addressIsPrivate(address)) return true;
  const name = normalizeHost(host);
  const canonical = normalizeHost(address.replace(/%.*$/, ''));
  return (name !== undefined && policy.allowHosts.includes(name)) || (canonical !== undefined && policy.allowHosts.includes(canonical));
}
