import { StreamSpec } from '@wharf/contracts';
import { InvalidArgumentError, isSealed, SecretSealer } from '@wharf/platform';
import { openStreamSecrets, sealStreamSecrets } from './stream-secrets';

const sealer = SecretSealer.fromKey(Buffer.alloc(32, 2));
const spec = StreamSpec.fromPartial({
  streamId: 's',
  source: {
    http: {
      url: 'https://api.example.com/stream',
      bearerToken: 'tok-canary',
      headers: { 'X-Api-Key': 'key-canary', Accept: 'application/x-ndjson', Cookie: '' },
    },
  },
  sink: { topic: 'out' },
});

describe('stream secrets', () => {
  it('seals the bearer token and credential headers only, deterministically', () => {
    const sealed = sealStreamSecrets(spec, sealer);
    const http = sealed.source?.http;
    expect(isSealed(http?.bearerToken ?? '')).toBe(true);
    expect(isSealed(http?.headers['X-Api-Key'] ?? '')).toBe(true);
    expect(http?.headers['Accept']).toBe('application/x-ndjson');
    expect(http?.headers['Cookie']).toBe('');
    expect(JSON.stringify(StreamSpec.toJSON(sealed))).not.toMatch(/canary/);
    expect(sealStreamSecrets(spec, sealer)).toEqual(sealed);
    expect(sealStreamSecrets(sealed, sealer)).toEqual(sealed);
    expect(sealStreamSecrets(spec, undefined)).toBe(spec);
  });

  it('opens what was sealed and leaves plain values (a standalone file) as they are', () => {
    expect(openStreamSecrets(sealStreamSecrets(spec, sealer), sealer)).toEqual(spec);
    expect(openStreamSecrets(spec, undefined)).toEqual(spec);
  });

  it('names every field it cannot open, never the value', () => {
    const sealed = sealStreamSecrets(spec, sealer);
    let error: unknown;
    try {
      openStreamSecrets(sealed, SecretSealer.fromKey(Buffer.alloc(32, 3)));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).violations.map((v) => v.field)).toEqual([
      'source.http.headers.X-Api-Key',
      'source.http.bearerToken',
    ]);
    expect(String((error as Error).message)).not.toMatch(/canary/);
    expect(() => openStreamSecrets(sealed, undefined)).toThrow(/has no seal key/);
  });
});
