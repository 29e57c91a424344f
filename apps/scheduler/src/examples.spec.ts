import { SubmitJobRequest } from '@wharf/contracts';
import { loadConfig } from '@wharf/platform';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { schedulerConfigSchema } from './config';
import { validateSubmit } from './domain/spec-validator';

const dir = join(__dirname, '../../../examples/jobs');

describe('examples/jobs', () => {
  const config = loadConfig(schedulerConfigSchema, { env: {}, argv: ['--config', join(dir, 'scheduler.yaml')] });

  it('has a valid scheduler configuration', () => {
    expect(config.queues.map((q) => q.name)).toEqual(['default', 'batch']);
    expect(config.capacity.memory).toBe(64 * 2 ** 30);
  });

  it.each(readdirSync(dir).filter((f) => f.endsWith('.json')))('%s is a valid submit', (file) => {
    const request = SubmitJobRequest.fromJSON(JSON.parse(readFileSync(join(dir, file), 'utf8')));
    const queue = config.queues.find((q) => q.name === request.spec?.queue);
    const result = validateSubmit(request, queue, config.limits);
    expect(result.ok ? [] : result.violations).toEqual([]);
  });
});
