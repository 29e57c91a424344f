/**
 * The container simulator of Wharf's KWOK test cluster, and the minimal Kubernetes HTTPS client
 * that it and `../kube.ts` share.
 *
 * KWOK fakes the kubelet but runs nothing, so something has to decide what a pod's containers
 * "print". This process watches the pods bound to nodes and, for each new pod, before it starts:
 *
 *  1. renders every container's log from the pod annotation `wharf.dev/sim-log` (default
 *     `simulated <container> of <pod>\n`), substituting `${POD_NAME}`, `${POD_NAMESPACE}`,
 *     `${CONTAINER_NAME}`, `${JOB_COMPLETION_INDEX}` (pod annotation
 *     `batch.kubernetes.io/job-completion-index`) and `${env:NAME}` (the container's env value:
 *     literal, or a simple fieldRef), and writes it in the CRI log format that kwok's kubelet
 *     API reads to `<logDir>/<namespace>/<pod>_<uid>/<container>.log`;
 *  2. server-side applies a kwok `Logs` object (same namespace and name as the pod, owned by it,
 *     so the garbage collector removes it with the pod) naming those files, and waits until
 *     kwok's kubelet API serves them;
 *  3. annotates the pod `wharf.dev/sim-ready: "true"` and `wharf.dev/sim-attempt: "<n>"` (failed
 *     pods of the same Job and completion index seen before it): the `wharf-pod-start` stage waits
 *     for the first, the `wharf-pod-complete` stage reads the second (see stages.yaml).
 *
 * So a pod's logs exist before it runs, and `GET /api/v1/namespaces/NS/pods/P/log` (apiserver ->
 * kwok's kubelet API -> the file) returns exactly the rendered text.
 *
 * The file runs as its own process (so it outlives a detached `startKube` caller and can be
 * killed like the other components): `kube.ts` copies it to `<workDir>/container-sim.mts` and
 * starts it with `node` (Node >= 22.18 strips the types), passing its configuration as JSON in
 * `WHARF_CONTAINER_SIM_CONFIG`. Hence: node builtins only, no relative imports, erasable
 * TypeScript only (no enums, namespaces or parameter properties; `import type` for types).
 * Imported as a module (by kube.ts) it only defines things.
 */
import { Agent, request } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

// ---------------------------------------------------------------------------------------------
// Kubernetes HTTPS client
// ---------------------------------------------------------------------------------------------

/** Where and as whom to reach the apiserver: PEM contents, not paths. */
export interface KubeClientOptions {
  /** `https://127.0.0.1:PORT` */
  readonly server: string;
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** A non-2xx answer of the apiserver. */
export class KubeApiError extends Error {
  readonly status: number;
  readonly body: string;

  constructor(method: string, path: string, status: number, body: string) {
    super(`${method} ${path}: HTTP ${status}: ${body.slice(0, 500)}`);
    this.name = 'KubeApiError';
    this.status = status;
    this.body = body;
  }
}

export interface KubeResponse {
  readonly status: number;
  readonly body: string;
}

/** One line of a watch stream. */
export interface WatchEvent<T> {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  readonly object: T;
}

/** Just enough of a Kubernetes HTTPS client for the harness: TLS with a client certificate. */
export class KubeClient {
  private readonly server: URL;
  private readonly agent: Agent;

  constructor(options: KubeClientOptions) {
    this.server = new URL(options.server);
    this.agent = new Agent({
      ca: options.ca,
      cert: options.cert,
      key: options.key,
      keepAlive: true,
      maxSockets: 16,
    });
  }

  /**
   * One request; any status is returned, transport errors throw. A non-string body is sent
   * as JSON unless `contentType` says otherwise.
   */
  request(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
    timeoutMs = 30_000,
  ): Promise<KubeResponse> {
    const payload =
      body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.server.hostname,
          port: this.server.port,
          method,
          path,
          agent: this.agent,
          headers: {
            // '*/*' too: kwok's kubelet API (go-restful) answers 406 to logs requests accepting only JSON.
            accept: 'application/json, */*',
            ...(payload === undefined
              ? {}
              : { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', reject);
        },
      );
      req.setTimeout(timeoutMs, () =>
        req.destroy(new Error(`${method} ${path}: no answer in ${timeoutMs} ms`)),
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Like {@link request}, parsing the JSON answer; throws {@link KubeApiError} unless 2xx. */
  async json<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const res = await this.request(method, path, body, contentType);
    if (res.status < 200 || res.status > 299)
      throw new KubeApiError(method, path, res.status, res.body);
    return JSON.parse(res.body) as T;
  }

  /**
   * Streams a watch (`path` must carry `watch=1`), calling `onEvent` per event, until the server
   * ends it, `signal` aborts, or nothing arrives for `idleTimeoutMs` (a stalled apiserver).
   * Resolves when the stream ends; rejects on a non-200 answer or a transport error.
   */
  watch<T>(
    path: string,
    onEvent: (event: WatchEvent<T>) => void,
    signal?: AbortSignal,
    idleTimeoutMs = 90_000,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.server.hostname,
          port: this.server.port,
          method: 'GET',
          path,
          agent: this.agent,
          signal,
          headers: { accept: 'application/json' },
        },
        (res: IncomingMessage) => {
          if (res.statusCode !== 200) {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () =>
              reject(
                new KubeApiError(
                  'GET',
                  path,
                  res.statusCode ?? 0,
                  Buffer.concat(chunks).toString('utf8'),
                ),
              ),
            );
            return;
          }
          let buffered = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            buffered += chunk;
            let newline = buffered.indexOf('\n');
            while (newline >= 0) {
              const line = buffered.slice(0, newline).trim();
              buffered = buffered.slice(newline + 1);
              if (line !== '') onEvent(JSON.parse(line) as WatchEvent<T>);
              newline = buffered.indexOf('\n');
            }
          });
          res.on('end', () => resolve());
          res.on('error', reject);
          res.on('close', () => resolve());
        },
      );
      req.setTimeout(idleTimeoutMs, () =>
        req.destroy(new Error(`watch ${path}: idle for ${idleTimeoutMs} ms`)),
      );
      req.on('error', reject);
      req.end();
    });
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.agent.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// The simulator
// ---------------------------------------------------------------------------------------------

/** JSON in the `WHARF_CONTAINER_SIM_CONFIG` environment variable. */
export interface ContainerSimConfig {
  readonly server: string;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** kwok's kubelet API, `https://127.0.0.1:PORT` (its certificate chains to caFile). */
  readonly kubeletServer: string;
  /** Root of the per-pod log files. */
  readonly logDir: string;
  /** Written with the process id once the first pod list succeeded (the readiness signal). */
  readonly readyFile: string;
}

export const CONTAINER_SIM_CONFIG_ENV = 'WHARF_CONTAINER_SIM_CONFIG';

/** Pod annotations of the simulation; see README.md beside this file. */
export const SimAnnotations = {
  log: 'wharf.dev/sim-log',
  exitCode: 'wharf.dev/sim-exit-code',
  failIndexes: 'wharf.dev/sim-fail-indexes',
  failAttempts: 'wharf.dev/sim-fail-attempts',
  durationMs: 'wharf.dev/sim-duration-ms',
  /** Written by the simulator: logs are in place, the pod may start. */
  ready: 'wharf.dev/sim-ready',
  /** Written by the simulator: earlier failed pods of the same Job (and completion index). */
  attempt: 'wharf.dev/sim-attempt',
} as const;

const COMPLETION_INDEX = 'batch.kubernetes.io/job-completion-index';
const INDEX_FAILURE_COUNT = 'batch.kubernetes.io/job-index-failure-count';
const JOB_UID_LABEL = 'batch.kubernetes.io/controller-uid';
const FIELD_MANAGER = 'wharf-container-sim';
/** How long a pod is held for kwok to serve its logs before it starts without them. */
const KUBELET_LOGS_WAIT_MS = 90_000;

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath?: string } };
}

interface Container {
  name: string;
  env?: EnvVar[];
  volumeMounts?: { name: string; mountPath: string; subPath?: string; subPathExpr?: string }[];
}

interface Volume {
  name: string;
  configMap?: { name: string };
  projected?: { sources?: { configMap?: { name: string } }[] };
}

interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface Pod {
  metadata: ObjectMeta;
  spec: {
    nodeName?: string;
    serviceAccountName?: string;
    containers: Container[];
    initContainers?: Container[];
    volumes?: Volume[];
  };
  status?: { phase?: string };
}

interface PodList {
  metadata: { resourceVersion: string };
  items: Pod[];
}

/** The value of a container's env var as far as it can be known without a kubelet. */
function envValue(pod: Pod, container: Container, name: string): string {
  const env = container.env?.find((e) => e.name === name);
  if (env === undefined) return '';
  if (env.value !== undefined) return env.value;
  const fieldPath = env.valueFrom?.fieldRef?.fieldPath ?? '';
  const mapKey = /^metadata\.(annotations|labels)\['(.+)'\]$/.exec(fieldPath);
  if (mapKey) {
    const map = mapKey[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations;
    return map?.[mapKey[2] ?? ''] ?? '';
  }
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata.name;
    case 'metadata.namespace':
      return pod.metadata.namespace;
    case 'metadata.uid':
      return pod.metadata.uid;
    case 'spec.nodeName':
      return pod.spec.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec.serviceAccountName ?? '';
    default:
      return '';
  }
}

const FILE_PLACEHOLDER = /\$\{file:([^}]+)\}/g;

/**
 * Where the container would find `path` when it is a file of a ConfigMap volume, or of a
 * projected volume of ConfigMaps: the ConfigMaps (in source order; the kubelet lets a later
 * source's key win) and the key, with `subPathExpr`'s `$(VAR)` expanded from the container's
 * env exactly as the kubelet does. Undefined for anything else.
 */
export function configMapFileOf(pod: Pod, container: Container, path: string): { configMaps: string[]; key: string } | undefined {
  for (const mount of container.volumeMounts ?? []) {
    const volume = pod.spec.volumes?.find((v) => v.name === mount.name);
    const configMaps = volume?.configMap
      ? [volume.configMap.name]
      : (volume?.projected?.sources ?? []).flatMap((source) => (source.configMap ? [source.configMap.name] : []));
    if (configMaps.length === 0) continue;
    const subPath = mount.subPathExpr
      ? mount.subPathExpr.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (_w, name: string) => envValue(pod, container, name))
      : mount.subPath;
    if (subPath && mount.mountPath === path) return { configMaps, key: subPath };
    if (!subPath && path.startsWith(`${mount.mountPath.replace(/\/$/, '')}/`)) {
      return { configMaps, key: path.slice(mount.mountPath.replace(/\/$/, '').length + 1) };
    }
  }
  return undefined;
}

/** The `${file:PATH}` placeholders of a container's log template. */
export function filePlaceholders(pod: Pod): string[] {
  const template = pod.metadata.annotations?.[SimAnnotations.log] ?? '';
  return [...template.matchAll(FILE_PLACEHOLDER)].map((m) => m[1] ?? '');
}

/**
 * The text a container "prints": `wharf.dev/sim-log` with its placeholders filled in.
 * `files` holds what `${file:PATH}` reads (resolved beforehand from ConfigMap volumes).
 */
export function renderContainerLog(pod: Pod, container: Container, files: Readonly<Record<string, string>> = {}): string {
  const template =
    pod.metadata.annotations?.[SimAnnotations.log] ??
    'simulated ${CONTAINER_NAME} of ${POD_NAME}\n';
  return template.replace(FILE_PLACEHOLDER, (_whole, path: string) => files[path] ?? '').replace(
    /\$\{(env:)?([A-Za-z_][A-Za-z0-9_.-]*)\}/g,
    (whole, env: string | undefined, name: string) => {
      if (env) return envValue(pod, container, name);
      switch (name) {
        case 'POD_NAME':
          return pod.metadata.name;
        case 'POD_NAMESPACE':
          return pod.metadata.namespace;
        case 'CONTAINER_NAME':
          return container.name;
        case 'JOB_COMPLETION_INDEX':
          return pod.metadata.annotations?.[COMPLETION_INDEX] ?? '';
        default:
          return whole;
      }
    },
  );
}

/** Text in the CRI log format (`<RFC3339Nano> stdout F <line>`) that kwok's kubelet API serves. */
export function toCriLog(text: string, time = new Date()): string {
  if (text === '') return '';
  const timestamp = time.toISOString();
  const lines = text.split('\n');
  const last = lines.pop() ?? '';
  // Full lines end with "F"; a trailing line without its newline is a partial ("P") one, which
  // the reader prints without adding a newline, so the text round-trips exactly.
  const out = lines.map((line) => `${timestamp} stdout F ${line}\n`);
  if (last !== '') out.push(`${timestamp} stdout P ${last}\n`);
  return out.join('');
}

function podLogDir(config: ContainerSimConfig, pod: Pod): string {
  return join(config.logDir, pod.metadata.namespace, `${pod.metadata.name}_${pod.metadata.uid}`);
}

class ContainerSimulator {
  private readonly config: ContainerSimConfig;
  private readonly client: KubeClient;
  private readonly kubelet: KubeClient;
  /** Pod uids being prepared or prepared; a later event of the same pod is ignored. */
  private readonly seen = new Set<string>();
  private readonly queue: Pod[] = [];
  private workers = 0;

  constructor(config: ContainerSimConfig, client: KubeClient, kubelet: KubeClient) {
    this.config = config;
    this.client = client;
    this.kubelet = kubelet;
  }

  /** List, then watch, forever; relists after any break (apiserver restarts included). */
  async run(): Promise<never> {
    let ready = false;
    let backoffMs = 100;
    const selector = `fieldSelector=${encodeURIComponent('spec.nodeName!=')}`;
    for (;;) {
      try {
        const list = await this.client.json<PodList>('GET', `/api/v1/pods?${selector}`);
        const live = new Set(list.items.map((pod) => pod.metadata.uid));
        for (const uid of this.seen) if (!live.has(uid)) this.seen.delete(uid);
        for (const pod of list.items) this.observe(pod);
        if (!ready) {
          await writeFile(this.config.readyFile, String(process.pid));
          ready = true;
          log(`ready: ${list.items.length} pods bound to nodes`);
        }
        let resourceVersion = list.metadata.resourceVersion;
        backoffMs = 100;
        for (;;) {
          let expired = false;
          await this.client.watch<Pod | { code?: number; message?: string }>(
            `/api/v1/pods?watch=1&allowWatchBookmarks=true&timeoutSeconds=300&${selector}` +
              `&resourceVersion=${encodeURIComponent(resourceVersion)}`,
            (event) => {
              if (event.type === 'ERROR') {
                expired = true; // 410 Gone and friends: relist
                return;
              }
              const pod = event.object as Pod;
              if (pod.metadata.resourceVersion) resourceVersion = pod.metadata.resourceVersion;
              if (event.type === 'DELETED') this.forget(pod);
              else if (event.type !== 'BOOKMARK') this.observe(pod);
            },
          );
          if (expired) break;
        }
      } catch (error) {
        log(`list/watch failed, retrying in ${backoffMs} ms: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, backoffMs));
        backoffMs = Math.min(backoffMs * 2, 2_000);
      }
    }
  }

  private observe(pod: Pod): void {
    const { uid, deletionTimestamp, annotations } = pod.metadata;
    if (deletionTimestamp || annotations?.[SimAnnotations.ready] === 'true' || this.seen.has(uid))
      return;
    this.seen.add(uid);
    this.queue.push(pod);
    // A few pods at a time: each costs two or three API calls.
    // Pods are prepared concurrently: one slow pod (see awaitKubeletLogs) must not hold up the
    // rest of a large Job.
    while (this.workers < 32 && this.queue.length > 0) {
      this.workers++;
      void this.drain().finally(() => this.workers--);
    }
  }

  private async drain(): Promise<void> {
    for (let pod = this.queue.shift(); pod !== undefined; pod = this.queue.shift()) {
      try {
        await this.prepare(pod);
      } catch (error) {
        const status = error instanceof KubeApiError ? error.status : 0;
        if (status === 404 || status === 409 || status === 422) {
          // The pod is gone, or was replaced by a namesake: its own events will follow.
          log(
            `skipped ${pod.metadata.namespace}/${pod.metadata.name}: ${(error as Error).message}`,
          );
        } else {
          log(
            `failed to prepare ${pod.metadata.namespace}/${pod.metadata.name}, will retry: ${(error as Error).message}`,
          );
          this.seen.delete(pod.metadata.uid);
          setTimeout(() => this.observe(pod), 500);
        }
      }
    }
  }

  /** Logs first, then the annotation that lets the pod start. */
  private async prepare(pod: Pod): Promise<void> {
    const { namespace, name, uid } = pod.metadata;
    const dir = podLogDir(this.config, pod);
    await mkdir(dir, { recursive: true });
    const containers = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
    const logs: { containers: string[]; logsFile: string }[] = [];
    for (const container of containers) {
      const file = join(dir, `${container.name}.log`);
      const files: Record<string, string> = {};
      for (const path of filePlaceholders(pod)) {
        const source = configMapFileOf(pod, container, path);
        if (!source) continue;
        files[path] = '';
        for (const name of source.configMaps) {
          const configMap = await this.client.json<{ data?: Record<string, string> }>(
            'GET',
            `/api/v1/namespaces/${namespace}/configmaps/${name}`,
          );
          const value = configMap.data?.[source.key];
          if (value !== undefined) files[path] = value;
        }
      }
      await writeFile(file, toCriLog(renderContainerLog(pod, container, files)));
      logs.push({ containers: [container.name], logsFile: file });
    }
    await this.client.json(
      'PATCH',
      `/apis/kwok.x-k8s.io/v1alpha1/namespaces/${namespace}/logs/${name}?fieldManager=${FIELD_MANAGER}&force=true`,
      {
        apiVersion: 'kwok.x-k8s.io/v1alpha1',
        kind: 'Logs',
        metadata: {
          name,
          namespace,
          ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name, uid }],
        },
        spec: { logs },
      },
      'application/apply-patch+yaml',
    );
    await this.awaitKubeletLogs(pod, containers[0]?.name);
    const attempt = await this.attempt(pod);
    await this.client.json(
      'PATCH',
      `/api/v1/namespaces/${namespace}/pods/${name}`,
      // The uid makes the patch fail (409/422) rather than touch a namesake of this pod.
      {
        metadata: {
          uid,
          annotations: {
            [SimAnnotations.ready]: 'true',
            [SimAnnotations.attempt]: String(attempt),
          },
        },
      },
      'application/merge-patch+json',
    );
  }

  /**
   * Waits until kwok's kubelet API serves the pod's logs, i.e. kwok's informer has the Logs
   * object. It usually has it at once, but after an apiserver restart kwok's watches come back
   * with a backoff of seconds, and a pod that ran in that window would have no logs.
   */
  private async awaitKubeletLogs(pod: Pod, container: string | undefined): Promise<void> {
    if (container === undefined) return;
    const { namespace, name } = pod.metadata;
    const path = `/containerLogs/${namespace}/${name}/${container}?limitBytes=1`;
    // Bounded, but generously: right after a suite that made thousands of pods (the kill -9
    // tests) kwok's informers can lag for seconds, and a pod started before kwok serves its log
    // has none: kwok answers 400, which job-launcher rightly takes as "output unavailable", so a
    // workflow whose next task reads this output fails. Waiting costs only that pod's start.
    const started = Date.now();
    let warned = false;
    for (let delayMs = 20; ; delayMs = Math.min(delayMs * 2, 500)) {
      const res = await this.kubelet
        .request('GET', path, undefined, undefined, 5_000)
        .catch(() => undefined);
      if (res?.status === 200) {
        if (warned) log(`kwok serves the logs of ${namespace}/${name} after ${Date.now() - started} ms`);
        return;
      }
      const waited = Date.now() - started;
      if (waited > KUBELET_LOGS_WAIT_MS) {
        log(`kwok still serves no logs for ${namespace}/${name} after ${waited} ms; starting it anyway`);
        return;
      }
      if (!warned && waited > 5_000) {
        warned = true;
        log(`kwok serves no logs for ${namespace}/${name} yet (${waited} ms); holding the pod`);
      }
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }

  /** Failed pods of the same Job (and completion index) that this pod follows. */
  private async attempt(pod: Pod): Promise<number> {
    const annotations = pod.metadata.annotations ?? {};
    const jobUid = pod.metadata.labels?.[JOB_UID_LABEL];
    // Only needed by wharf.dev/sim-fail-attempts, and only when the Job controller's own
    // per-index failure count is absent.
    if (
      annotations[SimAnnotations.failAttempts] === undefined ||
      annotations[INDEX_FAILURE_COUNT] !== undefined
    )
      return 0;
    if (jobUid === undefined) return 0;
    const siblings = await this.client.json<PodList>(
      'GET',
      `/api/v1/namespaces/${pod.metadata.namespace}/pods?labelSelector=${encodeURIComponent(`${JOB_UID_LABEL}=${jobUid}`)}`,
    );
    const index = annotations[COMPLETION_INDEX];
    return siblings.items.filter(
      (p) =>
        p.metadata.uid !== pod.metadata.uid &&
        p.status?.phase === 'Failed' &&
        p.metadata.annotations?.[COMPLETION_INDEX] === index,
    ).length;
  }

  private forget(pod: Pod): void {
    this.seen.delete(pod.metadata.uid);
    void rm(podLogDir(this.config, pod), { recursive: true, force: true });
  }
}

function log(message: string): void {
  process.stdout.write(`${new Date().toISOString()} ${message}\n`);
}

async function main(rawConfig: string): Promise<void> {
  const config = JSON.parse(rawConfig) as ContainerSimConfig;
  const [ca, cert, key] = await Promise.all([
    readFile(config.caFile, 'utf8'),
    readFile(config.certFile, 'utf8'),
    readFile(config.keyFile, 'utf8'),
  ]);
  const client = new KubeClient({ server: config.server, ca, cert, key });
  const kubelet = new KubeClient({ server: config.kubeletServer, ca, cert, key });
  await new ContainerSimulator(config, client, kubelet).run();
}

// Runs only as the simulator process (see the top of this file), never when imported.
const simConfig = process.env[CONTAINER_SIM_CONFIG_ENV];
if (simConfig !== undefined) {
  main(simConfig).catch((error: unknown) => {
    log(`fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  });
}
