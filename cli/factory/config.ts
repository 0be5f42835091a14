/**
 * Where the CLI finds the factory and its key, first found wins:
 * - URL: --url, FACTORY_URL, the credentials file's `url` (if it has one), http://localhost:3000.
 * - key: --key, the credentials file's key for --role (when --role is given), FACTORY_KEY, the
 *   credentials file's admin key.
 * The credentials file is --credentials, FACTORY_CREDENTIALS, or `.local/credentials.json` in
 * the working directory or the nearest folder above it that has one (what `npm start` writes:
 * `{"viewer": "rfk_…", "developer": "rfk_…", "admin": "rfk_…"}`).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const defaultUrl = 'http://localhost:3000';
export const roles = ['admin', 'developer', 'viewer'] as const;

export interface ConfigFlags {
  url?: string;
  key?: string;
  role?: string;
  credentials?: string;
}

export interface ResolvedConfig {
  url: string;
  key: string;
  /** Where each came from, for messages. */
  urlFrom: string;
  keyFrom: string;
}

/** Bad or missing configuration: exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface ConfigSources {
  env: Record<string, string | undefined>;
  cwd: string;
  readFile?: (file: string) => string;
  exists?: (file: string) => boolean;
}

export function findCredentialsFile(cwd: string, exists: (file: string) => boolean): string | undefined {
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, '.local', 'credentials.json');
    if (exists(candidate)) return candidate;
    if (path.dirname(dir) === dir) return undefined;
  }
}

export function resolveConfig(flags: ConfigFlags, sources: ConfigSources): ResolvedConfig {
  const { env } = sources;
  const readFile = sources.readFile ?? ((file: string) => readFileSync(file, 'utf8'));
  const exists = sources.exists ?? existsSync;
  if (flags.role !== undefined && !(roles as readonly string[]).includes(flags.role))
    throw new UsageError(`--role must be one of ${roles.join(', ')} (got "${flags.role}")`);

  const explicitFile = flags.credentials ?? env.FACTORY_CREDENTIALS;
  const file = explicitFile
    ? path.resolve(sources.cwd, explicitFile)
    : findCredentialsFile(sources.cwd, exists);
  let credentials: Record<string, unknown> | undefined;
  const loadCredentials = () => {
    if (credentials || !file) return credentials;
    if (!exists(file)) {
      if (explicitFile) throw new UsageError(`No credentials file at ${file}`);
      return undefined;
    }
    try {
      const parsed: unknown = JSON.parse(readFile(file));
      credentials = parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
    } catch (error) {
      throw new UsageError(`Cannot read the credentials file ${file}: ${(error as Error).message}`);
    }
    return credentials;
  };
  const fromFile = (field: string): string | undefined => {
    const value = loadCredentials()?.[field];
    return typeof value === 'string' && value ? value : undefined;
  };

  let url: string | undefined;
  let urlFrom = '';
  if (flags.url) [url, urlFrom] = [flags.url, '--url'];
  else if (env.FACTORY_URL) [url, urlFrom] = [env.FACTORY_URL, 'FACTORY_URL'];
  else if (fromFile('url')) [url, urlFrom] = [fromFile('url'), file as string];
  else [url, urlFrom] = [defaultUrl, 'the default'];
  try {
    new URL(url as string);
  } catch {
    throw new UsageError(`The factory URL "${url}" (from ${urlFrom}) is not a URL`);
  }

  let key: string | undefined;
  let keyFrom = '';
  if (flags.key) [key, keyFrom] = [flags.key, '--key'];
  else if (flags.role) {
    key = fromFile(flags.role);
    keyFrom = `the ${flags.role} key of ${file ?? '.local/credentials.json'}`;
    if (!key)
      throw new UsageError(
        file
          ? `${file} has no ${flags.role} key`
          : `--role ${flags.role} reads .local/credentials.json, and there is none here or above: run \`npm start\` first, or pass --key`,
      );
  } else if (env.FACTORY_KEY) [key, keyFrom] = [env.FACTORY_KEY, 'FACTORY_KEY'];
  else if (fromFile('admin')) [key, keyFrom] = [fromFile('admin'), `the admin key of ${file}`];
  if (!key)
    throw new UsageError(
      'No API key: pass --key <key>, set FACTORY_KEY, or run `npm start` (it writes .local/credentials.json)',
    );
  return { url: (url as string).replace(/\/+$/, ''), key, urlFrom, keyFrom };
}
