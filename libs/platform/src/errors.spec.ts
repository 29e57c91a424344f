import { status } from '@grpc/grpc-js';
import {
  AlreadyExistsError,
  describeError,
  InvalidArgumentError,
  isAlreadyExists,
  isNotFound,
  isRetriable,
  NotFoundError,
  PermissionDeniedError,
  toGrpcStatus,
  UnauthenticatedError,
  UnavailableError,
} from './errors';

describe('error hierarchy', () => {
  it('maps each error class to its gRPC status with its message', () => {
    const cases: [Error, number][] = [
      [new InvalidArgumentError('bad spec', [{ field: 'spec.image', description: 'required' }]), status.INVALID_ARGUMENT],
      [new NotFoundError('job j1 not found'), status.NOT_FOUND],
      [new AlreadyExistsError('exists'), status.ALREADY_EXISTS],
      [new UnauthenticatedError('missing token'), status.UNAUTHENTICATED],
      [new PermissionDeniedError('not yours'), status.PERMISSION_DENIED],
      [new UnavailableError('kafka down'), status.UNAVAILABLE],
    ];
    for (const [error, code] of cases) {
      expect(toGrpcStatus(error)).toEqual({ code, details: error.message });
    }
    expect(toGrpcStatus(new InvalidArgumentError('bad spec', [{ field: 'spec.image', description: 'required' }])).details).toBe(
      'bad spec: spec.image: required',
    );
  });

  it('answers foreign errors INTERNAL without leaking their message', () => {
    expect(toGrpcStatus(new Error('password=hunter2 rejected'))).toEqual({ code: status.INTERNAL, details: 'internal error' });
  });

  it('never treats programming errors or final Wharf errors as retriable', () => {
    expect(isRetriable(new TypeError('x is undefined'))).toBe(false);
    expect(isRetriable(new InvalidArgumentError('bad'))).toBe(false);
    expect(isRetriable(new UnavailableError('down'))).toBe(true);
    expect(isRetriable(new Error('ECONNRESET'))).toBe(true);
    expect(isRetriable(Object.assign(new Error('kafkajs'), { retriable: false }))).toBe(false);
  });

  it('recognises not-found and conflict in foreign client errors by HTTP status', () => {
    expect(isNotFound({ code: 404 })).toBe(true);
    expect(isNotFound(new NotFoundError('gone'))).toBe(true);
    expect(isAlreadyExists({ $metadata: { httpStatusCode: 409 } })).toBe(true);
    expect(isNotFound({ code: 'ENOENT' })).toBe(false);
  });

  it('describes an error with its chain of causes', () => {
    const error = new UnavailableError('cannot publish', { cause: new Error('broker down') });
    expect(describeError(error)).toBe('cannot publish: caused by: broker down');
  });
});
