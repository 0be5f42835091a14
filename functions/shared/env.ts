/** Reads configuration once, at cold start, and fails loudly when the deployment forgot it. */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`Environment variable ${name} is not set: the stack must provide it`);
  }
  return value;
}

export function requireJsonEnv<T>(name: string): T {
  const raw = requireEnv(name);
  try {
    return JSON.parse(raw) as T;
  } catch {
    throw new Error(`Environment variable ${name} is not valid JSON`);
  }
}

export const envFlag = (name: string): boolean => process.env[name] === 'true';

export function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value))
    throw new Error(`Environment variable ${name} must be an integer, got "${raw}"`);
  return value;
}
