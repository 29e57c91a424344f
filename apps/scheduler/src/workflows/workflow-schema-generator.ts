/**
 * Writes docs/workflow.schema.json from the zod schema (the one source of truth):
 *   npx tsx apps/scheduler/src/workflows/workflow-schema-generator.ts [--check]
 * With --check it fails when the committed file is out of date (for CI).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { workflowSpecSchema } from './workflow-schema';

export function workflowJsonSchema(): string {
  const schema = z.toJSONSchema(workflowSpecSchema, { io: 'input', target: 'draft-2020-12' });
  return `${JSON.stringify({ ...schema, $id: 'https://wharf.dev/schemas/v1/workflow.schema.json' }, null, 2)}\n`;
}

function main(): void {
  const target = resolve(__dirname, '../../../../docs/workflow.schema.json');
  const text = workflowJsonSchema();
  if (process.argv.includes('--check')) {
    const current = readFileSync(target, 'utf8');
    if (current !== text) {
      process.stderr.write(`${target} is out of date: run this script without --check\n`);
      process.exitCode = 1;
    }
    return;
  }
  writeFileSync(target, text);
}

if (require.main === module) main();
