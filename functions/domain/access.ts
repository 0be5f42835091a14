/**
 * Who may do what: API keys and the three roles. The authorizer (functions/auth/authorizer.ts)
 * decides every request with `decideAccess`; the route handlers only render its verdict.
 *
 * A key is `rfk_<keyId>_<secret>`: the secret is 32 random bytes (256 bits), shown once, and the
 * store keeps only the SHA-256 of the whole key. A key handed in from outside (FACTORY_ADMIN_KEY)
 * may have any shape: it is found by its hash all the same.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import * as z from 'zod';

export const roles = ['viewer', 'developer', 'admin'] as const;
export type Role = (typeof roles)[number];
export const roleSchema = z.enum(roles);

const rank: Record<Role, number> = { viewer: 0, developer: 1, admin: 2 };

/** Whether a key of `role` may use a route that needs `required`. */
export const mayUse = (role: Role, required: Role): boolean => rank[role] >= rank[required];

/** What the store keeps of a key (never the key itself). */
export interface ApiKeyRecord {
  readonly keyHash: string;
  readonly keyId: string;
  readonly name: string;
  readonly role: Role;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly lastUsedAt?: string;
  readonly revokedAt?: string;
  readonly revokedBy?: string;
}

/** The listing's view of a key: everything but its hash. */
export const publicKeyView = ({ keyHash: _hash, ...view }: ApiKeyRecord) => view;

export const hashApiKey = (key: string): string => createHash('sha256').update(key).digest('hex');

/** A new key: its id (public, for listings and revocation) and the key (secret, shown once). */
export function mintApiKey(random: (bytes: number) => Buffer = randomBytes): { keyId: string; key: string } {
  const keyId = `k${random(6).toString('hex')}`;
  return { keyId, key: `rfk_${keyId}_${random(32).toString('base64url')}` };
}

/** The bearer token of an Authorization header, if it carries one. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^\s*bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return match?.[1];
}

/** The route table's access rule: the least role of each route key (`METHOD /path`). */
export type RouteAccess = Readonly<Record<string, Role>>;

/**
 * What a route needs when the table does not name it: reads are for every key, anything else for
 * admins (a route added without a rule fails closed).
 */
export const requiredRole = (access: RouteAccess, routeKey: string): Role =>
  access[routeKey] ?? (routeKey.startsWith('GET ') || routeKey === '$default' ? 'viewer' : 'admin');

export type Verdict =
  | { readonly verdict: 'allow'; readonly keyId: string; readonly keyName: string; readonly role: Role }
  | { readonly verdict: 'unauthenticated'; readonly reason: string }
  | {
      readonly verdict: 'forbidden';
      readonly keyId: string;
      readonly keyName: string;
      readonly role: Role;
      readonly required: Role;
    };

export interface AccessPorts {
  /** The record of the key with this hash, revoked or not; undefined if there is none. */
  findKey(keyHash: string): Promise<ApiKeyRecord | undefined>;
}

/** The verdict on one request: its Authorization header against the route it asks for. */
export async function decideAccess(
  request: { readonly authorization: string | undefined; readonly routeKey: string },
  access: RouteAccess,
  ports: AccessPorts,
): Promise<Verdict> {
  const token = bearerToken(request.authorization);
  if (!token) {
    return {
      verdict: 'unauthenticated',
      reason: request.authorization
        ? 'The Authorization header is not "Bearer <key>".'
        : 'This route needs an API key: send "Authorization: Bearer <key>".',
    };
  }
  const keyHash = hashApiKey(token);
  const record = await ports.findKey(keyHash);
  // The store answered by hash; compare again in constant time so a lookup quirk cannot pass.
  if (!record || !sameHash(record.keyHash, keyHash))
    return { verdict: 'unauthenticated', reason: 'The API key is not known.' };
  if (record.revokedAt)
    return { verdict: 'unauthenticated', reason: `The API key was revoked at ${record.revokedAt}.` };
  const required = requiredRole(access, request.routeKey);
  const who = { keyId: record.keyId, keyName: record.name, role: record.role };
  return mayUse(record.role, required)
    ? { verdict: 'allow', ...who }
    : { verdict: 'forbidden', ...who, required };
}

const sameHash = (a: string, b: string): boolean =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

export interface IssuedKey {
  readonly keyId: string;
  /** The key itself: shown this once, never stored. */
  readonly key: string;
  readonly name: string;
  readonly role: Role;
  readonly createdAt: string;
}

export interface KeyIssuePorts {
  /** Stores the record; false when a key with its hash exists already. */
  create(record: ApiKeyRecord): Promise<boolean>;
  readonly now: () => Date;
  readonly random?: (bytes: number) => Buffer;
}

/**
 * Issues a key of `role`. `key` adopts a key chosen outside (FACTORY_ADMIN_KEY); its id is then
 * derived from its hash. Undefined when that key is stored already.
 */
export async function issueApiKey(
  request: { readonly name: string; readonly role: Role; readonly key?: string },
  by: string,
  ports: KeyIssuePorts,
): Promise<IssuedKey | undefined> {
  const minted = request.key
    ? { key: request.key, keyId: `k${hashApiKey(request.key).slice(0, 12)}` }
    : mintApiKey(ports.random);
  const createdAt = ports.now().toISOString();
  const record: ApiKeyRecord = {
    keyHash: hashApiKey(minted.key),
    keyId: minted.keyId,
    name: request.name,
    role: request.role,
    createdAt,
    createdBy: by,
  };
  if (!(await ports.create(record))) return undefined;
  return { keyId: minted.keyId, key: minted.key, name: request.name, role: request.role, createdAt };
}
