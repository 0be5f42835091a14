import { describe, expect, it } from 'vitest';
import {
  type ApiKeyRecord,
  bearerToken,
  decideAccess,
  hashApiKey,
  issueApiKey,
  mayUse,
  mintApiKey,
  requiredRole,
} from '../../functions/domain/access.ts';

const access = {
  'GET /jobs': 'viewer',
  'POST /jobs': 'developer',
  'POST /workers/scale': 'admin',
  'GET /api-keys': 'admin',
} as const;

/** An in-memory keys table. */
function keyTable(records: ApiKeyRecord[] = []) {
  const rows = new Map(records.map((r) => [r.keyHash, r]));
  return {
    rows,
    findKey: async (hash: string) => rows.get(hash),
    create: async (record: ApiKeyRecord) => {
      if (rows.has(record.keyHash)) return false;
      rows.set(record.keyHash, record);
      return true;
    },
  };
}

const record = (
  key: string,
  role: ApiKeyRecord['role'],
  extra: Partial<ApiKeyRecord> = {},
): ApiKeyRecord => ({
  keyHash: hashApiKey(key),
  keyId: 'k0123456789ab',
  name: `${role} key`,
  role,
  createdAt: '2026-12-01T00:00:00.000Z',
  createdBy: 'test',
  ...extra,
});

describe('API keys', () => {
  it('mints 256-bit secrets with a public id, and stores only their hash', async () => {
    // Arrange
    const table = keyTable();
    // Act
    const issued = await issueApiKey({ name: 'ci', role: 'developer' }, 'ops', {
      create: table.create,
      now: () => new Date('2026-12-01T10:00:00Z'),
    });
    // Assert
    expect(issued?.key).toMatch(/^rfk_k[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    const [stored] = [...table.rows.values()];
    expect(stored).toEqual({
      keyHash: hashApiKey(issued?.key as string),
      keyId: issued?.keyId,
      name: 'ci',
      role: 'developer',
      createdAt: '2026-12-01T10:00:00.000Z',
      createdBy: 'ops',
    });
    // rfk_<keyId>_<secret>: the secret (base64url) may itself hold underscores.
    const secret = String(issued?.key).split('_').slice(2).join('_');
    expect(JSON.stringify(stored)).not.toContain(secret);
    expect(mintApiKey().key).not.toBe(mintApiKey().key);
  });

  it('adopts a key chosen outside (FACTORY_ADMIN_KEY) once', async () => {
    const table = keyTable();
    const ports = { create: table.create, now: () => new Date() };
    const first = await issueApiKey({ name: 'env', role: 'admin', key: 'my-chosen-key' }, 'npm start', ports);
    expect(first?.key).toBe('my-chosen-key');
    expect(first?.keyId).toBe(`k${hashApiKey('my-chosen-key').slice(0, 12)}`);
    expect(await issueApiKey({ name: 'env', role: 'admin', key: 'my-chosen-key' }, 'npm start', ports)).toBe(
      undefined,
    );
  });

  it('reads the bearer token of an Authorization header, and nothing else', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer   abc  ')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});

describe('the roles', () => {
  it('rank viewer < developer < admin', () => {
    expect(mayUse('admin', 'developer')).toBe(true);
    expect(mayUse('developer', 'developer')).toBe(true);
    expect(mayUse('viewer', 'developer')).toBe(false);
    expect(mayUse('developer', 'admin')).toBe(false);
  });

  it('fail closed for a route the table does not name: reads for all, writes for admins', () => {
    expect(requiredRole(access, 'GET /somewhere-new')).toBe('viewer');
    expect(requiredRole(access, 'POST /somewhere-new')).toBe('admin');
    expect(requiredRole(access, '$default')).toBe('viewer');
    expect(requiredRole(access, 'GET /api-keys')).toBe('admin');
  });
});

describe('the verdict on a request', () => {
  const table = keyTable([
    record('viewer-key', 'viewer'),
    record('developer-key', 'developer'),
    record('revoked-key', 'admin', { revokedAt: '2026-12-01T09:00:00.000Z' }),
  ]);
  const decide = (authorization: string | undefined, routeKey: string) =>
    decideAccess({ authorization, routeKey }, access, table);

  it('is unauthenticated without a key, with a malformed header, an unknown or a revoked key', async () => {
    expect(await decide(undefined, 'GET /jobs')).toMatchObject({
      verdict: 'unauthenticated',
      reason: expect.stringContaining('Authorization: Bearer'),
    });
    expect(await decide('Token viewer-key', 'GET /jobs')).toMatchObject({ verdict: 'unauthenticated' });
    expect(await decide('Bearer nobody-knows-me', 'GET /jobs')).toMatchObject({
      verdict: 'unauthenticated',
      reason: 'The API key is not known.',
    });
    expect(await decide('Bearer revoked-key', 'GET /jobs')).toMatchObject({
      verdict: 'unauthenticated',
      reason: expect.stringContaining('revoked'),
    });
  });

  it('lets each role do what it may, and names what a refused one would need', async () => {
    expect(await decide('Bearer viewer-key', 'GET /jobs')).toMatchObject({
      verdict: 'allow',
      role: 'viewer',
    });
    expect(await decide('Bearer viewer-key', 'POST /jobs')).toEqual({
      verdict: 'forbidden',
      keyId: 'k0123456789ab',
      keyName: 'viewer key',
      role: 'viewer',
      required: 'developer',
    });
    expect(await decide('Bearer developer-key', 'POST /jobs')).toMatchObject({ verdict: 'allow' });
    expect(await decide('Bearer developer-key', 'POST /workers/scale')).toMatchObject({
      verdict: 'forbidden',
      required: 'admin',
    });
  });
});
