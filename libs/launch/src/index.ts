/**
 * @wharf/launch — what a LaunchRun becomes in Kubernetes, as pure code: the Job renderer
 * (Job + owned Secret/ConfigMap), the deterministic names, the restricted Pod Security check,
 * and the Kubernetes object shapes they use. job-launcher creates what it renders; the scheduler
 * renders the same objects for workflow preflight's server-side dry-run. No I/O, no client.
 */
export * from './kube-objects';
export * from './launch-names';
export * from './job-renderer';
export * from './pod-security';
