import { KubeConfig } from '@kubernetes/client-node';

export type { KubeConfig } from '@kubernetes/client-node';

export interface KubeConfigOptions {
  /** A kubeconfig file (tests, local runs). Wins over `inCluster`. */
  readonly kubeconfigPath?: string;
  /** Use the pod's service account (token, CA and KUBERNETES_SERVICE_HOST/PORT). */
  readonly inCluster?: boolean;
}

/**
 * Loads credentials for the apiserver: a file, the in-cluster service account, or else
 * client-node's default search ($KUBECONFIG, ~/.kube/config, in-cluster) — the one place
 * where the library, not our config, reads the environment.
 */
export function loadKubeConfig(options: KubeConfigOptions = {}): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (options.kubeconfigPath) kubeConfig.loadFromFile(options.kubeconfigPath);
  else if (options.inCluster) kubeConfig.loadFromCluster();
  else kubeConfig.loadFromDefault();
  reuseConnections(kubeConfig);
  return kubeConfig;
}

type CreateDispatcher = (cluster: unknown, agentOptions: unknown) => unknown;

/**
 * Makes every request of `kubeConfig` share one connection pool. client-node 2.0 builds a new
 * undici Agent for each request (in applySecurityAuthentication), so each request opened its
 * own TLS connection: a handshake per Job created, on our side and on the apiserver's. The
 * pool is replaced when the TLS options change (the CA, client certificate or key files are
 * read again for each request, so a rotated certificate still takes effect).
 */
export function reuseConnections(kubeConfig: KubeConfig): void {
  const internals = kubeConfig as unknown as { createDispatcher?: CreateDispatcher };
  const create = internals.createDispatcher;
  if (typeof create !== 'function') return;
  let cached: { options: unknown; dispatcher: unknown } | undefined;
  internals.createDispatcher = (cluster, agentOptions) => {
    const options = kubeConfig.createDispatcherOptions(cluster as never, agentOptions as never);
    if (cached && sameOptions(cached.options, options)) return cached.dispatcher;
    const previous = cached?.dispatcher as { close?: () => Promise<void> } | undefined;
    cached = { options, dispatcher: create.call(kubeConfig, cluster, agentOptions) };
    // Requests in flight on the old pool finish; its idle connections close.
    void previous?.close?.().catch(() => undefined);
    return cached.dispatcher;
  };
}

function sameOptions(a: unknown, b: unknown): boolean {
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return a === b;
  const keysA = Object.keys(a);
  if (keysA.length !== Object.keys(b).length) return false;
  return keysA.every((k) => sameOptions((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
