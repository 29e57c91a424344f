/**
 * Server-side dry-run of every overlay against a real kube-apiserver, under the restricted Pod
 * Security profile:
 *
 *   npx tsx tools/deploy/dry-run.ts [overlay...]
 *
 * The cluster is the one in WHARF_KUBE_KUBECONFIG, else a local control plane started for the
 * check by the test harness (libs/testing, built on first use by tools/infra/install-kube.sh).
 * Per overlay: its Namespaces and ServiceAccounts are created for real (each namespace must
 * enforce `restricted`; use a throwaway cluster), every object is applied with
 * --dry-run=server (any warning fails), then every workload's pod
 * template is created as a bare Pod with --dry-run=server, which PodSecurity admission enforces
 * (for Deployments it only warns).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { startInfra, type Infra } from '../../libs/testing/src/infra/infra';
import { describe, overlays, renderOverlay, type KubeObject } from './manifests';

const run = promisify(execFile);

interface PodTemplateOwner extends KubeObject {
  readonly spec: {
    readonly template: {
      readonly metadata?: { labels?: Record<string, string> };
      readonly spec: Record<string, unknown>;
    };
    readonly volumeClaimTemplates?: { metadata: { name: string } }[];
  };
}

const workloadKinds = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'ReplicaSet']);

/** Each workload's pod template as a bare Pod (StatefulSet claims become PVC volumes). */
export function podsOf(objects: readonly KubeObject[]): KubeObject[] {
  return objects
    .filter((o) => workloadKinds.has(o.kind))
    .map((o) => {
      const owner = o as PodTemplateOwner;
      const spec = { ...owner.spec.template.spec } as { volumes?: unknown[] };
      const claims = (owner.spec.volumeClaimTemplates ?? []).map((c) => ({
        name: c.metadata.name,
        persistentVolumeClaim: { claimName: `${c.metadata.name}-${o.metadata.name}-0` },
      }));
      if (claims.length) spec.volumes = [...(spec.volumes ?? []), ...claims];
      return {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: `dry-run-${o.kind.toLowerCase()}-${o.metadata.name}`,
          namespace: o.metadata.namespace,
          labels: owner.spec.template.metadata?.labels ?? {},
        },
        spec,
      };
    });
}

function toYaml(objects: readonly object[]): string {
  return objects.map((o) => stringify(o)).join('---\n');
}

async function kubectl(
  kubeconfig: string,
  args: string[],
): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run('kubectl', ['--kubeconfig', kubeconfig, ...args], {
      maxBuffer: 32 * 1024 * 1024,
    });
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(
      `kubectl ${args.join(' ')} failed:\n${(e.stderr || e.stdout || e.message).trim()}`,
    );
  }
}

async function checkOverlay(
  kubeconfig: string,
  overlay: string,
  scratch: string,
): Promise<string[]> {
  const problems: string[] = [];
  const objects = renderOverlay(overlay);
  const namespaces = objects.filter((o) => o.kind === 'Namespace');
  for (const ns of namespaces) {
    if (ns.metadata.labels?.['pod-security.kubernetes.io/enforce'] !== 'restricted') {
      problems.push(`${describe(ns)} does not enforce the restricted Pod Security profile`);
    }
  }
  const used = new Set(
    objects.map((o) => o.metadata.namespace).filter((n): n is string => Boolean(n)),
  );
  for (const name of used) {
    if (!namespaces.some((ns) => ns.metadata.name === name))
      problems.push(`namespace ${name} is used but not part of the overlay`);
  }

  // Namespaces, and the ServiceAccounts pods are admitted against, are created for real (they
  // are inert); everything else only in dry-run.
  const real = objects.filter((o) => o.kind === 'ServiceAccount');
  const nsFile = join(scratch, `${overlay}-namespaces.yaml`);
  writeFileSync(nsFile, toYaml(namespaces));
  await kubectl(kubeconfig, ['apply', '-f', nsFile]);
  const saFile = join(scratch, `${overlay}-service-accounts.yaml`);
  writeFileSync(saFile, toYaml(real));
  await kubectl(kubeconfig, ['apply', '-f', saFile]);

  const rest = objects.filter((o) => o.kind !== 'Namespace');
  const restFile = join(scratch, `${overlay}-objects.yaml`);
  writeFileSync(restFile, toYaml(rest));
  try {
    const { stderr } = await kubectl(kubeconfig, ['apply', '--dry-run=server', '-f', restFile]);
    problems.push(...warnings(stderr));
  } catch (error) {
    problems.push((error as Error).message);
  }

  const pods = podsOf(objects);
  const podFile = join(scratch, `${overlay}-pods.yaml`);
  writeFileSync(podFile, toYaml(pods));
  try {
    const { stderr } = await kubectl(kubeconfig, ['create', '--dry-run=server', '-f', podFile]);
    problems.push(...warnings(stderr));
  } catch (error) {
    problems.push((error as Error).message);
  }
  process.stdout.write(
    problems.length
      ? `FAIL dry-run ${overlay}\n${problems.map((p) => `  - ${p.replace(/\n/g, '\n    ')}`).join('\n')}\n`
      : `ok   dry-run ${overlay}: ${rest.length} objects and ${pods.length} pod templates admitted under restricted PSA in ${namespaces.map((n) => n.metadata.name).join(', ')}\n`,
  );
  return problems;
}

function warnings(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((line) => /^Warning:/i.test(line.trim()))
    .map((line) => line.trim());
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  let infra: Infra | undefined;
  let kubeconfig = process.env['WHARF_KUBE_KUBECONFIG'];
  const scratch = mkdtempSync(join(tmpdir(), 'wharf-dry-run-'));
  try {
    if (!kubeconfig) {
      process.stderr.write(
        'dry-run: starting a local Kubernetes control plane (built on first use)…\n',
      );
      infra = await startInfra({
        kube: true,
        workDir: join(scratch, 'infra'),
        log: (line) => process.stderr.write(`dry-run: ${line}\n`),
      });
      kubeconfig = infra.kube?.kubeconfigPath;
      if (!kubeconfig) throw new Error('the control plane did not report a kubeconfig');
    }
    let failed = false;
    for (const overlay of wanted.length ? wanted : overlays()) {
      const problems = await checkOverlay(kubeconfig, overlay, scratch);
      failed ||= problems.length > 0;
    }
    if (failed) process.exitCode = 1;
  } finally {
    await infra?.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`dry-run: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
