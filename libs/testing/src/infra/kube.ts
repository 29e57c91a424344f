/**
 * A real Kubernetes control plane for integration tests: etcd, kube-apiserver,
 * kube-controller-manager and kube-scheduler built from source by `tools/infra/install-kube.sh`,
 * with KWOK (https://kwok.sigs.k8s.io) faking the nodes and the kubelets on them.
 *
 * Everything binds to 127.0.0.1 on ports from {@link freePort}; everything lives in `workDir`:
 *
 *   pki/                 CA, serving and client certificates (openssl, EC P-256), SA key pair
 *   kubeconfig           the admin kubeconfig (client cert in group system:masters, CA embedded)
 *   kubeconfigs/         the controller-manager's, scheduler's and kwok's
 *   etcd/                etcd data (startKube removes it, logs/ and pod-logs/: each start is a fresh cluster)
 *   kwok/                kwok's configuration (kwok.yaml: the stages) and its KWOK_WORKDIR
 *   logs/<process>.log   stdout+stderr of each process
 *   pod-logs/            what the simulated containers "printed"
 *
 * Pods: the scheduler binds them to the KWOK nodes (`kwok-node-0` … no taints, so no tolerations
 * needed); KWOK moves them through the stages of `kwok/stages.yaml`; a small container
 * simulator process (`kwok/container-sim.ts`) writes each pod's container logs before it starts.
 * Run-to-completion pods (every Job pod) go Pending -> Running -> Succeeded (exit code 0) after
 * about a second. Pod template annotations steer the simulation:
 *
 *   wharf.dev/sim-exit-code: "1"        containers terminate with this code, phase Failed
 *   wharf.dev/sim-fail-indexes: "2,4"   ... only for these completion indexes
 *   wharf.dev/sim-fail-attempts: "1"    ... only while the attempt (batch.kubernetes.io/
 *                                       job-index-failure-count, else failed pods of the same Job
 *                                       and index before this one) is below this
 *   wharf.dev/sim-duration-ms: "3000"   run time (default 1000)
 *   wharf.dev/sim-log: "..."            container log text; ${POD_NAME}, ${POD_NAMESPACE},
 *                                       ${CONTAINER_NAME}, ${JOB_COMPLETION_INDEX}, ${env:NAME};
 *                                       default "simulated <container> of <pod>\n"
 *
 * Pod logs: `GET /api/v1/namespaces/NS/pods/P/log` goes from the apiserver to the node's kubelet
 * endpoint (InternalIP 127.0.0.1, port in status.daemonEndpoints), which is kwok's kubelet API
 * (TLS, certificate from our CA, verified by the apiserver); kwok serves the file named by the
 * pod's kwok `Logs` object, both made by the simulator. Details: `kwok/README.md`.
 *
 * Fault tests: every component is a {@link ManagedProcess}; `restart()` (or `kill()` + `start()`)
 * reuses the same arguments, so the same ports, certificates and data.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { eventually } from '../eventually';
import { freePort, ManagedProcess } from './managed-process';
import {
  CONTAINER_SIM_CONFIG_ENV,
  KubeClient,
  type ContainerSimConfig,
} from './kwok/container-sim';

export interface KubeOptions {
  /** Holds kube-apiserver, kube-controller-manager, kube-scheduler, etcd, kwok (install-kube.sh's output). */
  binDir: string;
  workDir: string;
  /** Processes outlive this Node process (for `up`); stop them later by pid. @default false */
  detached?: boolean;
  /** Fake nodes `kwok-node-0` …; @default 2 */
  nodes?: number;
}

export interface KubeServer {
  /** Admin kubeconfig (system:masters), CA embedded. */
  kubeconfigPath: string;
  /** `https://127.0.0.1:PORT` */
  server: string;
  /** Names of the fake nodes. */
  nodeNames: string[];
  processes: {
    etcd: ManagedProcess;
    apiserver: ManagedProcess;
    controllerManager: ManagedProcess;
    scheduler: ManagedProcess;
    kwok: ManagedProcess;
    /** The container simulator (`kwok/container-sim.ts`): pods do not start while it is down. */
    containerSim: ManagedProcess;
  };
  /** Stops every process (simulator and kwok first, etcd last). */
  stop(): Promise<void>;
}

const SERVICE_CIDR = '10.96.0.0/16';
const SERVICE_IP = '10.96.0.1'; // first address of SERVICE_CIDR: the `kubernetes` Service
const POD_CIDR = '10.244.0.0/16'; // kwok hands out fake pod IPs from here; nothing routes them
const SA_ISSUER = 'https://kubernetes.default.svc.cluster.local';

/** Starts a fresh cluster (previous etcd data in `workDir` is removed) and waits until its nodes are Ready. */
export async function startKube(options: KubeOptions): Promise<KubeServer> {
  const { binDir, detached = false, nodes = 2 } = options;
  const workDir = resolve(options.workDir);
  const bin = (name: string): string => join(binDir, name);
  // The container simulator is TypeScript that node runs by stripping the types.
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  if (major < 22 || (major === 22 && minor < 18)) {
    throw new Error(`startKube needs Node >= 22.18 (type stripping); this is ${process.version}`);
  }
  for (const name of [
    'etcd',
    'kube-apiserver',
    'kube-controller-manager',
    'kube-scheduler',
    'kwok',
  ]) {
    await stat(bin(name)).catch(() => {
      throw new Error(
        `${bin(name)} not found: run tools/infra/install-kube.sh and pass its output as binDir`,
      );
    });
  }

  const dirs = {
    pki: join(workDir, 'pki'),
    kubeconfigs: join(workDir, 'kubeconfigs'),
    etcd: join(workDir, 'etcd'),
    kwok: join(workDir, 'kwok'),
    logs: join(workDir, 'logs'),
    podLogs: join(workDir, 'pod-logs'),
  };
  // A fresh cluster each time: no data, logs or pod logs of an earlier one.
  for (const dir of [dirs.etcd, dirs.logs, dirs.podLogs])
    await rm(dir, { recursive: true, force: true });
  for (const dir of Object.values(dirs)) await mkdir(dir, { recursive: true, mode: 0o700 });

  const pki = await ensurePki(dirs.pki);
  const [ca, adminCert, adminKey] = await Promise.all([
    readFile(pki.ca, 'utf8'),
    readFile(pki.admin.cert, 'utf8'),
    readFile(pki.admin.key, 'utf8'),
  ]);

  const port = portAllocator();
  const etcdClientPort = await port();
  const etcdPeerPort = await port();
  const apiserverPort = await port();
  const controllerManagerPort = await port();
  const schedulerPort = await port();
  const kwokPort = await port();
  const server = `https://127.0.0.1:${apiserverPort}`;
  const client = new KubeClient({ server, ca, cert: adminCert, key: adminKey });

  const kubeconfigPath = join(workDir, 'kubeconfig');
  const kubeconfigs = {
    controllerManager: join(dirs.kubeconfigs, 'controller-manager.kubeconfig'),
    scheduler: join(dirs.kubeconfigs, 'scheduler.kubeconfig'),
    kwok: join(dirs.kubeconfigs, 'kwok.kubeconfig'),
  };
  await writeKubeconfig(kubeconfigPath, server, pki.ca, pki.admin, 'wharf-admin');
  await writeKubeconfig(
    kubeconfigs.controllerManager,
    server,
    pki.ca,
    pki.controllerManager,
    'kube-controller-manager',
  );
  await writeKubeconfig(kubeconfigs.scheduler, server, pki.ca, pki.scheduler, 'kube-scheduler');
  // kwok creates leases and patches node and pod status, Logs CRs and events: admin is simplest.
  await writeKubeconfig(kubeconfigs.kwok, server, pki.ca, pki.admin, 'kwok');

  const assets = assetsDir();
  const kwokConfig = join(dirs.kwok, 'kwok.yaml');
  await writeFile(kwokConfig, await readFile(join(assets, 'stages.yaml'), 'utf8'));
  const simScript = join(workDir, 'container-sim.mts'); // .mts: always an ES module to node
  await copyFile(join(assets, 'container-sim.ts'), simScript);
  const simReadyFile = join(workDir, 'container-sim.ready');

  const logFile = (name: string): string => join(dirs.logs, `${name}.log`);
  const httpsOk = (port: number, path: string) => (): Promise<boolean> =>
    httpsStatus(`https://127.0.0.1:${port}${path}`, ca).then((status) => status === 200);

  const etcd = new ManagedProcess({
    name: 'etcd',
    command: bin('etcd'),
    args: [
      '--name=wharf',
      `--data-dir=${dirs.etcd}`,
      `--listen-client-urls=http://127.0.0.1:${etcdClientPort}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdClientPort}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-cluster=wharf=http://127.0.0.1:${etcdPeerPort}`,
      '--initial-cluster-state=new',
      // A test cluster: a crash of the machine may lose data, a crash of etcd does not.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    logFile: logFile('etcd'),
    detached,
    ready: async () => {
      const body = await httpGet(`http://127.0.0.1:${etcdClientPort}/health`);
      return body.includes('"health":"true"');
    },
  });

  const apiserver = new ManagedProcess({
    name: 'kube-apiserver',
    command: bin('kube-apiserver'),
    args: [
      `--etcd-servers=http://127.0.0.1:${etcdClientPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiserverPort}`,
      `--cert-dir=${join(workDir, 'apiserver')}`,
      `--tls-cert-file=${pki.apiserver.cert}`,
      `--tls-private-key-file=${pki.apiserver.key}`,
      `--client-ca-file=${pki.ca}`,
      `--service-account-issuer=${SA_ISSUER}`,
      `--service-account-key-file=${pki.serviceAccount.publicKey}`,
      `--service-account-signing-key-file=${pki.serviceAccount.privateKey}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--authorization-mode=Node,RBAC',
      // Privileged pods must reach admission so that PodSecurity (a default plugin) judges them.
      '--allow-privileged=true',
      // Kubelet API (kwok): reach nodes by InternalIP, verify kwok's certificate with our CA.
      '--kubelet-preferred-address-types=InternalIP',
      `--kubelet-certificate-authority=${pki.ca}`,
      `--kubelet-client-certificate=${pki.kubeletClient.cert}`,
      `--kubelet-client-key=${pki.kubeletClient.key}`,
      // The `kubernetes` Service's Endpoints would have to list 127.0.0.1, which Endpoints
      // validation forbids (an error every 10 s); nothing in a KWOK cluster dials it anyway.
      '--endpoint-reconciler-type=none',
      // On SIGTERM, drain ordinary requests, then give long-running ones (watches) 2 s; by
      // default the HTTP server waits --request-timeout (60 s) for watches to end.
      '--shutdown-send-retry-after=true',
      '--profiling=false',
    ],
    logFile: logFile('kube-apiserver'),
    detached,
    readyTimeoutMs: 120_000,
    ready: async () =>
      (await client.request('GET', '/readyz', undefined, undefined, 5_000)).status === 200,
  });

  const controllerManager = new ManagedProcess({
    name: 'kube-controller-manager',
    command: bin('kube-controller-manager'),
    args: [
      // No --authentication/authorization-kubeconfig: delegated authn wants the apiserver's
      // requestheader (front-proxy) CA, which this cluster has no use for; /healthz is open anyway.
      `--kubeconfig=${kubeconfigs.controllerManager}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${controllerManagerPort}`,
      `--tls-cert-file=${pki.loopbackServing.cert}`,
      `--tls-private-key-file=${pki.loopbackServing.key}`,
      // One instance: no leader election, so a restart does not wait for a lease to expire.
      '--leader-elect=false',
      // All default controllers: job, garbage collector, namespace, serviceaccount,
      // serviceaccount-token, root-ca-cert-publisher, node lifecycle, …
      '--controllers=*',
      // client-go's default 20 requests/s made the job controller finish ~2 Jobs/s: tests that
      // run a thousand Jobs waited on it, not on Wharf.
      '--kube-api-qps=200',
      '--kube-api-burst=400',
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${pki.serviceAccount.privateKey}`,
      `--root-ca-file=${pki.ca}`,
      `--cluster-signing-cert-file=${pki.ca}`,
      `--cluster-signing-key-file=${pki.caKey}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      // Default /usr/libexec/kubernetes/…: the controller-manager would create it.
      `--flex-volume-plugin-dir=${join(workDir, 'flexvolume')}`,
      '--profiling=false',
    ],
    logFile: logFile('kube-controller-manager'),
    detached,
    ready: httpsOk(controllerManagerPort, '/healthz'),
  });

  const scheduler = new ManagedProcess({
    name: 'kube-scheduler',
    command: bin('kube-scheduler'),
    args: [
      `--kubeconfig=${kubeconfigs.scheduler}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${schedulerPort}`,
      `--tls-cert-file=${pki.loopbackServing.cert}`,
      `--tls-private-key-file=${pki.loopbackServing.key}`,
      '--kube-api-qps=200',
      '--kube-api-burst=400',
      '--leader-elect=false',
      '--profiling=false',
    ],
    logFile: logFile('kube-scheduler'),
    detached,
    ready: httpsOk(schedulerPort, '/healthz'),
  });

  const kwok = new ManagedProcess({
    name: 'kwok',
    command: bin('kwok'),
    args: [
      `--kubeconfig=${kubeconfigs.kwok}`,
      `--config=${kwokConfig}`,
      '--manage-all-nodes=true',
      // The kubelet endpoint kwok publishes in node status and serves (HTTPS) on loopback only.
      '--node-ip=127.0.0.1',
      `--node-port=${kwokPort}`,
      `--server-address=127.0.0.1:${kwokPort}`,
      `--tls-cert-file=${pki.loopbackServing.cert}`,
      `--tls-private-key-file=${pki.loopbackServing.key}`,
      `--cidr=${POD_CIDR}`,
      // kwok manages a node only while it holds the node's Lease, under a random identity per
      // process: after a kill -9 the new kwok waits for the old Leases to expire. 10 s (renewed
      // every 2.5 s) instead of kwok's usual 40 s keeps that wait short.
      '--node-lease-duration-seconds=10',
      '--enable-crds=Logs,ClusterLogs',
    ],
    // kwok also loads $KWOK_WORKDIR/kwok.yaml (default ~/.kwok) when present: keep it in workDir.
    env: { KWOK_WORKDIR: dirs.kwok },
    logFile: logFile('kwok'),
    detached,
    ready: httpsOk(kwokPort, '/healthz'),
  });

  const simConfig: ContainerSimConfig = {
    server,
    caFile: pki.ca,
    certFile: pki.admin.cert,
    keyFile: pki.admin.key,
    kubeletServer: `https://127.0.0.1:${kwokPort}`,
    logDir: dirs.podLogs,
    readyFile: simReadyFile,
  };
  const containerSim: ManagedProcess = new ManagedProcess({
    name: 'container-sim',
    // The Node running this harness (>= 22.18 runs TypeScript by stripping the types).
    command: process.execPath,
    args: ['--disable-warning=ExperimentalWarning', simScript],
    env: { [CONTAINER_SIM_CONFIG_ENV]: JSON.stringify(simConfig) },
    logFile: logFile('container-sim'),
    detached,
    // The simulator writes its pid to the ready file after its first pod list.
    ready: async () =>
      (await readFile(simReadyFile, 'utf8').catch(() => '')) === String(containerSim.pid),
  });

  const nodeNames = Array.from({ length: nodes }, (_, i) => `kwok-node-${i}`);
  const started: ManagedProcess[] = [];
  const stop = async (): Promise<void> => {
    // Reverse start order; the leaves first.
    const leaves = [containerSim, kwok, scheduler, controllerManager];
    await Promise.all(leaves.map((p) => p.stop()));
    await apiserver.stop();
    await etcd.stop();
    client.close();
  };
  const startTracked = async (proc: ManagedProcess): Promise<void> => {
    started.push(proc);
    await proc.start();
  };

  try {
    await startTracked(etcd);
    await startTracked(apiserver);
    await Promise.all([
      startTracked(controllerManager),
      startTracked(scheduler),
      (async () => {
        // kwok watches its CRDs from the start, so they must be served before it runs.
        for (const crd of ['crd-logs.yaml', 'crd-clusterlogs.yaml']) {
          await createCrd(client, await readFile(join(assets, crd), 'utf8'));
        }
        for (const name of nodeNames) await createNode(client, name);
        await Promise.all([startTracked(kwok), startTracked(containerSim)]);
      })(),
    ]);
    await eventually(
      async () => {
        const list = await client.json<{ items: NodeObject[] }>('GET', '/api/v1/nodes');
        const ready = new Set(list.items.filter(isNodeReady).map((node) => node.metadata.name));
        const missing = nodeNames.filter((name) => !ready.has(name));
        if (missing.length > 0) throw new Error(`nodes not Ready: ${missing.join(', ')}`);
      },
      { timeoutMs: 60_000, intervalMs: 200, description: 'the KWOK nodes to become Ready' },
    );
    // Pods are admitted only once their namespace has its default ServiceAccount.
    await eventually(
      async () => {
        await client.json('GET', '/api/v1/namespaces/default/serviceaccounts/default');
      },
      { timeoutMs: 60_000, intervalMs: 200, description: 'the default ServiceAccount' },
    );
  } catch (error) {
    await Promise.allSettled(started.reverse().map((p) => p.stop()));
    client.close();
    throw error;
  }

  return {
    kubeconfigPath,
    server,
    nodeNames,
    processes: { etcd, apiserver, controllerManager, scheduler, kwok, containerSim },
    stop,
  };
}

// ---------------------------------------------------------------------------------------------
// Cluster objects
// ---------------------------------------------------------------------------------------------

interface NodeObject {
  metadata: { name: string };
  status?: { conditions?: { type: string; status: string }[] };
}

function isNodeReady(node: NodeObject): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Creates a CRD from its YAML (the apiserver accepts YAML bodies) and waits until it is served. */
async function createCrd(client: KubeClient, yaml: string): Promise<void> {
  const created = await client.request(
    'POST',
    '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
    yaml,
    'application/yaml',
  );
  if (created.status !== 201 && created.status !== 409) {
    throw new Error(`creating a CRD failed: HTTP ${created.status}: ${created.body}`);
  }
  // 201 answers the CRD, 409 a Status naming it.
  const answer = JSON.parse(created.body) as {
    metadata?: { name?: string };
    details?: { name?: string };
  };
  const crdName = answer.metadata?.name ?? answer.details?.name ?? '';
  await eventually(
    async () => {
      const crd = await client.json<{
        status?: { conditions?: { type: string; status: string }[] };
      }>('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crdName}`);
      if (!crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) {
        throw new Error(`CRD ${crdName} is not Established`);
      }
    },
    { timeoutMs: 30_000, intervalMs: 100, description: `CRD ${crdName} to be established` },
  );
}

/** A fake node for kwok to manage: no taints, so pods need no tolerations. */
async function createNode(client: KubeClient, name: string): Promise<void> {
  const res = await client.request('POST', '/api/v1/nodes', {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/role': 'agent',
        'node-role.kubernetes.io/agent': '',
        type: 'kwok',
      },
    },
    spec: {},
  });
  if (res.status !== 201 && res.status !== 409)
    throw new Error(`creating node ${name} failed: HTTP ${res.status}: ${res.body}`);
}

// ---------------------------------------------------------------------------------------------
// PKI
// ---------------------------------------------------------------------------------------------

interface KeyPair {
  cert: string;
  key: string;
}

interface Pki {
  ca: string;
  caKey: string;
  apiserver: KeyPair;
  kubeletClient: KeyPair;
  admin: KeyPair;
  controllerManager: KeyPair;
  scheduler: KeyPair;
  /** Serving certificate of the controller-manager, scheduler and kwok (SAN 127.0.0.1). */
  loopbackServing: KeyPair;
  serviceAccount: { privateKey: string; publicKey: string };
}

const execFileAsync = promisify(execFile);

async function openssl(cwd: string, args: string[]): Promise<void> {
  try {
    await execFileAsync('openssl', args, { cwd });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr || (error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * Generates the cluster's certificates with openssl unless `pki/.complete` says they exist
 * (restarts and later starts in the same workDir reuse them). EC P-256 keys: fast to make.
 */
async function ensurePki(dir: string): Promise<Pki> {
  const pair = (name: string): KeyPair => ({
    cert: join(dir, `${name}.crt`),
    key: join(dir, `${name}.key`),
  });
  const pki: Pki = {
    ca: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    apiserver: pair('apiserver'),
    kubeletClient: pair('apiserver-kubelet-client'),
    admin: pair('admin'),
    controllerManager: pair('controller-manager'),
    scheduler: pair('scheduler'),
    loopbackServing: pair('loopback-serving'),
    serviceAccount: { privateKey: join(dir, 'sa.key'), publicKey: join(dir, 'sa.pub') },
  };
  const marker = join(dir, '.complete');
  if (
    await stat(marker).then(
      () => true,
      () => false,
    )
  )
    return pki;

  const cnf = join(dir, 'openssl.cnf');
  await writeFile(
    cnf,
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      '[dn]',
      'CN = unused',
      '[ca]',
      'basicConstraints = critical,CA:TRUE',
      'keyUsage = critical,keyCertSign,cRLSign,digitalSignature',
      'subjectKeyIdentifier = hash',
      '',
    ].join('\n'),
  );
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(dir, [
    'req',
    '-x509',
    '-new',
    '-config',
    cnf,
    '-extensions',
    'ca',
    ...ec,
    '-keyout',
    pki.caKey,
    '-out',
    pki.ca,
    '-days',
    '3650',
    '-subj',
    '/CN=wharf-kube-ca',
  ]);

  const issue = async (
    out: KeyPair,
    subject: string,
    usage: 'serverAuth' | 'clientAuth',
    sans: string[] = [],
  ): Promise<void> => {
    const ext = `${out.cert}.ext`;
    await writeFile(
      ext,
      [
        '[ext]',
        'basicConstraints = critical,CA:FALSE',
        'keyUsage = critical,digitalSignature',
        `extendedKeyUsage = ${usage}`,
        'authorityKeyIdentifier = keyid',
        ...(sans.length > 0 ? [`subjectAltName = ${sans.join(',')}`] : []),
        '',
      ].join('\n'),
    );
    const csr = `${out.cert}.csr`;
    await openssl(dir, [
      'req',
      '-new',
      '-config',
      cnf,
      ...ec,
      '-keyout',
      out.key,
      '-out',
      csr,
      '-subj',
      subject,
    ]);
    await openssl(dir, [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      pki.ca,
      '-CAkey',
      pki.caKey,
      '-CAcreateserial',
      '-CAserial',
      join(dir, 'ca.srl'),
      '-days',
      '3650',
      '-extfile',
      ext,
      '-extensions',
      'ext',
      '-out',
      out.cert,
    ]);
    await rm(csr);
    await rm(ext);
  };
  const loopback = ['IP:127.0.0.1', 'DNS:localhost'];
  await issue(pki.apiserver, '/CN=kube-apiserver', 'serverAuth', [
    ...loopback,
    `IP:${SERVICE_IP}`,
    'DNS:kubernetes',
    'DNS:kubernetes.default',
    'DNS:kubernetes.default.svc',
    'DNS:kubernetes.default.svc.cluster.local',
  ]);
  await issue(pki.loopbackServing, '/CN=wharf-loopback-serving', 'serverAuth', loopback);
  await issue(
    pki.kubeletClient,
    '/O=system:masters/CN=kube-apiserver-kubelet-client',
    'clientAuth',
  );
  await issue(pki.admin, '/O=system:masters/CN=wharf-admin', 'clientAuth');
  // The identities the bootstrap RBAC policy grants these components' permissions to.
  await issue(pki.controllerManager, '/CN=system:kube-controller-manager', 'clientAuth');
  await issue(pki.scheduler, '/CN=system:kube-scheduler', 'clientAuth');
  await openssl(dir, [
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-out',
    pki.serviceAccount.privateKey,
  ]);
  await openssl(dir, [
    'pkey',
    '-in',
    pki.serviceAccount.privateKey,
    '-pubout',
    '-out',
    pki.serviceAccount.publicKey,
  ]);
  await writeFile(marker, '');
  return pki;
}

async function writeKubeconfig(
  path: string,
  server: string,
  caFile: string,
  user: KeyPair,
  userName: string,
): Promise<void> {
  const b64 = async (file: string): Promise<string> => (await readFile(file)).toString('base64');
  const yaml = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: wharf',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${await b64(caFile)}`,
    'users:',
    `- name: ${userName}`,
    '  user:',
    `    client-certificate-data: ${await b64(user.cert)}`,
    `    client-key-data: ${await b64(user.key)}`,
    'contexts:',
    '- name: wharf',
    '  context:',
    '    cluster: wharf',
    `    user: ${userName}`,
    'current-context: wharf',
    '',
  ].join('\n');
  await writeFile(path, yaml, { mode: 0o600 });
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

/** Free ports, never the same one twice (freePort alone may repeat itself). */
function portAllocator(): () => Promise<number> {
  const taken = new Set<number>();
  return async () => {
    for (;;) {
      const candidate = await freePort();
      if (!taken.has(candidate)) {
        taken.add(candidate);
        return candidate;
      }
    }
  };
}

/** Status of an HTTPS GET whose server certificate must chain to `ca`; 0 on a transport error. */
function httpsStatus(url: string, ca: string, timeoutMs = 2_000): Promise<number> {
  return new Promise((resolve) => {
    const req = httpsRequest(url, { ca, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(timeoutMs, () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

function httpGet(url: string, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Directory of the kwok assets (stages.yaml, CRDs, container-sim.ts) beside this file.
 * `__dirname` under CommonJS (jest, tsx); under native ES modules, from this module's stack frame.
 */
function assetsDir(): string {
  if (typeof __dirname === 'string') return join(__dirname, 'kwok');
  const frame = /(file:\/\/[^\s)]+?\/kube\.[cm]?[jt]s)/.exec(new Error().stack ?? '');
  if (frame?.[1] === undefined) throw new Error('cannot locate libs/testing/src/infra/kwok');
  return join(fileURLToPath(frame[1]), '..', 'kwok');
}
