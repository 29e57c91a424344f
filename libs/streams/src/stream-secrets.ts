import type { StreamSpec } from '@wharf/contracts';
import { InvalidArgumentError, openSecret, SealError, type SecretSealer } from '@wharf/platform';

/** Header names whose values are credentials: redacted in answers, sealed in wharf.streams. */
export const SECRET_HEADER = /authorization|cookie|token|secret|password|api[-_]?key/i;

type HttpSource = NonNullable<NonNullable<StreamSpec['source']>['http']>;

/** The spec with the HTTP source's bearer token and credential headers mapped by `f(field, value)`. */
function mapSecrets(spec: StreamSpec, f: (field: string, value: string) => string): StreamSpec {
  const http = spec.source?.http;
  if (!http) return spec;
  const headers = Object.fromEntries(
    Object.entries(http.headers).map(([name, value]) => [
      name,
      SECRET_HEADER.test(name) && value !== '' ? f(`source.http.headers.${name}`, value) : value,
    ]),
  );
  const bearerToken = http.bearerToken === '' ? '' : f('source.http.bearerToken', http.bearerToken);
  const mapped: HttpSource = { ...http, bearerToken, headers };
  return { ...spec, source: { ...spec.source, http: mapped } };
}

/**
 * The spec as the scheduler stores it: bearer token and credential headers sealed (see
 * @wharf/platform's SecretSealer; the field path is the associated data). Unchanged without a
 * sealer; sealing is deterministic, so an unchanged spec compares equal after sealing.
 */
export function sealStreamSecrets(spec: StreamSpec, sealer: SecretSealer | undefined): StreamSpec {
  return sealer ? mapSecrets(spec, (field, value) => sealer.seal(field, value)) : spec;
}

/**
 * The spec as stream-ingest runs it: sealed values opened (plain ones, from a standalone YAML
 * file, stay as they are). Thrown: InvalidArgumentError naming each field that cannot be
 * opened (no key, another key, altered) — never a value.
 */
export function openStreamSecrets(spec: StreamSpec, sealer: SecretSealer | undefined): StreamSpec {
  const problems: { field: string; description: string }[] = [];
  const opened = mapSecrets(spec, (field, value) => {
    try {
      return openSecret(sealer, field, value);
    } catch (error) {
      if (!(error instanceof SealError)) throw error;
      problems.push({ field, description: error.message });
      return value;
    }
  });
  if (problems.length > 0) throw new InvalidArgumentError('stream secrets cannot be opened', problems);
  return opened;
}
