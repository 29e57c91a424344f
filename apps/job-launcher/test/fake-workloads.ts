import { AlreadyExistsError, NotFoundError } from '@wharf/platform';
import type { KubeConfigMap, KubeJob, KubeSecret, ObjectMeta } from '../src/kube/kube-objects';
import type { Workloads } from '../src/kube/workloads';

/** An in-memory apiserver for the objects job-launcher creates. */
export class FakeWorkloads implements Workloads {
  readonly jobs = new Map<string, KubeJob>();
  readonly secrets = new Map<string, KubeSecret>();
  readonly configMaps = new Map<string, KubeConfigMap>();
  readonly calls: string[] = [];
  private uid = 0;
  /** Make the next call of `verb` fail with this error (after `skip` calls of it that pass, default 0). */
  failNext: { verb: string; error: unknown; skip?: number } | undefined;

  private check(verb: string): void {
    this.calls.push(verb);
    if (this.failNext?.verb === verb) {
      const { error, skip = 0 } = this.failNext;
      if (skip > 0) {
        this.failNext = { ...this.failNext, skip: skip - 1 };
        return;
      }
      this.failNext = undefined;
      throw error;
    }
  }

  private static key(meta: ObjectMeta): string {
    return `${meta.namespace}/${meta.name}`;
  }

  async createJob(job: KubeJob): Promise<KubeJob> {
    this.check('createJob');
    const key = FakeWorkloads.key(job.metadata);
    if (this.jobs.has(key)) throw new AlreadyExistsError(`job ${key} exists`);
    const created = structuredClone({ ...job, metadata: { ...job.metadata, uid: `uid-${++this.uid}` } });
    this.jobs.set(key, created);
    return structuredClone(created);
  }

  async getJob(namespace: string, name: string): Promise<KubeJob> {
    this.check('getJob');
    const job = this.jobs.get(`${namespace}/${name}`);
    if (!job) throw new NotFoundError(`job ${namespace}/${name} not found`);
    return structuredClone(job);
  }

  async resumeJob(namespace: string, name: string): Promise<void> {
    this.check('resumeJob');
    const job = this.jobs.get(`${namespace}/${name}`);
    if (!job?.spec) throw new NotFoundError('not found');
    job.spec.suspend = false;
  }

  async annotateJob(namespace: string, name: string, annotations: Record<string, string>): Promise<void> {
    this.check('annotateJob');
    const job = this.jobs.get(`${namespace}/${name}`);
    if (!job) throw new NotFoundError('not found');
    job.metadata.annotations = { ...job.metadata.annotations, ...annotations };
  }

  async deleteJob(namespace: string, name: string): Promise<void> {
    this.check('deleteJob');
    if (!this.jobs.delete(`${namespace}/${name}`)) throw new NotFoundError('not found');
  }

  async createSecret(secret: KubeSecret): Promise<void> {
    this.check('createSecret');
    const key = FakeWorkloads.key(secret.metadata);
    if (this.secrets.has(key)) throw new AlreadyExistsError('exists');
    this.secrets.set(key, structuredClone(secret));
  }

  async getSecretMeta(namespace: string, name: string): Promise<Pick<KubeSecret, 'metadata'>> {
    this.check('getSecretMeta');
    const secret = this.secrets.get(`${namespace}/${name}`);
    if (!secret) throw new NotFoundError('not found');
    return { metadata: structuredClone(secret.metadata) };
  }

  async createConfigMap(configMap: KubeConfigMap): Promise<void> {
    this.check('createConfigMap');
    const key = FakeWorkloads.key(configMap.metadata);
    if (this.configMaps.has(key)) throw new AlreadyExistsError('exists');
    this.configMaps.set(key, structuredClone(configMap));
  }

  async getConfigMapMeta(namespace: string, name: string): Promise<Pick<KubeConfigMap, 'metadata'>> {
    this.check('getConfigMapMeta');
    const configMap = this.configMaps.get(`${namespace}/${name}`);
    if (!configMap) throw new NotFoundError('not found');
    return { metadata: structuredClone(configMap.metadata) };
  }
}
