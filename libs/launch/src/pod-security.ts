import type { Violation } from '@wharf/platform';
import type { Container, PodSpec } from './kube-objects';

/**
 * The restricted Pod Security profile, checked on what the renderer produced (defence in
 * depth: the renderer builds pods from a narrow contract, and this proves it did). A pod spec
 * failing here is never created. Field paths are into the Job's pod template.
 */
export function restrictedPodViolations(spec: PodSpec, allowedVolumeKinds: readonly string[] = defaultVolumeKinds): Violation[] {
  const out: Violation[] = [];
  const at = (field: string, description: string): void => {
    out.push({ field: `spec.template.spec.${field}`, description });
  };
  if (spec.hostNetwork) at('hostNetwork', 'host namespaces are refused');
  if (spec.hostPID) at('hostPID', 'host namespaces are refused');
  if (spec.hostIPC) at('hostIPC', 'host namespaces are refused');
  if (spec.nodeName) at('nodeName', 'pods are placed by the scheduler, never pinned');
  if (spec.securityContext?.runAsNonRoot !== true) at('securityContext.runAsNonRoot', 'must be true');
  if (spec.securityContext?.runAsUser === 0) at('securityContext.runAsUser', 'must not be 0');
  if (spec.securityContext?.seccompProfile?.type !== 'RuntimeDefault') {
    at('securityContext.seccompProfile.type', 'must be RuntimeDefault');
  }
  (spec.volumes ?? []).forEach((volume, i) => {
    const kinds = Object.keys(volume).filter((k) => k !== 'name');
    for (const kind of kinds) {
      if (!allowedVolumeKinds.includes(kind)) at(`volumes[${i}].${kind}`, `${kind} volumes are refused`);
    }
    // A projected volume is as safe as its sources: each must be an allowed kind too.
    (volume.projected?.sources ?? []).forEach((source, j) => {
      for (const kind of Object.keys(source)) {
        if (kind === 'projected' || !allowedVolumeKinds.includes(kind)) {
          at(`volumes[${i}].projected.sources[${j}].${kind}`, `${kind} sources are refused`);
        }
      }
    });
  });
  const check = (container: Container, field: string): void => {
    const sc = container.securityContext;
    if (sc?.privileged) at(`${field}.securityContext.privileged`, 'privileged containers are refused');
    if (sc?.allowPrivilegeEscalation !== false) at(`${field}.securityContext.allowPrivilegeEscalation`, 'must be false');
    if (!sc?.capabilities?.drop?.includes('ALL')) at(`${field}.securityContext.capabilities.drop`, 'must drop ALL');
    if ((sc?.capabilities?.add ?? []).length > 0) at(`${field}.securityContext.capabilities.add`, 'no capabilities may be added');
    if (sc?.runAsUser === 0) at(`${field}.securityContext.runAsUser`, 'must not be 0');
  };
  spec.containers.forEach((c, i) => check(c, `containers[${i}]`));
  (spec.initContainers ?? []).forEach((c, i) => check(c, `initContainers[${i}]`));
  return out;
}

/**
 * The volume kinds the renderer uses: owned ConfigMap/Secret, the downward API, PVCs, and
 * projected volumes (the inputs chunks of a large fan-out) whose sources are of these kinds.
 */
export const defaultVolumeKinds: readonly string[] = ['configMap', 'secret', 'downwardAPI', 'persistentVolumeClaim', 'emptyDir', 'projected'];
