/** The Kubernetes adapter: the only code in Wharf that imports @kubernetes/client-node. */
export type {
  V1ConfigMap,
  V1Container,
  V1Job,
  V1JobSpec,
  V1Lease,
  V1Namespace,
  V1ObjectMeta,
  V1OwnerReference,
  V1PersistentVolumeClaim,
  V1Pod,
  V1PodSpec,
  V1PodTemplateSpec,
  V1Secret,
  V1ServiceAccount,
} from '@kubernetes/client-node';
export * from '../clock';
export * from './informer';
export * from './kube-client';
export * from './kube-config';
export * from './kube-errors';
export * from './leader-elector';
export * from './rate-limiter';
