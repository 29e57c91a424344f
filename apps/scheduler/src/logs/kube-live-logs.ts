import { KubeLabels } from '@wharf/contracts';
import { isNotFound, type KubeClient, type V1Pod } from '@wharf/platform';
import { Writable } from 'node:stream';
import type { LiveLogRequest, LiveLogs, LogPiece } from '../api/log-ports';

const completionIndexAnnotation = 'batch.kubernetes.io/job-completion-index';

/** The pod of `index` to read: the newest (a retried index has several). */
export function pickPod(pods: readonly V1Pod[], index: number): V1Pod | undefined {
  return pods
    .filter((p) => Number(p.metadata?.annotations?.[completionIndexAnnotation] ?? '0') === index)
    .sort((a, b) => new Date(b.metadata?.creationTimestamp ?? 0).getTime() - new Date(a.metadata?.creationTimestamp ?? 0).getTime())[0];
}

/** Live logs through the platform Kubernetes port: find the run's pod by labels, stream its log. */
export class KubeLiveLogs implements LiveLogs {
  constructor(private readonly kube: Pick<KubeClient, 'list' | 'streamPodLog'>) {}

  async stream(request: LiveLogRequest, write: (piece: LogPiece) => Promise<void>): Promise<boolean> {
    const selector = `${KubeLabels.managedBy}=${KubeLabels.managedByValue},${KubeLabels.jobId}=${request.jobId},${KubeLabels.run}=${request.run}`;
    const { items } = await this.kube.list('pod', { namespace: request.namespace, labelSelector: selector });
    const pod = pickPod(items, request.index);
    const name = pod?.metadata?.name;
    if (!pod || !name) return false;
    const container = request.container || 'main';
    const sink = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        write({ pod: name, container, index: request.index, data: Buffer.from(chunk) }).then(() => callback(), callback);
      },
    });
    try {
      await this.kube.streamPodLog({ namespace: request.namespace, name }, container, sink, {
        follow: request.follow,
        signal: request.signal,
      });
    } catch (error) {
      if (isNotFound(error)) return false;
      if (request.signal.aborted) return true;
      throw error;
    }
    return true;
  }
}
