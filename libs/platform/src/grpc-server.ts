import * as grpc from '@grpc/grpc-js';
import { loadFileDescriptorSetFromBuffer } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { hash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { HealthImplementation } from 'grpc-health-check';
import { UnauthenticatedError, describeError, isWharfError, toGrpcStatus } from './errors';
import type { Component } from './lifecycle';
import type { Logger } from './logger';

/** Who is calling: the tenant a bearer token maps to. */
export interface Principal {
  readonly tenant: string;
}

/**
 * Maps the bearer token of a call (undefined when absent) to a principal.
 * Thrown: UnauthenticatedError when the token is missing or unknown.
 */
export type Authenticator = (token: string | undefined) => Principal;

export interface CallContext {
  readonly principal: Principal;
  readonly method: string;
  readonly metadata: grpc.Metadata;
  /** Aborts when the client cancels or the deadline passes. */
  readonly signal: AbortSignal;
}

type UnaryHandler<Req, Res> = (request: Req, ctx: CallContext) => Promise<Res>;
/** Server-streaming: `write` resolves when the message is sent (respects flow control). */
type StreamHandler<Req, Res> = (
  request: Req,
  ctx: CallContext,
  write: (message: Res) => Promise<void>,
) => Promise<void>;

/** Async, typed handlers for a ts-proto service definition. */
export type ServiceHandlers<D> = {
  [K in keyof D]: D[K] extends {
    responseStream: true;
    requestDeserialize: (b: Buffer) => infer Req;
    responseSerialize: (v: infer Res) => Buffer;
  }
    ? StreamHandler<Req, Res>
    : D[K] extends { requestDeserialize: (b: Buffer) => infer Req; responseSerialize: (v: infer Res) => Buffer }
      ? UnaryHandler<Req, Res>
      : never;
};

export interface AdaptOptions {
  readonly authenticate: Authenticator;
  readonly logger: Logger;
}

/** The bearer token of a call's `authorization` metadata, if any. */
export function bearerToken(metadata: grpc.Metadata): string | undefined {
  const value = metadata.get('authorization')[0];
  if (typeof value !== 'string') return undefined;
  const match = /^Bearer\s+(.+)$/i.exec(value.trim());
  return match?.[1];
}

/**
 * Turns async typed handlers into a grpc-js implementation that authenticates every call
 * (the bearer-token interceptor), gives handlers an AbortSignal, and maps thrown errors to a
 * gRPC status through the one mapping in errors.ts. Unexpected errors are logged and answered
 * INTERNAL without their message.
 */
export function adaptService<D extends grpc.ServiceDefinition>(
  definition: D,
  handlers: ServiceHandlers<D>,
  options: AdaptOptions,
): grpc.UntypedServiceImplementation {
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(definition)) {
    const handler = (handlers as Record<string, unknown>)[name] as
      | UnaryHandler<unknown, unknown>
      | StreamHandler<unknown, unknown>;
    const fail = (error: unknown): grpc.StatusObject => {
      const status = toGrpcStatus(error);
      if (!isWharfError(error)) {
        options.logger.error({ method: method.path, err: describeError(error) }, 'rpc failed unexpectedly');
      }
      return { ...status, metadata: new grpc.Metadata() };
    };
    if (method.responseStream) {
      implementation[name] = (call: grpc.ServerWritableStream<unknown, unknown>) => {
        void (async () => {
          const { signal, release } = callSignal(call);
          try {
            const ctx = contextOf(call, method.path, options.authenticate, signal);
            const write = (message: unknown) =>
              new Promise<void>((resolve, reject) => {
                if (call.cancelled) {
                  reject(new Error('call cancelled'));
                  return;
                }
                if (call.write(message)) resolve();
                else call.once('drain', () => resolve());
              });
            await (handler as StreamHandler<unknown, unknown>)(call.request, ctx, write);
            call.end();
          } catch (error) {
            if (!call.cancelled) call.emit('error', fail(error));
          } finally {
            release();
          }
        })();
      };
    } else {
      implementation[name] = (
        call: grpc.ServerUnaryCall<unknown, unknown>,
        callback: grpc.sendUnaryData<unknown>,
      ) => {
        void (async () => {
          const { signal, release } = callSignal(call);
          try {
            const ctx = contextOf(call, method.path, options.authenticate, signal);
            callback(null, await (handler as UnaryHandler<unknown, unknown>)(call.request, ctx));
          } catch (error) {
            callback(fail(error));
          } finally {
            release();
          }
        })();
      };
    }
  }
  return implementation;
}

/** Authenticates the call's bearer token (throws UnauthenticatedError) and builds its context. */
function contextOf(
  call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>,
  method: string,
  authenticate: Authenticator,
  signal: AbortSignal,
): CallContext {
  return { principal: authenticate(bearerToken(call.metadata)), method, metadata: call.metadata, signal };
}

/**
 * The abort signal of one call, aborted when the client cancels or the deadline passes.
 * `release` detaches the cancel listener and the deadline timer once the handler is done:
 * grpc-js reports every closed stream as cancelled, and a finished call must not pay for an
 * abort (an Error and its stack) or keep a timer until its deadline.
 */
function callSignal(call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>): {
  signal: AbortSignal;
  release(): void;
} {
  const controller = new AbortController();
  const onCancel = () => controller.abort(new Error('call cancelled'));
  call.once('cancelled', onCancel);
  const deadline = call.getDeadline();
  const ms = deadline instanceof Date ? deadline.getTime() - Date.now() : Number(deadline) - Date.now();
  const timer =
    Number.isFinite(ms) && ms > 0 && ms < 2 ** 31
      ? setTimeout(() => controller.abort(new Error('deadline exceeded')), ms).unref()
      : undefined;
  return {
    signal: controller.signal,
    release() {
      call.removeListener('cancelled', onCancel);
      if (timer) clearTimeout(timer);
    },
  };
}

/** An authenticator over a static token → tenant table, comparing in constant time. */
export function tokenAuthenticator(tokens: ReadonlyMap<string, string>): Authenticator {
  const digest = (value: string) => hash('sha256', value, 'buffer');
  const table = [...tokens].map(([token, tenant]) => ({ hash: digest(token), tenant }));
  return (token) => {
    if (!token) throw new UnauthenticatedError('missing bearer token (metadata "authorization: Bearer <token>")');
    const presented = digest(token);
    let tenant: string | undefined;
    // Compare against every entry, so timing does not reveal which (if any) matched.
    for (const entry of table) {
      if (timingSafeEqual(entry.hash, presented)) tenant ??= entry.tenant;
    }
    if (tenant === undefined) throw new UnauthenticatedError('invalid bearer token');
    return { tenant };
  };
}

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** When set, clients must present a certificate signed by this CA (mTLS). */
  readonly clientCaFile?: string;
}

export interface GrpcServerOptions {
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  readonly logger: Logger;
  readonly services: readonly { definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation }[];
  /** Base64 FileDescriptorSet of the served protos, for server reflection. */
  readonly descriptorSetBase64?: string;
  readonly tls?: TlsFiles;
  /** @default 10_000 */
  readonly shutdownGraceMs?: number;
}

/**
 * A gRPC server with grpc.health.v1 (per service and overall "") and server reflection.
 * Health reports SERVING once started, NOT_SERVING as soon as shutdown begins.
 */
export class GrpcServer implements Component {
  readonly name = 'grpc';
  readonly health: HealthImplementation;
  private readonly server = new grpc.Server({
    'grpc.max_receive_message_length': 8 * 1024 * 1024,
    // Channelz keeps per-call statistics for a debugging service Wharf does not serve.
    'grpc.enable_channelz': 0,
  });
  port = 0;

  constructor(private readonly options: GrpcServerOptions) {
    const serviceNames = options.services.map((s) => serviceNameOf(s.definition));
    this.health = new HealthImplementation(
      Object.fromEntries(['', ...serviceNames].map((n) => [n, 'NOT_SERVING' as const])),
    );
    this.health.addToServer(this.server);
    if (options.descriptorSetBase64) {
      const definition = loadFileDescriptorSetFromBuffer(Buffer.from(options.descriptorSetBase64, 'base64'));
      new ReflectionService(definition).addToServer(this.server);
    }
    for (const { definition, implementation } of options.services) {
      this.server.addService(definition, implementation);
    }
  }

  async start(): Promise<void> {
    const credentials = this.options.tls
      ? grpc.ServerCredentials.createSsl(
          this.options.tls.clientCaFile ? readFileSync(this.options.tls.clientCaFile) : null,
          [{ cert_chain: readFileSync(this.options.tls.certFile), private_key: readFileSync(this.options.tls.keyFile) }],
          Boolean(this.options.tls.clientCaFile),
        )
      : grpc.ServerCredentials.createInsecure();
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(`${this.options.host}:${this.options.port}`, credentials, (error, port) =>
        error ? reject(error) : resolve(port),
      ),
    );
    this.setServing(true);
    this.options.logger.info({ port: this.port }, 'grpc server listening');
  }

  setServing(serving: boolean): void {
    const status = serving ? 'SERVING' : 'NOT_SERVING';
    this.health.setStatus('', status);
    for (const { definition } of this.options.services) this.health.setStatus(serviceNameOf(definition), status);
  }

  async stop(): Promise<void> {
    this.setServing(false);
    const grace = this.options.shutdownGraceMs ?? 10_000;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, grace);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

function serviceNameOf(definition: grpc.ServiceDefinition): string {
  const first = Object.values(definition)[0];
  return first ? first.path.split('/')[1] ?? '' : '';
}
