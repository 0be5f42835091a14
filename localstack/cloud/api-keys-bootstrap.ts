/**
 * The local factory's first keys: on a first start (no live key in the table) an admin, a
 * developer and a viewer key are issued, printed, and written to `<workDir>/credentials.json`
 * (mode 0600) as {"admin","developer","viewer"}. Later starts reuse the keys in that file that
 * still work. FACTORY_ADMIN_KEY, when set, is adopted as an admin key. The same code path as the
 * deployed bootstrap (`npm run keys`): the keys table through its adapter.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { type DynamoDBClient, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ApiKeyStore } from '../../functions/adapters/api-key-store.ts';
import { hashApiKey, issueApiKey, type Role, roles } from '../../functions/domain/access.ts';
import { replaceFile } from './journal.ts';

export type LocalCredentials = Partial<Record<Role, string>>;

export interface BootstrappedKeys {
  readonly credentials: LocalCredentials;
  readonly file: string;
  /** The roles whose key was issued by this start. */
  readonly issued: readonly Role[];
  readonly notes: readonly string[];
}

export async function bootstrapApiKeys(
  dynamodb: DynamoDBClient,
  tableName: string,
  workDir: string,
  adminKey: string | undefined = process.env.FACTORY_ADMIN_KEY || undefined,
): Promise<BootstrappedKeys> {
  // The table was just created: dynalite makes it ACTIVE on its next tick, not before.
  await waitUntilTableExists(
    { client: dynamodb, maxWaitTime: 30, minDelay: 0.1, maxDelay: 1 },
    { TableName: tableName },
  );
  const document = DynamoDBDocumentClient.from(dynamodb);
  const store = new ApiKeyStore(tableName, () => document);
  const file = path.join(workDir, 'credentials.json');
  const notes: string[] = [];
  const issued: Role[] = [];
  const live = async (key: string | undefined, role: Role) => {
    if (!key) return false;
    const record = await store.findByHash(hashApiKey(key));
    return record !== undefined && !record.revokedAt && record.role === role;
  };

  const saved: LocalCredentials = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  const credentials: LocalCredentials = {};
  for (const role of roles) if (await live(saved[role], role)) credentials[role] = saved[role];

  const issue = async (role: Role, key?: string) => {
    const created = await issueApiKey({ name: `local ${role}`, role, key }, 'npm start', {
      create: (record) => store.create(record),
      now: () => new Date(),
    });
    if (created) issued.push(role);
    return created?.key;
  };
  const firstStart = !(await store.list()).some((k) => !k.revokedAt);
  if (adminKey) {
    if (!(await store.findByHash(hashApiKey(adminKey)))) await issue('admin', adminKey);
    if (await live(adminKey, 'admin')) credentials.admin = adminKey;
    else notes.push('FACTORY_ADMIN_KEY is a revoked or non-admin key here: it was not adopted.');
  }
  if (firstStart) {
    for (const role of roles) if (!credentials[role]) credentials[role] = await issue(role);
  } else {
    const missing = roles.filter((role) => !credentials[role]);
    if (missing.length > 0)
      notes.push(
        `No working ${missing.join(', ')} key in ${file}: the factory has keys already, so none was issued. ` +
          'Create one with an admin key (POST /api-keys) or npm run keys -- create --role <role> --name <name>.',
      );
  }
  replaceFile(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  return { credentials, file, issued, notes };
}
