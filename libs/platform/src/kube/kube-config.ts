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
  return kubeConfig;
}
