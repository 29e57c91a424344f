import { Readable } from 'node:stream';
import { ArchiveFinalizer, KubeLabels, type Observation } from '@wharf/contracts';
import type { JobLike, PodLike } from '../src/kube/kube-objects';
import { LogReadError, type FinalizerRemoval, type JobsPort, type ObservationSink, type PodsPort, type SecretsPort } from '../src/kube/kube-ports';

/** One ordered record of every side effect, so tests can assert the order of steps. */
export type Effect =
  | { kind: 'publish'; observation: Observation }
  | { kind: 'removeFinalizer'; annotations: Record<string, string> }
  | { kind: 'delete'; name: string };

/** An in-memory Kubernetes for the archiver's ports: Jobs, their pods and logs, Secrets. */
export class FakeKube implements JobsPort, PodsPort, SecretsPort, ObservationSink {
  readonly effects: Effect[] = [];
  readonly jobs = new Map<string, JobLike>();
  readonly pods: PodLike[] = [];
  readonly logs = new Map<string, string | LogReadError>();
  readonly secrets = new Map<string, string[]>();
  private rv = 100;
  /** Make the next N removeFinalizer calls conflict (another writer touched the Job). */
  conflicts = 0;
  publishFailures = 0;
  logOpens = 0;

  addJob(job: JobLike): JobLike {
    const stored = { ...job, metadata: { ...job.metadata, resourceVersion: String(this.rv++) } };
    this.jobs.set(`${stored.metadata.namespace}/${stored.metadata.name}`, stored);
    return stored;
  }

  async get(namespace: string, name: string): Promise<JobLike | undefined> {
    return structuredClone(this.jobs.get(`${namespace}/${name}`));
  }

  async removeFinalizer(job: JobLike, finalizer: string, annotations: Readonly<Record<string, string>>): Promise<FinalizerRemoval> {
    const key = `${job.metadata?.namespace}/${job.metadata?.name}`;
    const current = this.jobs.get(key);
    if (!current) return 'gone';
    if (this.conflicts > 0) {
      this.conflicts--;
      current.metadata = { ...current.metadata, resourceVersion: String(this.rv++) };
      return 'conflict';
    }
    if (current.metadata?.resourceVersion !== job.metadata?.resourceVersion) return 'conflict';
    const meta = current.metadata ?? {};
    const finalizers = (meta.finalizers ?? []).filter((f) => f !== finalizer);
    this.effects.push({ kind: 'removeFinalizer', annotations: { ...annotations } });
    if (finalizers.length === 0 && meta.deletionTimestamp !== undefined) {
      this.jobs.delete(key);
      return 'removed';
    }
    current.metadata = {
      ...meta,
      finalizers,
      annotations: { ...meta.annotations, ...annotations },
      resourceVersion: String(this.rv++),
    };
    return 'removed';
  }

  async delete(namespace: string, name: string): Promise<void> {
    this.effects.push({ kind: 'delete', name });
    const key = `${namespace}/${name}`;
    const current = this.jobs.get(key);
    if (!current) return;
    if ((current.metadata?.finalizers ?? []).length > 0) {
      current.metadata = { ...current.metadata, deletionTimestamp: new Date().toISOString(), resourceVersion: String(this.rv++) };
    } else {
      this.jobs.delete(key);
    }
  }

  async listForJob(namespace: string, _jobName: string, jobUid: string): Promise<PodLike[]> {
    return this.pods.filter((p) => p.metadata?.namespace === namespace && p.metadata.labels?.['controller-uid'] === jobUid);
  }

  async openLog(_namespace: string, pod: string, container: string, previous: boolean): Promise<Readable> {
    this.logOpens++;
    const log = this.logs.get(`${pod}/${container}${previous ? '/previous' : ''}`);
    if (log === undefined) throw new LogReadError('pod not found', 'PodGone', true);
    if (log instanceof LogReadError) throw log;
    const data = Buffer.from(log);
    // Small chunks, so values straddle chunk boundaries.
    const chunks: Buffer[] = [];
    for (let at = 0; at < data.length; at += 5) chunks.push(data.subarray(at, at + 5));
    return Readable.from(chunks);
  }

  async values(namespace: string, name: string): Promise<string[] | undefined> {
    return this.secrets.get(`${namespace}/${name}`);
  }

  async publish(observation: Observation): Promise<void> {
    if (this.publishFailures > 0) {
      this.publishFailures--;
      throw new Error('kafka unavailable');
    }
    this.effects.push({ kind: 'publish', observation });
  }
}

export interface JobFixture {
  name?: string;
  namespace?: string;
  uid?: string;
  jobId?: string;
  run?: number;
  completions?: number;
  initContainers?: string[];
  finished?: 'Complete' | 'Failed' | undefined;
  deleting?: boolean;
  usesSecret?: boolean;
}

export function jobFixture(f: JobFixture = {}): JobLike {
  const name = f.name ?? 'w-train-r1-abcdef12';
  return {
    metadata: {
      name,
      namespace: f.namespace ?? 'team-a',
      uid: f.uid ?? 'uid-1',
      labels: { [KubeLabels.managedBy]: 'wharf', [KubeLabels.jobId]: f.jobId ?? 'train-0123456789abcdef', [KubeLabels.run]: String(f.run ?? 1) },
      annotations: { 'wharf.dev/tenant': 'acme' },
      finalizers: [ArchiveFinalizer],
      ...(f.deleting ? { deletionTimestamp: '2026-11-21T00:00:10Z' } : {}),
      creationTimestamp: '2026-11-21T00:00:00Z',
    },
    spec: {
      completionMode: 'Indexed',
      completions: f.completions ?? 3,
      template: {
        spec: {
          initContainers: (f.initContainers ?? []).map((n) => ({ name: n })),
          containers: [
            {
              name: 'main',
              ...(f.usesSecret ? { env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: `${name}-secrets`, key: 'token' } } }] } : {}),
            },
          ],
        },
      },
    },
    status: f.finished
      ? { conditions: [{ type: f.finished, status: 'True', lastTransitionTime: '2026-11-21T00:00:05Z' }] }
      : {},
  };
}

export function podFixture(
  job: JobLike,
  index: number,
  opts: { suffix?: string; init?: string[]; state?: 'terminated' | 'running' | 'waiting'; restarts?: number } = {},
): PodLike {
  const state = opts.state ?? 'terminated';
  const status = (name: string) => ({
    name,
    restartCount: opts.restarts ?? 0,
    state: state === 'terminated' ? { terminated: { exitCode: 0 } } : state === 'running' ? { running: {} } : { waiting: { reason: 'ContainerCreating' } },
    ...(opts.restarts ? { lastState: { terminated: { exitCode: 1 } } } : {}),
  });
  return {
    metadata: {
      name: `${job.metadata?.name}-${index}-${opts.suffix ?? 'aaaaa'}`,
      namespace: job.metadata?.namespace ?? '',
      uid: `pod-uid-${index}-${opts.suffix ?? 'aaaaa'}`,
      labels: { 'controller-uid': job.metadata?.uid ?? '' },
      annotations: { 'batch.kubernetes.io/job-completion-index': String(index) },
    },
    spec: { initContainers: (opts.init ?? []).map((n) => ({ name: n })), containers: [{ name: 'main' }] },
    status: {
      phase: state === 'terminated' ? 'Succeeded' : state === 'running' ? 'Running' : 'Pending',
      initContainerStatuses: (opts.init ?? []).map((n) => ({ name: n, restartCount: 0, state: { terminated: { exitCode: 0 } } })),
      containerStatuses: [status('main')],
    },
  };
}
