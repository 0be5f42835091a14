import { describe, expect, it } from 'vitest';
import { environmentExecArgv } from '../../localstack/cloud/lambda-runtime.ts';

describe("a Lambda environment's Node flags", () => {
  it('leave out the TypeScript loader `npm start` runs under, and keep every other flag', () => {
    const underTsx = [
      '--require',
      '/repo/node_modules/tsx/dist/preflight.cjs',
      '--import',
      'file:///repo/node_modules/tsx/dist/loader.mjs',
      '--enable-source-maps',
      '--import=tsx',
      '--require',
      './instrument.cjs',
      '--conditions=development',
    ];
    expect(environmentExecArgv(underTsx)).toEqual([
      '--enable-source-maps',
      '--require',
      './instrument.cjs',
      '--conditions=development',
    ]);
  });

  it('are the same when there is no loader to leave out', () => {
    expect(environmentExecArgv([])).toEqual([]);
    expect(environmentExecArgv(['--import', './otel.mjs'])).toEqual(['--import', './otel.mjs']);
  });
});
