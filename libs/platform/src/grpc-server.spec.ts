import { Metadata, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { EventEmitter } from 'node:events';
import { UnauthenticatedError } from './errors';
import { adaptService, bearerToken, tokenAuthenticator, type CallContext } from './grpc-server';
import { createLogger } from './logger';

describe('tokenAuthenticator', () => {
  const authenticate = tokenAuthenticator(new Map([['s3cret-a', 'team-a'], ['s3cret-b', 'team-b']]));

  it('maps a known token to its tenant', () => {
    expect(authenticate('s3cret-b')).toEqual({ tenant: 'team-b' });
  });

  it('rejects a missing or unknown token without echoing it', () => {
    expect(() => authenticate(undefined)).toThrow(UnauthenticatedError);
    let message = '';
    try {
      authenticate('s3cret-wrong');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe('invalid bearer token');
    expect(message).not.toContain('s3cret');
  });
});

describe('bearerToken', () => {
  it('reads "authorization: Bearer <token>" case-insensitively', () => {
    const metadata = new Metadata();
    metadata.set('authorization', 'bearer abc.def');
    expect(bearerToken(metadata)).toBe('abc.def');
    expect(bearerToken(new Metadata())).toBeUndefined();
    const basic = new Metadata();
    basic.set('authorization', 'Basic dXNlcg==');
    expect(bearerToken(basic)).toBeUndefined();
  });
});

describe('adaptService', () => {
  const definition = {
    Get: { path: '/test.v1.Svc/Get', requestStream: false, responseStream: false },
  } as unknown as ServiceDefinition;
  const authenticate = tokenAuthenticator(new Map([['tok', 'team-a']]));
  const logger = createLogger({ service: 'test', level: 'fatal' });

  /** A grpc-js unary call as the adapter sees it: an emitter with metadata and a deadline. */
  function unaryCall(): EventEmitter & { metadata: Metadata; request: unknown; getDeadline(): number } {
    const metadata = new Metadata();
    metadata.set('authorization', 'Bearer tok');
    return Object.assign(new EventEmitter(), { metadata, request: {}, getDeadline: () => Date.now() + 60_000 });
  }

  function serve(handler: (request: unknown, ctx: CallContext) => Promise<unknown>): UntypedServiceImplementation {
    return adaptService(definition, { Get: handler } as never, { authenticate, logger });
  }

  it('aborts the handler\'s signal when the client cancels mid-call', async () => {
    const call = unaryCall();
    const answered = new Promise<[unknown, unknown]>((resolve) => {
      const implementation = serve(
        (_request, ctx) =>
          new Promise((done) => ctx.signal.addEventListener('abort', () => done(`aborted: ${String(ctx.signal.reason)}`))),
      );
      (implementation['Get'] as (c: unknown, cb: (e: unknown, v: unknown) => void) => void)(call, (e, v) => resolve([e, v]));
    });
    call.emit('cancelled');
    await expect(answered).resolves.toEqual([null, 'aborted: Error: call cancelled']);
  });

  it('detaches from a finished call: its later close does not abort the signal', async () => {
    const call = unaryCall();
    let signal: AbortSignal | undefined;
    await new Promise<void>((resolve) => {
      const implementation = serve(async (_request, ctx) => {
        signal = ctx.signal;
        return { ok: true };
      });
      (implementation['Get'] as (c: unknown, cb: () => void) => void)(call, () => resolve());
    });
    expect(call.listenerCount('cancelled')).toBe(0);
    call.emit('cancelled');
    expect(signal?.aborted).toBe(false);
  });

  it('answers a call without a valid token UNAUTHENTICATED and releases it', async () => {
    const call = unaryCall();
    call.metadata.set('authorization', 'Bearer nope');
    const handler = jest.fn();
    const [error] = await new Promise<[{ code: number; details: string }]>((resolve) => {
      (serve(handler)['Get'] as (c: unknown, cb: (e: never) => void) => void)(call, (e) => resolve([e]));
    });
    expect(error.code).toBe(16);
    expect(handler).not.toHaveBeenCalled();
    expect(call.listenerCount('cancelled')).toBe(0);
  });
});
