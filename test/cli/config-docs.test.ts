import * as fs from 'node:fs';
import { expect, it } from 'vitest';
import { CONFIG_DOC, renderConfigDocs } from '../../scripts/config-docs.ts';

it('docs/config.md is generated from the schema and up to date (npx tsx scripts/config-docs.ts)', () => {
  const text = renderConfigDocs();
  // Spot checks that the generator really walks the schema: keys of nested objects and shared shapes.
  for (const key of ['`distill.stages[]`', '`multiTeacher.teachers[]`', '| `alpha` |', '| `temperatureRule` |', 'weight schedule (kind "adaptive")', '| `selfDistillation` |']) {
    expect(text).toContain(key);
  }
  expect(fs.readFileSync(CONFIG_DOC, 'utf8')).toBe(text);
});
