/**
 * `npm start`: serve the whole factory on this machine from its own CDK template.
 * PORT (default 3000) is the HTTP API; EDGE_PORT (default 4566) the AWS endpoint;
 * LOCAL_CLOUD_BACKEND=moto uses a moto server as the data plane; LOG_FUNCTIONS=1 echoes
 * function output to the console. State is kept in .local/data across restarts;
 * `npm start -- --fresh` starts empty.
 */
import './cloud/quiet-sdk.ts';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { describeLocalCloud, startLocalCloud } from './cloud/local-cloud.ts';

const usage = `Usage: npm start [-- [--fresh] [--dir <path>]]
  --fresh        start with empty data (what an earlier run kept is deleted)
  --dir <path>   where the local cloud keeps its data and logs (default .local)`;
let flags: { fresh?: boolean; dir?: string };
try {
  flags = parseArgs({
    options: { fresh: { type: 'boolean', default: false }, dir: { type: 'string', default: '.local' } },
  }).values;
} catch (error) {
  console.error(`${(error as Error).message}\n${usage}`);
  process.exit(2);
}

const port = (name: string, fallback: number) => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65_535) {
    console.error(`${name} must be a port number (0–65535), got "${raw}"`);
    process.exit(2);
  }
  return value;
};

const cloud = await startLocalCloud({
  apiPort: port('PORT', 3000),
  edgePort: port('EDGE_PORT', 4566),
  backend: process.env.LOCAL_CLOUD_BACKEND === 'moto' ? 'moto' : 'embedded',
  echoFunctionLogs: process.env.LOG_FUNCTIONS === '1',
  fresh: flags.fresh ?? false,
  workDir: flags.dir ?? '.local',
  log: (line) => console.log(`[local-cloud] ${line}`),
}).catch((error: Error & { code?: string }) => {
  if (error.code === 'EADDRINUSE') {
    console.error(`A port is already in use (${error.message}). Set PORT / EDGE_PORT to free ports.`);
  } else {
    console.error(error);
  }
  process.exit(1);
});

for (const line of describeLocalCloud(cloud)) console.log(line);
const keysFile = path.relative(process.cwd(), cloud.keys.file);
console.log(
  `\nConsole: ${cloud.apiUrl}/console/  (sign in with the admin key above)` +
    `\nAPI reference: ${cloud.apiUrl}/docs/  (OpenAPI: ${cloud.apiUrl}/openapi.json)` +
    '\nCLI: npx factory --help' +
    `\nTry: curl -s ${cloud.apiUrl}/robot-types -H "Authorization: Bearer $(node -p "require('./${keysFile}').viewer")"` +
    '\nPress Ctrl+C to stop.',
);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping the local cloud …');
    await cloud.stop();
    process.exit(0);
  });
}
