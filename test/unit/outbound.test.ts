import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboundRefused, outboundRequest } from '../../functions/adapters/outbound-http.ts';
import { judgeDestination, parseAllowList } from '../../functions/domain/outbound-policy.ts';

const none = parseAllowList('');

describe('the outbound policy', () => {
  it('lets public addresses through', () => {
    for (const address of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111'])
      expect(judgeDestination('example.com', address, none), address).toEqual({ allowed: true });
  });

  it('refuses loopback, private, link-local (metadata), unique-local and other non-public addresses', () => {
    for (const address of [
      '127.0.0.1',
      '127.0.0.2',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '::1',
      '::',
      'fe80::1',
      'fc00::1',
      'fd12:3456::1',
      '::ffff:10.0.0.1',
      '::ffff:169.254.169.254',
    ]) {
      const verdict = judgeDestination('inward.example', address, none);
      expect(verdict.allowed, address).toBe(false);
      expect(verdict.allowed ? '' : verdict.reason).toContain('destination not allowed');
    }
  });

  it('lets the allow-list through: host names whatever they resolve to, addresses and CIDRs', () => {
    const allow = parseAllowList(' hooks.internal , 10.20.0.0/16, ::1 ');
    expect(judgeDestination('HOOKS.internal', '10.9.9.9', allow).allowed).toBe(true);
    expect(judgeDestination('other.internal', '10.20.4.2', allow).allowed).toBe(true);
    expect(judgeDestination('other.internal', '10.21.0.1', allow).allowed).toBe(false);
    expect(judgeDestination('[::1]', '::1', allow).allowed).toBe(true);
    expect(judgeDestination('localhost', '127.0.0.1', allow).allowed).toBe(false);
  });

  it('refuses an allow-list it cannot read, naming the entry', () => {
    expect(() => parseAllowList('10.0.0.0/33')).toThrow('10.0.0.0/33');
    expect(() => parseAllowList('http://x')).toThrow('http://x');
  });
});

describe('outbound requests', () => {
  // Loopback only: an allowed receiver on 127.0.0.1, and one on 127.0.0.2 that must hear nothing.
  const received = { allowed: 0, refused: 0 };
  let allowedServer: Server;
  let refusedServer: Server;
  let allowedUrl = '';
  let refusedUrl = '';
  const allow = parseAllowList('127.0.0.1,localhost');

  beforeAll(async () => {
    allowedServer = createServer((req, res) => {
      received.allowed++;
      if (req.url === '/to-metadata')
        res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' });
      else if (req.url === '/to-other-loopback') res.writeHead(307, { location: `${refusedUrl}/stolen` });
      else if (req.url === '/to-self') res.writeHead(303, { location: '/ok' });
      else res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${req.method} ${req.url}`);
    });
    refusedServer = createServer((_req, res) => {
      received.refused++;
      res.end('should never be reached');
    });
    await new Promise<void>((r) => allowedServer.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => refusedServer.listen(0, '127.0.0.2', r));
    allowedUrl = `http://127.0.0.1:${(allowedServer.address() as AddressInfo).port}`;
    refusedUrl = `http://127.0.0.2:${(refusedServer.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    allowedServer.close();
    refusedServer.close();
  });

  it('calls an allowed destination, by address or by an allowed name, and follows redirects', async () => {
    expect(Buffer.from((await outboundRequest(`${allowedUrl}/hi`, {}, allow)).body).toString()).toBe(
      'GET /hi',
    );
    const byName = allowedUrl.replace('127.0.0.1', 'localhost');
    expect((await outboundRequest(`${byName}/hi`, {}, allow)).status).toBe(200);
    const redirected = await outboundRequest(`${allowedUrl}/to-self`, { method: 'POST', body: '{}' }, allow);
    expect(Buffer.from(redirected.body).toString()).toBe('GET /ok');
  });

  it('refuses a destination the policy does not allow before any connection, and on every redirect', async () => {
    const before = received.refused;
    await expect(outboundRequest(`${refusedUrl}/direct`, {}, allow)).rejects.toBeInstanceOf(OutboundRefused);
    await expect(outboundRequest(`${allowedUrl}/to-other-loopback`, {}, allow)).rejects.toThrow(
      'destination not allowed',
    );
    await expect(outboundRequest(`${allowedUrl}/to-metadata`, {}, allow)).rejects.toThrow('169.254.169.254');
    await expect(outboundRequest(`${allowedUrl}/hi`, {}, none)).rejects.toBeInstanceOf(OutboundRefused);
    await expect(outboundRequest('http://localhost:1/', {}, none)).rejects.toThrow('destination not allowed');
    expect(received.refused - before).toBe(0);
  });
});
