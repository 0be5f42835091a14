#!/usr/bin/env node
// `npx factory …` (package.json "bin"): runs cli/factory.ts through tsx, as `npm run keys` does.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./factory.ts');
process.exitCode = await main(process.argv.slice(2));
