#!/usr/bin/env node
// The `evx` command (package.json "bin"): registers tsx so the TypeScript
// sources run as they are, then hands over to the CLI. Plain JS on purpose:
// it must start before any TypeScript support is loaded.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../services/cli/main.ts');
await main();
