/**
 * `npm run keys -- <command>`: API keys straight in the keys table, with the caller's AWS
 * credentials — how the first admin key of a deployed factory is made (no key can call
 * POST /api-keys before there is one). Against the local cloud: AWS_ENDPOINT_URL=http://localhost:4566.
 *
 *   npm run keys -- create --role admin --name ops [--table <ApiKeys table>]
 *   npm run keys -- list [--table …]
 *   npm run keys -- revoke --key-id k0123456789ab [--table …]
 *
 * The table is --table, else API_KEYS_TABLE (the stack's ApiKeysTable output).
 */
import { parseArgs } from 'node:util';
import { ApiKeyStore } from '../functions/adapters/api-key-store.ts';
import { issueApiKey, publicKeyView, type Role, roles } from '../functions/domain/access.ts';

const usage = `Usage: npm run keys -- <create|list|revoke> [options]
  create --role <${roles.join('|')}> --name <name>   issue a key and print it (once)
  list                                           the keys, without secrets
  revoke --key-id <keyId>                        revoke a key
  --table <name>   the ApiKeys table (default: $API_KEYS_TABLE; the stack output ApiKeysTable)`;

function fail(message: string): never {
  console.error(`${message}\n\n${usage}`);
  process.exit(2);
}

let parsed: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    allowPositionals: true,
    options: {
      role: { type: 'string' },
      name: { type: 'string' },
      'key-id': { type: 'string' },
      table: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
try {
  parsed = parse();
} catch (error) {
  fail((error as Error).message);
}
const { values, positionals } = parsed;
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const table = values.table ?? process.env.API_KEYS_TABLE;
if (!table) fail('Which table? Pass --table <name> or set API_KEYS_TABLE (the stack output ApiKeysTable).');
process.env.AWS_REGION ??= process.env.AWS_DEFAULT_REGION;
const store = new ApiKeyStore(table);
const actor = `npm run keys (${process.env.USER ?? 'unknown user'})`;

const [command] = positionals;
try {
  if (command === 'create') {
    const role = values.role as Role | undefined;
    if (!role || !roles.includes(role)) fail(`--role must be one of ${roles.join(', ')}`);
    const name = values.name?.trim();
    if (!name) fail('--name is required: who or what uses the key');
    const issued = await issueApiKey({ name, role }, actor, {
      create: (record) => store.create(record),
      now: () => new Date(),
    });
    if (!issued) throw new Error('A key with the same hash exists already; run the command again');
    console.log(JSON.stringify(issued, null, 2));
    console.error('Store the key now: it is not shown again.');
  } else if (command === 'list') {
    console.log(JSON.stringify((await store.list()).map(publicKeyView), null, 2));
  } else if (command === 'revoke') {
    const keyId = values['key-id'];
    if (!keyId) fail('--key-id is required');
    const key = await store.findById(keyId);
    if (!key) throw new Error(`No key ${keyId} in ${table}`);
    const revoked = await store.revoke(key.keyHash, actor, new Date());
    console.log(
      revoked ? JSON.stringify(publicKeyView(revoked), null, 2) : `Key ${keyId} was revoked already`,
    );
  } else {
    fail(command ? `Unknown command "${command}"` : 'Which command?');
  }
} catch (error) {
  console.error(`npm run keys: ${(error as Error).message}`);
  process.exit(1);
}
