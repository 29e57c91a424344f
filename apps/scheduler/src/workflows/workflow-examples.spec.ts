import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseWorkflowText } from './workflow-spec-parser';
import { planPreflight } from './workflow-preflight';

const dir = join(__dirname, '../../../../examples/workflows');

describe('examples/workflows', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

  it('has the three seed examples', () => {
    expect(files.sort()).toEqual(['seed-000-repo-metrics.yaml', 'seed-003-ci-pipeline.yaml', 'seed-004-experiment.yaml']);
  });

  it.each(files)('%s is a valid workflow whose jobs render', (file) => {
    const result = parseWorkflowText(readFileSync(join(dir, file), 'utf8'));
    if (!result.ok) throw new Error(JSON.stringify(result.problems, null, 2));
    const plan = planPreflight('example-1', result.spec);
    expect(plan.jobs.length).toBe(result.spec.tasks.length + result.spec.finally.length);
  });
});
