import {
  AlreadyExistsError,
  InvalidArgumentError,
  isRetriable,
  NotFoundError,
  PermissionDeniedError,
  UnavailableError,
} from '../errors';
import { ConflictError, GoneError, isGone, toKubeError } from './kube-errors';

/** The shape of client-node's ApiException. */
const apiException = (code: number, body: unknown) =>
  Object.assign(new Error(`HTTP-Code: ${code}\nBody: ${JSON.stringify(body)}`), { code, body });

const request = { verb: 'get', kind: 'job', namespace: 'ns', name: 'j1' };

describe('toKubeError', () => {
  it.each([
    [404, NotFoundError],
    [409, AlreadyExistsError],
    [400, InvalidArgumentError],
    [422, InvalidArgumentError],
    [401, PermissionDeniedError],
    [403, PermissionDeniedError],
    [410, GoneError],
    [429, UnavailableError],
    [500, UnavailableError],
    [503, UnavailableError],
    [413, InvalidArgumentError],
  ])('maps HTTP %d', (code, type) => {
    const mapped = toKubeError(apiException(code, { message: 'server says no' }), request);
    expect(mapped).toBeInstanceOf(type);
    expect((mapped as Error).message).toBe('get job ns/j1: server says no');
  });

  it('treats an object too large for etcd (HTTP 500) as a bad request, not an outage', () => {
    const mapped = toKubeError(apiException(500, { message: 'etcdserver: request is too large', code: 500 }), {
      verb: 'create',
      kind: 'configMap',
      namespace: 'ns',
      name: 'cm',
    });
    expect(mapped).toBeInstanceOf(InvalidArgumentError);
    expect(isRetriable(mapped)).toBe(false);
    expect((mapped as Error).message).toBe('create configMap ns/cm: etcdserver: request is too large');
  });

  it('keeps only the server message, never the raw exception', () => {
    const mapped = toKubeError(
      apiException(422, JSON.stringify({ message: 'spec.x: Invalid value' })),
      request,
    );
    expect((mapped as Error).message).toBe('get job ns/j1: spec.x: Invalid value');
    expect((mapped as Error).cause).toBeUndefined();
  });

  it('scrubs quoted values from Secret errors', () => {
    const mapped = toKubeError(
      apiException(422, {
        message: 'Secret "s" is invalid: data[k]: Invalid value: "hunter2": bad',
      }),
      { verb: 'create', kind: 'secret', namespace: 'ns', name: 's' },
    );
    expect((mapped as Error).message).not.toContain('hunter2');
    expect((mapped as Error).message).toContain('Invalid value: [redacted]');
  });

  it('tells a failed resourceVersion precondition (409 Conflict) from AlreadyExists', () => {
    const conflict = apiException(409, {
      reason: 'Conflict',
      message: 'the object has been modified',
    });
    expect(toKubeError(conflict, request)).toBeInstanceOf(ConflictError);
    const exists = apiException(409, {
      reason: 'AlreadyExists',
      message: 'jobs "j1" already exists',
    });
    expect(toKubeError(exists, request)).toBeInstanceOf(AlreadyExistsError);
  });

  it('maps network failures to a retriable UnavailableError', () => {
    const refused = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    });
    const mapped = toKubeError(refused, request);
    expect(mapped).toBeInstanceOf(UnavailableError);
    expect(isRetriable(mapped)).toBe(true);
  });

  it('maps watch errors carrying statusCode, and recognises 410', () => {
    const gone = Object.assign(new Error('Gone'), { statusCode: 410 });
    expect(toKubeError(gone, request)).toBeInstanceOf(GoneError);
    expect(isGone(gone)).toBe(true);
  });

  it('passes programming errors through', () => {
    const bug = new TypeError('cannot read properties of undefined');
    expect(toKubeError(bug, request)).toBe(bug);
  });
});
