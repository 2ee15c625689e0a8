import { addressIsPrivate, egressAllowed, isLoopback, literalHost } from '../../../lambdas/shared/egress';
import { parseConfig } from '../../../lambdas/shared/settings';

/**
 * Issue 11, item 8: the workers refuse to call loopback, private, link-local, metadata and other
 * special addresses. A URL's host is read as WHATWG URL parsing reads it (which is what the HTTP
 * client connects to), so every spelling of an address ends up as the same canonical literal.
 */
describe('URL hosts that are addresses, in any spelling', () => {
  it.each([
    ['http://127.0.0.1/', '127.0.0.1'],
    ['http://0x7f.1/', '127.0.0.1'],
    ['http://2130706433/', '127.0.0.1'],
    ['http://0177.0.0.1/', '127.0.0.1'],
    ['http://017700000001/', '127.0.0.1'],
    ['http://127.1/', '127.0.0.1'],
    ['http://0x7f000001/', '127.0.0.1'],
    ['http://0/', '0.0.0.0'],
    ['http://[::1]:8080/x', '::1'],
    ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1'],
    ['http://[0:0:0:0:0:ffff:a9fe:a9fe]/', '::ffff:a9fe:a9fe'],
    ['https://[FD00:EC2::254]/latest', 'fd00:ec2::254'],
    ['http://example.com/hook', undefined],
    ['http://localhost:3000/', undefined],
    ['http://127.0.0.1.nip.io/', undefined],
  ])('%s has the literal host %s', (url, expected) => {
    expect(literalHost(new URL(url).hostname)).toBe(expected);
  });
});

describe('which addresses are refused', () => {
  it.each([
    // loopback
    ['http://127.0.0.1/'],
    ['http://127.255.255.254/'],
    ['http://0x7f.1/'],
    ['http://2130706433/'],
    ['http://0177.0.0.1/'],
    ['http://017700000001/'],
    ['http://[::1]/'],
    ['http://[::ffff:127.0.0.1]/'],
    ['http://[::127.0.0.1]/'],
    // "this network", unspecified
    ['http://0.0.0.0/'],
    ['http://0.1.2.3/'],
    ['http://[::]/'],
    // private
    ['http://10.0.0.1/'],
    ['http://10.255.255.255/'],
    ['http://172.16.0.1/'],
    ['http://172.31.255.255/'],
    ['http://192.168.1.1/'],
    ['http://[fc00::1]/'],
    ['http://[fd00:ec2::254]/'],
    ['http://[::ffff:10.0.0.1]/'],
    // link-local and cloud metadata
    ['http://169.254.169.254/latest/meta-data/'],
    ['http://169.254.0.1/'],
    ['http://0xa9fea9fe/'],
    ['http://[fe80::1]/'],
    ['http://[febf:ffff::1]/'],
    ['http://[::ffff:169.254.169.254]/'],
    // carrier-grade NAT (also Alibaba's metadata address)
    ['http://100.64.0.1/'],
    ['http://100.100.100.200/'],
    ['http://100.127.255.255/'],
    // multicast, reserved, broadcast
    ['http://224.0.0.251/'],
    ['http://239.255.255.250/'],
    ['http://240.0.0.1/'],
    ['http://255.255.255.255/'],
    ['http://[ff02::1]/'],
    // documentation and benchmarking ranges, IETF protocol assignments
    ['http://192.0.0.1/'],
    ['http://192.0.2.1/'],
    ['http://198.18.0.1/'],
    ['http://198.51.100.1/'],
    ['http://203.0.113.1/'],
    ['http://[2001:db8::1]/'],
    // IPv6 forms that carry an IPv4 address: NAT64, 6to4, IPv4-compatible
    ['http://[64:ff9b::7f00:1]/'],
    ['http://[64:ff9b::a9fe:a9fe]/'],
    ['http://[2002:7f00:1::]/'],
    ['http://[2002:a9fe:a9fe::1]/'],
    ['http://[::a9fe:a9fe]/'],
    // Teredo, site-local, discard-only
    ['http://[2001::1]/'],
    ['http://[fec0::1]/'],
    ['http://[100::1]/'],
  ])('%s is refused', (url) => {
    const host = literalHost(new URL(url).hostname);
    expect(host).toBeDefined();
    expect(addressIsPrivate(host!)).toBe(true);
  });

  it.each([
    ['http://8.8.8.8/'],
    ['http://1.1.1.1/'],
    ['http://9.255.255.255/'],
    ['http://11.0.0.0/'],
    ['http://100.63.255.255/'],
    ['http://100.128.0.0/'],
    ['http://126.255.255.255/'],
    ['http://128.0.0.1/'],
    ['http://169.253.255.255/'],
    ['http://169.255.0.0/'],
    ['http://172.15.255.255/'],
    ['http://172.32.0.1/'],
    ['http://192.167.255.255/'],
    ['http://192.169.0.0/'],
    ['http://223.255.255.255/'],
    ['http://[2606:4700:4700::1111]/'],
    ['http://[2a00:1450:4001:80b::200e]/'],
    ['http://[::ffff:8.8.8.8]/'],
    ['http://[64:ff9b::808:808]/'],
    ['http://[2002:808:808::1]/'],
  ])('%s is allowed', (url) => {
    const host = literalHost(new URL(url).hostname);
    expect(host).toBeDefined();
    expect(addressIsPrivate(host!)).toBe(false);
  });

  it.each([
    // What a resolver hands back: canonical strings, sometimes with a zone, sometimes mapped.
    ['127.0.0.1', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['0:0:0:0:0:ffff:7f00:1', true],
    ['fe80::1%eth0', true],
    ['FE80::1', true],
    ['10.20.30.40', true],
    ['93.184.215.14', false],
    ['2606:2800:21f:cb07:6820:80da:af6b:8b2c', false],
  ])('the resolved address %s: refused %s', (address, refused) => {
    expect(addressIsPrivate(address)).toBe(refused);
  });

  it('refuses anything that is not an address at all', () => {
    for (const junk of ['', 'localhost', '1.2.3', '1.2.3.4.5', '256.0.0.1', '::g', '1::2::3', '[::1]']) expect(addressIsPrivate(junk)).toBe(true);
  });

  it.each([
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['10.0.0.1', false],
    ['192.0.2.2', false],
    ['::', false],
    ['8.8.8.8', false],
  ])('%s is loopback: %s', (address, loopback) => {
    expect(isLoopback(address)).toBe(loopback);
  });
});

describe('the egress policy', () => {
  const closed = { allowPrivate: false, allowHosts: [] as string[] };
  it.each([
    ['a public address is always allowed', 'hooks.example.com', '93.184.215.14', closed, true],
    ['a private address is refused', 'hooks.example.com', '10.0.0.5', closed, false],
    ['an allow-listed host name may resolve to a private address', 'relay.internal', '10.0.0.5', { allowPrivate: false, allowHosts: ['relay.internal'] }, true],
    ['another name resolving to the same address is refused', 'evil.example.com', '10.0.0.5', { allowPrivate: false, allowHosts: ['relay.internal'] }, false],
    ['an allow-listed address is allowed whatever name led to it', 'relay.internal', '10.0.0.5', { allowPrivate: false, allowHosts: ['10.0.0.5'] }, true],
    ['an allow-listed IPv6 address', 'fd00::5', 'fd00::5', { allowPrivate: false, allowHosts: ['fd00::5'] }, true],
    ['ALLOW_PRIVATE_EGRESS allows everything', 'localhost', '127.0.0.1', { allowPrivate: true, allowHosts: [] }, true],
  ])('%s', (_name, host, address, policy, allowed) => {
    expect(egressAllowed(host, address, policy)).toBe(allowed);
  });

  it('reads its settings: private egress off by default, allowed hosts as a comma-separated list', () => {
    expect(parseConfig({ TABLE_NAME: 't' })).toMatchObject({ ALLOW_PRIVATE_EGRESS: false, EGRESS_ALLOW_HOSTS: [] });
    expect(parseConfig({ TABLE_NAME: 't', ALLOW_PRIVATE_EGRESS: 'true' }).ALLOW_PRIVATE_EGRESS).toBe(true);
    expect(parseConfig({ TABLE_NAME: 't', EGRESS_ALLOW_HOSTS: ' Relay.Internal, 10.0.0.5 ,[FD00::5],0x0a.1' }).EGRESS_ALLOW_HOSTS).toEqual([
      'relay.internal',
      '10.0.0.5',
      'fd00::5',
      '10.0.0.1',
    ]);
    expect(() => parseConfig({ TABLE_NAME: 't', EGRESS_ALLOW_HOSTS: 'https://relay.internal/' })).toThrow(/EGRESS_ALLOW_HOSTS/);
    expect(() => parseConfig({ TABLE_NAME: 't', EGRESS_ALLOW_HOSTS: 'relay.internal:25' })).toThrow(/EGRESS_ALLOW_HOSTS/);
    expect(() => parseConfig({ TABLE_NAME: 't', ALLOW_PRIVATE_EGRESS: 'yes' })).toThrow(/ALLOW_PRIVATE_EGRESS/);
  });
});
