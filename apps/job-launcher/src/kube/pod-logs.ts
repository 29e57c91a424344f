import { StringDecoder } from 'node:string_decoder';
import { Writable } from 'node:stream';
import type { KubeClient } from '@wharf/platform';
import type { KubePod } from './kube-objects';

/**
 * What job-launcher reads of its pods besides the informers' cache: a container's log (task
 * outputs, docs/adr/0007-task-outputs.md) and, when the cache has not seen a pod the Job
 * controller already counted, the Job's pods straight from the apiserver. Faked in unit tests;
 * {@link KubePodLogs} implements it over the platform's rate-limited KubeClient.
 */
export interface PodLogs {
  /**
   * Streams the whole log of a container (not followed), handing `onText` the decoded UTF-8
   * text chunk by chunk, in order. Thrown: NotFoundError when the pod is gone,
   * InvalidArgumentError when the container is not in it, UnavailableError… otherwise; the
   * abort reason when `signal` aborts.
   */
  streamLog(namespace: string, pod: string, container: string, onText: (text: string) => void, signal?: AbortSignal): Promise<void>;
  /** The pods of the Job with this uid (label `batch.kubernetes.io/controller-uid`), as the apiserver has them now. */
  listJobPods(namespace: string, jobUid: string): Promise<KubePod[]>;
}

export class KubePodLogs implements PodLogs {
  constructor(private readonly kube: Pick<KubeClient, 'streamPodLog' | 'list'>) {}

  async streamLog(namespace: string, pod: string, container: string, onText: (text: string) => void, signal?: AbortSignal): Promise<void> {
    // A multi-byte character may straddle two chunks: the decoder keeps its first bytes.
    const decoder = new StringDecoder('utf8');
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        try {
          onText(decoder.write(chunk));
          callback();
        } catch (error) {
          callback(error as Error);
        }
      },
      final(callback) {
        try {
          const rest = decoder.end();
          if (rest) onText(rest);
          callback();
        } catch (error) {
          callback(error as Error);
        }
      },
    });
    await this.kube.streamPodLog({ namespace, name: pod }, container, sink, { signal });
  }

  async listJobPods(namespace: string, jobUid: string): Promise<KubePod[]> {
    const { items } = await this.kube.list('pod', { namespace, labelSelector: `batch.kubernetes.io/controller-uid=${jobUid}` });
    // KubePod is a structural subset of client-node's V1Pod.
    return items as unknown as KubePod[];
  }
}
