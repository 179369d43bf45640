#!/usr/bin/env node
// The installed `distill` command (dist/cli/bin.js); in a clone, bin/distill.mjs runs the sources through tsx.
import { main } from './main.ts';

process.exitCode = await main(process.argv.slice(2));
