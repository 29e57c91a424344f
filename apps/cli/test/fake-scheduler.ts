import * as grpc from '@grpc/grpc-js';
import {
  JobServiceService,
  QueueServiceService,
  StreamServiceService,
  WorkflowServiceService,
} from '@wharf/contracts';
import type { CliConfig } from '../src/cli-config';
import type { CliIo } from '../src/cli-context';
import { createGrpcApi } from '../src/wharf-api';

/** A recorded call: method name, request, and the bearer token it carried. */
export interface RecordedCall {
  readonly method: string;
  readonly request: unknown;
  readonly authorization: string | undefined;
}

type Handler = (
  request: never,
  call: grpc.ServerUnaryCall<never, unknown> | grpc.ServerWritableStream<never, unknown>,
) => unknown;

/**
 * An in-process gRPC server implementing the generated service definitions with handlers the
 * test provides. Unary handlers return the response or throw a {code, details} status;
 * streaming handlers return an async iterable of messages.
 */
export class FakeScheduler {
  readonly calls: RecordedCall[] = [];
  private readonly server = new grpc.Server();
  private readonly handlers = new Map<string, Handler>();
  address = '';

  on(method: string, handler: (request: never) => unknown): this {
    this.handlers.set(method, handler as Handler);
    return this;
  }

  async start(): Promise<this> {
    for (const definition of [
      JobServiceService,
      WorkflowServiceService,
      StreamServiceService,
      QueueServiceService,
    ]) {
      const implementation: grpc.UntypedServiceImplementation = {};
      for (const [name, method] of Object.entries(definition as grpc.ServiceDefinition)) {
        const record = (call: { request: unknown; metadata: grpc.Metadata }) => {
          const auth = call.metadata.get('authorization')[0];
          this.calls.push({
            method: name,
            request: call.request,
            authorization: typeof auth === 'string' ? auth : undefined,
          });
          const handler = this.handlers.get(name);
          if (!handler) throw { code: grpc.status.UNIMPLEMENTED, details: `${name} not faked` };
          return handler;
        };
        if (method.responseStream) {
          implementation[name] = ((call: grpc.ServerWritableStream<never, unknown>) => {
            void (async () => {
              try {
                const handler = record(call);
                for await (const message of handler(call.request, call) as AsyncIterable<unknown>) {
                  if (call.cancelled) return;
                  call.write(message);
                }
                call.end();
              } catch (error) {
                call.emit('error', error as grpc.StatusObject);
              }
            })();
          }) as grpc.UntypedHandleCall;
        } else {
          implementation[name] = ((
            call: grpc.ServerUnaryCall<never, unknown>,
            callback: grpc.sendUnaryData<unknown>,
          ) => {
            void (async () => {
              try {
                const handler = record(call);
                callback(null, await handler(call.request, call));
              } catch (error) {
                callback(error as grpc.ServiceError);
              }
            })();
          }) as grpc.UntypedHandleCall;
        }
      }
      this.server.addService(definition as grpc.ServiceDefinition, implementation);
    }
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    this.address = `127.0.0.1:${port}`;
    return this;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.tryShutdown(() => resolve()));
  }
}

export function status(code: grpc.status, details: string): grpc.StatusObject {
  return { code, details, metadata: new grpc.Metadata() };
}

export interface TestIo extends CliIo {
  readonly out: () => string;
  readonly err: () => string;
  readonly files: Map<string, string>;
}

/** An io with captured output, an in-memory file system and the real gRPC adapter. */
export function testIo(
  options: { env?: Record<string, string>; files?: Record<string, string>; isTTY?: boolean } = {},
): TestIo {
  let out = '';
  let err = '';
  const files = new Map(Object.entries(options.files ?? {}));
  return {
    stdout: { write: (t: string) => void (out += t), isTTY: options.isTTY ?? false },
    stderr: { write: (t: string) => void (err += t) },
    env: options.env ?? {},
    homeDir: '/home/tester',
    readFile: (path) => {
      const text = files.get(path);
      if (text === undefined) throw new Error(`no such file ${path}`);
      return text;
    },
    readFileIfExists: (path) => files.get(path),
    now: () => new Date('2026-11-21T10:00:00Z'),
    signal: new AbortController().signal,
    createApi: (config: CliConfig) => createGrpcApi({ config, readFile: () => Buffer.alloc(0) }),
    out: () => out,
    err: () => err,
    files,
  };
}
