import type { KubeClient, V1ConfigMap, V1Job, V1Secret } from '@wharf/platform';
import type { KubeConfigMap, KubeJob, KubeSecret } from './kube-objects';

/**
 * The Kubernetes operations job-launcher performs, in its own types. Faked in unit tests;
 * {@link KubeWorkloads} implements it over the platform's rate-limited KubeClient. Errors are
 * the platform's (AlreadyExistsError on 409, NotFoundError on 404, UnavailableError…).
 */
export interface Workloads {
  createJob(job: KubeJob): Promise<KubeJob>;
  getJob(namespace: string, name: string): Promise<KubeJob>;
  /** Sets spec.suspend=false. */
  resumeJob(namespace: string, name: string): Promise<void>;
  /** Merges annotations into the Job's metadata. */
  annotateJob(namespace: string, name: string, annotations: Record<string, string>): Promise<void>;
  /** Background propagation: pods and owned objects go after the Job (its finalizers permitting). */
  deleteJob(namespace: string, name: string): Promise<void>;
  createSecret(secret: KubeSecret): Promise<void>;
  /** Metadata only is read back; values never leave the apiserver twice. */
  getSecretMeta(namespace: string, name: string): Promise<Pick<KubeSecret, 'metadata'>>;
  createConfigMap(configMap: KubeConfigMap): Promise<void>;
  getConfigMapMeta(namespace: string, name: string): Promise<Pick<KubeConfigMap, 'metadata'>>;
}

/*
 * Our shapes are a structural subset of client-node's; the casts below are the one place the
 * two meet (client-node types dates as Date, ours accept both).
 */
export class KubeWorkloads implements Workloads {
  constructor(private readonly kube: KubeClient) {}

  async createJob(job: KubeJob): Promise<KubeJob> {
    return (await this.kube.create('job', job as unknown as V1Job)) as unknown as KubeJob;
  }

  async getJob(namespace: string, name: string): Promise<KubeJob> {
    return (await this.kube.get('job', { namespace, name })) as unknown as KubeJob;
  }

  async resumeJob(namespace: string, name: string): Promise<void> {
    await this.kube.mergePatch('job', { namespace, name }, { spec: { suspend: false } });
  }

  async annotateJob(namespace: string, name: string, annotations: Record<string, string>): Promise<void> {
    await this.kube.mergePatch('job', { namespace, name }, { metadata: { annotations } });
  }

  async deleteJob(namespace: string, name: string): Promise<void> {
    await this.kube.delete('job', { namespace, name });
  }

  async createSecret(secret: KubeSecret): Promise<void> {
    await this.kube.create('secret', secret as unknown as V1Secret);
  }

  async getSecretMeta(namespace: string, name: string): Promise<Pick<KubeSecret, 'metadata'>> {
    const secret = await this.kube.get('secret', { namespace, name });
    return { metadata: (secret.metadata ?? {}) as KubeSecret['metadata'] };
  }

  async createConfigMap(configMap: KubeConfigMap): Promise<void> {
    await this.kube.create('configMap', configMap as unknown as V1ConfigMap);
  }

  async getConfigMapMeta(namespace: string, name: string): Promise<Pick<KubeConfigMap, 'metadata'>> {
    const configMap = await this.kube.get('configMap', { namespace, name });
    return { metadata: (configMap.metadata ?? {}) as KubeConfigMap['metadata'] };
  }
}
