import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StreamSpec } from '@wharf/contracts';
import { loadConfig } from '@wharf/platform';
import { testDefaults } from '../test/stream-fixtures';
import { streamIngestConfigSchema } from './config';
import { standaloneSpecs } from './standalone-streams';
import { toStreamDefinition } from './stream-definition';

const dir = join(__dirname, '../../../examples/streams');

describe('examples/streams', () => {
  const yamlFiles = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

  it.each(yamlFiles)('%s is a valid standalone config', (file) => {
    const config = loadConfig(streamIngestConfigSchema, { env: {}, argv: ['--config', join(dir, file)] });
    const specs = standaloneSpecs(config.streams, () => 'token-from-file');
    expect(specs.length).toBeGreaterThan(0);
    for (const spec of specs) expect(() => toStreamDefinition(spec, testDefaults)).not.toThrow();
  });

  it('stream-spec.json is a valid StreamSpec', () => {
    const spec = StreamSpec.fromJSON(JSON.parse(readFileSync(join(dir, 'stream-spec.json'), 'utf8')));
    expect(toStreamDefinition(spec, testDefaults)).toMatchObject({ id: 'wiki-changes', source: { kind: 'http', format: 'sse' } });
  });
});
