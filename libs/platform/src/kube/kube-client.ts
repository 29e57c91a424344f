import {
  BatchV1Api,
  CoordinationV1Api,
  CoreV1Api,
  Log,
  PatchStrategy,
  setHeaderOptions,
  Watch,
  type ConfigurationOptions,
  type KubeConfig,
  type V1ConfigMap,
  type V1Job,
  type V1Lease,
  type V1ListMeta,
  type V1Namespace,
  type V1PersistentVolumeClaim,
  type V1Pod,
  type V1Secret,
  type V1ServiceAccount,
} from '@kubernetes/client-node';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { InvalidArgumentError } from '../errors';
import { type Clock } from '../clock';
import type { KubeObject, ListWatchSource, WatchEvent } from './informer';
import { toKubeError, type KubeRequest } from './kube-errors';
import { RateLimiter } from './rate-limiter';

/** The kinds Wharf touches, by the short name the client takes. */
export interface KubeKinds {
  job: V1Job;
  pod: V1Pod;
  secret: V1Secret;
  configMap: V1ConfigMap;
  namespace: V1Namespace;
  lease: V1Lease;
  persistentVolumeClaim: V1PersistentVolumeClaim;
  serviceAccount: V1ServiceAccount;
}
export type KubeKind = keyof KubeKinds;

/** Names an object. `namespace` is required for every kind but `namespace`. */
export interface ObjectRef {
  readonly name: string;
  readonly namespace?: string;
}

/** RFC 6902 operations. */
export type JsonPatchOp =
  | { readonly op: 'add' | 'replace' | 'test'; readonly path: string; readonly value: unknown }
  | { readonly op: 'remove'; readonly path: string }
  | { readonly op: 'move' | 'copy'; readonly from: string; readonly path: string };

export interface ListOptions {
  /** All namespaces when absent. */
  readonly namespace?: string;
  /** e.g. `app.kubernetes.io/managed-by=wharf,wharf.dev/job-id=j1` */
  readonly labelSelector?: string;
}

export interface PodLogOptions {
  readonly follow?: boolean;
  /** RFC 3339; resume after a premature close with the last line's timestamp. */
  readonly sinceTime?: string;
  readonly timestamps?: boolean;
  readonly tailLines?: number;
  readonly limitBytes?: number;
  /** The previous (crashed) container instance. */
  readonly previous?: boolean;
  readonly signal?: AbortSignal;
}

/**
 * The narrow port services use for Kubernetes. Every request goes through one rate limiter;
 * every failure is a platform error (see toKubeError). Apps fake this interface in unit tests.
 */
export interface KubeClient {
  /**
   * Thrown: AlreadyExistsError (409), InvalidArgumentError (400/422), … With `dryRun`, a
   * server-side dry-run (`dryRun=All`): validation and admission (quota, policy) run and the
   * would-be object comes back, nothing is stored.
   */
  create<K extends KubeKind>(
    kind: K,
    object: KubeKinds[K],
    options?: { dryRun?: boolean },
  ): Promise<KubeKinds[K]>;
  /** Thrown: NotFoundError when absent. */
  get<K extends KubeKind>(kind: K, ref: ObjectRef): Promise<KubeKinds[K]>;
  list<K extends KubeKind>(
    kind: K,
    options?: ListOptions,
  ): Promise<{ items: KubeKinds[K][]; resourceVersion: string }>;
  /** Deletes with propagationPolicy=Background (dependents go too). Thrown: NotFoundError when absent. */
  delete(kind: KubeKind, ref: ObjectRef): Promise<void>;
  /**
   * RFC 6902 patch. With `resourceVersion`, the patch applies only to the version the caller
   * read. Thrown: ConflictError when that version is gone; NotFoundError; InvalidArgumentError.
   */
  jsonPatch<K extends KubeKind>(
    kind: K,
    ref: ObjectRef,
    ops: readonly JsonPatchOp[],
    options?: { resourceVersion?: string },
  ): Promise<KubeKinds[K]>;
  /** RFC 7386 merge patch (null deletes a field). */
  mergePatch<K extends KubeKind>(kind: K, ref: ObjectRef, patch: object): Promise<KubeKinds[K]>;
  /**
   * Streams a container's log into `into`; resolves when the server ended the log and `into`
   * finished, rejects (UnavailableError) when the connection broke. A followed log can still
   * end early without an error (kubelet rotation, client-node): compare with the pod's state
   * and resume with `sinceTime`.
   */
  streamPodLog(
    ref: ObjectRef,
    container: string,
    into: Writable,
    options?: PodLogOptions,
  ): Promise<void>;
  /** The list/watch source of an {@link Informer}. */
  listWatch<K extends KubeKind>(kind: K, options?: ListOptions): ListWatchSource<KubeKinds[K]>;
}

export interface KubeClientOptions {
  readonly kubeConfig: KubeConfig;
  /** @default 20 (client-go's default is 5; we run few, short requests) */
  readonly qps?: number;
  /** @default 40 */
  readonly burst?: number;
  /** @default 10 */
  readonly maxConcurrent?: number;
  readonly clock?: Clock;
  /** Server-side timeout of each watch; jittered by up to +25 %. @default 240 */
  readonly watchTimeoutSeconds?: number;
}

interface KindApi<T> {
  readonly apiPath: string;
  readonly plural: string;
  readonly namespaced: boolean;
  create(namespace: string, body: T, dryRun?: string): Promise<T>;
  read(namespace: string, name: string): Promise<T>;
  list(
    namespace: string | undefined,
    labelSelector?: string,
  ): Promise<{ items: T[]; metadata?: V1ListMeta }>;
  delete(namespace: string, name: string): Promise<unknown>;
  patch(namespace: string, name: string, body: unknown, options: ConfigurationOptions): Promise<T>;
}

type KindApis = { readonly [K in KubeKind]: KindApi<KubeKinds[K]> };

const background = 'Background';

function kindApis(kubeConfig: KubeConfig): KindApis {
  const batch = kubeConfig.makeApiClient(BatchV1Api);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const coordination = kubeConfig.makeApiClient(CoordinationV1Api);
  return {
    job: {
      apiPath: '/apis/batch/v1',
      plural: 'jobs',
      namespaced: true,
      create: (namespace, body, dryRun) => batch.createNamespacedJob({ namespace, body, dryRun }),
      read: (namespace, name) => batch.readNamespacedJob({ namespace, name }),
      list: (namespace, labelSelector) =>
        namespace
          ? batch.listNamespacedJob({ namespace, labelSelector })
          : batch.listJobForAllNamespaces({ labelSelector }),
      delete: (namespace, name) =>
        batch.deleteNamespacedJob({ namespace, name, propagationPolicy: background }),
      patch: (namespace, name, body, options) =>
        batch.patchNamespacedJob({ namespace, name, body }, options),
    },
    pod: {
      apiPath: '/api/v1',
      plural: 'pods',
      namespaced: true,
      create: (namespace, body, dryRun) => core.createNamespacedPod({ namespace, body, dryRun }),
      read: (namespace, name) => core.readNamespacedPod({ namespace, name }),
      list: (namespace, labelSelector) =>
        namespace
          ? core.listNamespacedPod({ namespace, labelSelector })
          : core.listPodForAllNamespaces({ labelSelector }),
      delete: (namespace, name) =>
        core.deleteNamespacedPod({ namespace, name, propagationPolicy: background }),
      patch: (namespace, name, body, options) =>
        core.patchNamespacedPod({ namespace, name, body }, options),
    },
    secret: {
      apiPath: '/api/v1',
      plural: 'secrets',
      namespaced: true,
      create: (namespace, body, dryRun) => core.createNamespacedSecret({ namespace, body, dryRun }),
      read: (namespace, name) => core.readNamespacedSecret({ namespace, name }),
      list: (namespace, labelSelector) =>
        namespace
          ? core.listNamespacedSecret({ namespace, labelSelector })
          : core.listSecretForAllNamespaces({ labelSelector }),
      delete: (namespace, name) =>
        core.deleteNamespacedSecret({ namespace, name, propagationPolicy: background }),
      patch: (namespace, name, body, options) =>
        core.patchNamespacedSecret({ namespace, name, body }, options),
    },
    configMap: {
      apiPath: '/api/v1',
      plural: 'configmaps',
      namespaced: true,
      create: (namespace, body, dryRun) =>
        core.createNamespacedConfigMap({ namespace, body, dryRun }),
      read: (namespace, name) => core.readNamespacedConfigMap({ namespace, name }),
      list: (namespace, labelSelector) =>
        namespace
          ? core.listNamespacedConfigMap({ namespace, labelSelector })
          : core.listConfigMapForAllNamespaces({ labelSelector }),
      delete: (namespace, name) =>
        core.deleteNamespacedConfigMap({ namespace, name, propagationPolicy: background }),
      patch: (namespace, name, body, options) =>
        core.patchNamespacedConfigMap({ namespace, name, body }, options),
    },
    namespace: {
      apiPath: '/api/v1',
      plural: 'namespaces',
      namespaced: false,
      create: (_namespace, body, dryRun) => core.createNamespace({ body, dryRun }),
      read: (_namespace, name) => core.readNamespace({ name }),
      list: (_namespace, labelSelector) => core.listNamespace({ labelSelector }),
      delete: (_namespace, name) => core.deleteNamespace({ name, propagationPolicy: background }),
      patch: (_namespace, name, body, options) => core.patchNamespace({ name, body }, options),
    },
    persistentVolumeClaim: {
      apiPath: '/api/v1',
      plural: 'persistentvolumeclaims',
      namespaced: true,
      create: (namespace, body, dryRun) =>
        core.createNamespacedPersistentVolumeClaim({ namespace, body, dryRun }),
      read: (namespace, name) => core.readNamespacedPersistentVolumeClaim({ namespace, name }),
      list: (namespace, labelSelector) =>
        namespace
          ? core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector })
          : core.listPersistentVolumeClaimForAllNamespaces({ labelSelector }),
      delete: (namespace, name) =>
        core.deleteNamespacedPersistentVolumeClaim({
          namespace,
          name,
          propagationPolicy: background,
        }),
      patch: (namespace, name, body, options) =>
        core.patchNamespacedPersistentVolumeClaim({ namespace, name, body }, options),
    },
    serviceAccount: {
      apiPath: '/api/v1',
      plural: 'serviceaccounts',
      namespaced: true,
      create: (namespace, body, dryRun) =>
        core.createNamespacedServiceAccount({ namespace, body, dryRun }),
      read: (namespace, name) => core.readNamespacedServiceAccount({ namespace, name }),
      list: (namespace, labelSelector) =>
        namespace
          ? core.listNamespacedServiceAccount({ namespace, labelSelector })
          : core.listServiceAccountForAllNamespaces({ labelSelector }),
      delete: (namespace, name) =>
        core.deleteNamespacedServiceAccount({ namespace, name, propagationPolicy: background }),
      patch: (namespace, name, body, options) =>
        core.patchNamespacedServiceAccount({ namespace, name, body }, options),
    },
    lease: {
      apiPath: '/apis/coordination.k8s.io/v1',
      plural: 'leases',
      namespaced: true,
      create: (namespace, body, dryRun) =>
        coordination.createNamespacedLease({ namespace, body, dryRun }),
      read: (namespace, name) => coordination.readNamespacedLease({ namespace, name }),
      list: (namespace, labelSelector) =>
        namespace
          ? coordination.listNamespacedLease({ namespace, labelSelector })
          : coordination.listLeaseForAllNamespaces({ labelSelector }),
      delete: (namespace, name) =>
        coordination.deleteNamespacedLease({ namespace, name, propagationPolicy: background }),
      patch: (namespace, name, body, options) =>
        coordination.patchNamespacedLease({ namespace, name, body }, options),
    },
  };
}

/** The production {@link KubeClient}, over client-node's generated APIs. */
export function createKubeClient(options: KubeClientOptions): KubeClient {
  return new ClientNodeKubeClient(options);
}

class ClientNodeKubeClient implements KubeClient {
  private readonly apis: KindApis;
  private readonly limiter: RateLimiter;

  constructor(private readonly options: KubeClientOptions) {
    this.apis = kindApis(options.kubeConfig);
    this.limiter = new RateLimiter({
      qps: options.qps ?? 20,
      burst: options.burst ?? 40,
      maxConcurrent: options.maxConcurrent ?? 10,
      clock: options.clock,
    });
  }

  create<K extends KubeKind>(
    kind: K,
    object: KubeKinds[K],
    options: { dryRun?: boolean } = {},
  ): Promise<KubeKinds[K]> {
    const api: KindApi<KubeKinds[K]> = this.apis[kind];
    const namespace = object.metadata?.namespace ?? '';
    const request = { verb: 'create', kind, namespace, name: object.metadata?.name };
    if (api.namespaced && !namespace) return Promise.reject(missingNamespace(request));
    return this.call(request, () =>
      api.create(namespace, object, options.dryRun ? 'All' : undefined),
    );
  }

  get<K extends KubeKind>(kind: K, ref: ObjectRef): Promise<KubeKinds[K]> {
    const api: KindApi<KubeKinds[K]> = this.apis[kind];
    return this.withRef(api, { verb: 'get', kind, ...ref }, (namespace) =>
      api.read(namespace, ref.name),
    );
  }

  async list<K extends KubeKind>(
    kind: K,
    options: ListOptions = {},
  ): Promise<{ items: KubeKinds[K][]; resourceVersion: string }> {
    const api: KindApi<KubeKinds[K]> = this.apis[kind];
    const list = await this.call({ verb: 'list', kind, namespace: options.namespace }, () =>
      api.list(api.namespaced ? options.namespace : undefined, options.labelSelector),
    );
    return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
  }

  async delete(kind: KubeKind, ref: ObjectRef): Promise<void> {
    const api = this.apis[kind];
    await this.withRef(api, { verb: 'delete', kind, ...ref }, (namespace) =>
      api.delete(namespace, ref.name),
    );
  }

  jsonPatch<K extends KubeKind>(
    kind: K,
    ref: ObjectRef,
    ops: readonly JsonPatchOp[],
    options: { resourceVersion?: string } = {},
  ): Promise<KubeKinds[K]> {
    const api: KindApi<KubeKinds[K]> = this.apis[kind];
    const { resourceVersion } = options;
    // Not a `test` op: the apiserver answers a failed test with a bare 422 "Invalid", the same
    // as for a malformed patch. A replaced resourceVersion instead becomes the precondition of
    // the server's update, and a stale one fails as 409 Conflict (checked against kube 1.36).
    const body: JsonPatchOp[] =
      resourceVersion === undefined
        ? [...ops]
        : [{ op: 'replace', path: '/metadata/resourceVersion', value: resourceVersion }, ...ops];
    const headers = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
    const request = { verb: 'patch', kind, ...ref };
    return this.withRef(api, request, (namespace) => api.patch(namespace, ref.name, body, headers));
  }

  mergePatch<K extends KubeKind>(kind: K, ref: ObjectRef, patch: object): Promise<KubeKinds[K]> {
    const api: KindApi<KubeKinds[K]> = this.apis[kind];
    const headers = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    return this.withRef(api, { verb: 'patch', kind, ...ref }, (namespace) =>
      api.patch(namespace, ref.name, patch, headers),
    );
  }

  async streamPodLog(
    ref: ObjectRef,
    container: string,
    into: Writable,
    options: PodLogOptions = {},
  ): Promise<void> {
    const { signal, ...logOptions } = options;
    const request: KubeRequest = { verb: 'log', kind: 'pod', ...ref };
    if (!ref.namespace) throw missingNamespace(request);
    const namespace = ref.namespace;
    // client-node pipes the response into the stream we give it and never reports the end
    // (its `done` callback is never called) nor a broken connection (pipe() does not forward
    // errors). The stream's 'pipe' event hands us the response, whose end we watch ourselves.
    const body = new PassThrough();
    body.once('pipe', (response: Readable) => {
      finished(response).catch((error: unknown) =>
        body.destroy(toError(toKubeError(error, request))),
      );
    });
    let controller: AbortController;
    try {
      controller = await this.limiter.run(
        () =>
          new Log(this.options.kubeConfig).log(namespace, ref.name, container, body, logOptions),
        signal,
      );
    } catch (error) {
      body.destroy();
      throw toKubeError(error, request);
    }
    const onAbort = (): void => {
      controller.abort();
      body.destroy(toError(signal?.reason));
    };
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await pipeline(body, into);
    } catch (error) {
      throw toKubeError(error, request);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      controller.abort();
    }
  }

  listWatch<K extends KubeKind>(kind: K, options: ListOptions = {}): ListWatchSource<KubeKinds[K]> {
    const api: KindApi<KubeKinds[K]> = this.apis[kind];
    const namespace = api.namespaced ? options.namespace : undefined;
    const path = `${api.apiPath}${namespace ? `/namespaces/${namespace}` : ''}/${api.plural}`;
    const request: KubeRequest = { verb: 'watch', kind, namespace };
    return {
      list: () => this.list(kind, { namespace, labelSelector: options.labelSelector }),
      watch: async (resourceVersion, onEvent, signal) => {
        const timeoutSeconds = Math.round(
          (this.options.watchTimeoutSeconds ?? 240) * (1 + Math.random() / 4),
        );
        const params = {
          resourceVersion,
          labelSelector: options.labelSelector,
          allowWatchBookmarks: true,
          timeoutSeconds,
        };
        await this.limiter.take(signal);
        await watchRequest(
          new Watch(this.options.kubeConfig),
          path,
          params,
          onEvent,
          signal,
          request,
        );
      },
    };
  }

  private call<R>(request: KubeRequest, fn: () => Promise<R>): Promise<R> {
    return this.limiter.run(fn).catch((error: unknown) => {
      throw toKubeError(error, request);
    });
  }

  private withRef<R>(
    api: KindApi<unknown>,
    request: KubeRequest,
    fn: (namespace: string) => Promise<R>,
  ): Promise<R> {
    if (api.namespaced && !request.namespace) return Promise.reject(missingNamespace(request));
    return this.call(request, () => fn(request.namespace ?? ''));
  }
}

function missingNamespace(request: KubeRequest): InvalidArgumentError {
  return new InvalidArgumentError(`${request.verb} ${request.kind}: a namespace is required`, [
    { field: 'metadata.namespace', description: 'required for namespaced kinds' },
  ]);
}

function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/**
 * One watch request with client-node's Watch, as a promise: resolves when the server (or
 * client-node's 30 s inactivity timeout on a quiet watch) ends it, rejects on errors and ERROR
 * events (410 → GoneError), and on `signal`.
 */
function watchRequest<T extends KubeObject>(
  watch: Watch,
  path: string,
  params: Record<string, string | number | boolean | undefined>,
  onEvent: (event: WatchEvent<T>) => void,
  signal: AbortSignal,
  request: KubeRequest,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let controller: AbortController | undefined;
    let settled = false;
    const settle = (error?: unknown): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      controller?.abort();
      if (error === undefined) resolve();
      else reject(error);
    };
    const onAbort = (): void => settle(signal.reason ?? new Error('aborted'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    const onLine = (type: string, object: unknown): void => {
      if (settled) return;
      if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') {
        onEvent({ type, object: object as T });
      } else if (type === 'BOOKMARK') {
        const resourceVersion = (object as KubeObject).metadata?.resourceVersion;
        if (resourceVersion) onEvent({ type, resourceVersion });
      } else if (type === 'ERROR') {
        // A Status object: { code: 410, reason: 'Expired', message } and the like.
        const code = (object as { code?: unknown }).code;
        settle(toKubeError({ code: typeof code === 'number' ? code : 500, body: object }, request));
      }
    };
    const onDone = (error: unknown): void => {
      const timedOut = error instanceof Error && error.name === 'TimeoutError';
      settle(error && !timedOut ? toKubeError(error, request) : undefined);
    };
    watch.watch(path, params, onLine, onDone).then(
      (c) => {
        controller = c;
        if (settled) c.abort();
      },
      (error: unknown) => settle(toKubeError(error, request)),
    );
  });
}
