import { builtinModules } from 'node:module';
import * as path from 'node:path';
import type { Plugin } from 'vite';

/**
 * The page shares src/ with the CLI; a Node built-in reached from our own code would be replaced by an
 * empty stub and fail at run time, so the build stops and names the importer instead.
 */
export function noNodeBuiltins(repoRoot: string): Plugin {
  const builtins = new Set(builtinModules);
  return {
    name: 'distill-no-node-builtins',
    enforce: 'pre',
    resolveId(id, importer) {
      if (!importer || importer.includes('node_modules')) return null;
      if (id.startsWith('node:') || builtins.has(id.split('/')[0])) {
        this.error(`${path.relative(repoRoot, importer)} imports "${id}": code the web page uses must not use Node I/O (put it behind an interface)`);
      }
      return null;
    },
  };
}
