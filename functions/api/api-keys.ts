/**
 * POST /api-keys {name, role} → 201 with the key (shown only here), GET /api-keys (no secrets),
 * DELETE /api-keys/{keyId} → the key revoked. Admin only (the route table says so). The last live
 * admin key cannot be revoked: the factory would have nobody left to manage it.
 */
import * as z from 'zod';
import { ApiKeyStore } from '#adapters/api-key-store';
import { issueApiKey, publicKeyView, roleSchema } from '#domain/access';
import { apiKeyListSchema, issuedApiKeySchema, revokedApiKeySchema } from '#domain/api-responses';
import { requireEnv } from '#shared/env';
import { actorOf, byRoute, httpRoute, json } from '#shared/http';
import { conflict, HttpError, notFound } from '#shared/http-errors';

const store = new ApiKeyStore(requireEnv('API_KEYS_TABLE'));

const create = httpRoute(
  {
    body: z.strictObject({
      name: z.string().trim().min(1).max(64).describe('Who or what uses the key, e.g. "ci" or "wallboard"'),
      role: roleSchema,
    }),
    responses: { 201: issuedApiKeySchema },
  },
  async ({ body, event }) => {
    const issued = await issueApiKey(body, actorOf(event), {
      create: (record) => store.create(record),
      now: () => new Date(),
    });
    // A random 256-bit key colliding with a stored one does not happen; a retry would be right.
    if (!issued) throw new HttpError(503, 'KEY_COLLISION', 'Could not issue a key; try again.');
    return json(201, { ...issued, note: 'Store the key now: it is not shown again.' });
  },
);

const list = httpRoute({ responses: { 200: apiKeyListSchema } }, async () => {
  const keys = await store.list();
  return json(200, { keys: keys.map(publicKeyView) });
});

const revoke = httpRoute(
  {
    path: z.object({ keyId: z.string().regex(/^k[0-9a-f]{12}$/, 'a key id looks like k0123456789ab') }),
    responses: { 200: revokedApiKeySchema },
  },
  async ({ path, event }) => {
    const key = await store.findById(path.keyId);
    if (!key) throw notFound('KEY_NOT_FOUND', `No API key ${path.keyId}`);
    if (key.revokedAt) throw conflict('KEY_REVOKED', `Key ${path.keyId} was revoked at ${key.revokedAt}`);
    if (key.role === 'admin') {
      const liveAdmins = (await store.list()).filter((k) => k.role === 'admin' && !k.revokedAt);
      if (liveAdmins.length <= 1)
        throw conflict('LAST_ADMIN_KEY', 'This is the last live admin key: issue another admin key first.');
    }
    const revoked = await store.revoke(key.keyHash, actorOf(event), new Date());
    if (!revoked) throw conflict('KEY_REVOKED', `Key ${path.keyId} was revoked meanwhile`);
    return json(200, {
      ...publicKeyView(revoked),
      note: 'The key stops working within 30 seconds (the authorizer remembers keys that long).',
    });
  },
);

export const handler = byRoute({
  'POST /api-keys': create,
  'GET /api-keys': list,
  'DELETE /api-keys/{keyId}': revoke,
});
