import { resolveTarget, TargetError, type TargetSources } from './target';

const stack = '/repo/.wharf/stack';
const quickstartFiles: Record<string, string> = {
  [`${stack}/services.json`]: JSON.stringify([
    { name: 'scheduler', pid: 101 },
    { name: 'job-launcher', pid: 102 },
  ]),
  [`${stack}/quickstart/scheduler.yaml`]:
    'grpc:\n  host: 127.0.0.1\n  port: 38841\nauth:\n  tokensFile: x\n',
  [`${stack}/quickstart/token`]: 'qs-secret\n',
};

function sources(
  overrides: Partial<TargetSources> & { files?: Record<string, string> } = {},
): TargetSources {
  const files = overrides.files ?? quickstartFiles;
  return {
    flags: {},
    env: {},
    root: '/repo',
    readFile: (p) => files[p],
    alive: (pid) => pid === 101,
    ...overrides,
  };
}

describe('resolveTarget', () => {
  it('defaults to what the quickstart left running: its scheduler address and token', () => {
    expect(resolveTarget(sources())).toEqual({
      server: '127.0.0.1:38841',
      token: 'qs-secret',
      tls: false,
      source: 'the running quickstart (/repo/.wharf/stack)',
    });
  });

  it('takes WHARF_SERVER / WHARF_TOKEN over the quickstart, and flags over both', () => {
    const env = { WHARF_SERVER: 'wharf.example:443', WHARF_TOKEN: 'env-token', WHARF_TLS: 'true' };
    expect(resolveTarget(sources({ env }))).toEqual({
      server: 'wharf.example:443',
      token: 'env-token',
      tls: true,
      source: 'WHARF_SERVER',
    });
    expect(
      resolveTarget(
        sources({ env, flags: { server: 'other:1', token: 'flag-token', caFile: '/ca.pem' } }),
      ),
    ).toEqual({
      server: 'other:1',
      token: 'flag-token',
      tls: true,
      caFile: '/ca.pem',
      source: '--server',
    });
  });

  it("uses the quickstart's token for the quickstart's server given without a token", () => {
    expect(resolveTarget(sources({ flags: { server: '127.0.0.1:38841' } }))).toMatchObject({
      token: 'qs-secret',
      source: 'quickstart token',
    });
    expect(resolveTarget(sources({ flags: { server: 'elsewhere:1' } }))).toMatchObject({
      token: '',
      source: '--server, no token',
    });
  });

  it('reads the stack directory from WHARF_STACK_DIR, as the quickstart does', () => {
    const files = Object.fromEntries(
      Object.entries(quickstartFiles).map(([k, v]) => [k.replace(stack, '/elsewhere'), v]),
    );
    expect(resolveTarget(sources({ files, env: { WHARF_STACK_DIR: '/elsewhere' } })).server).toBe(
      '127.0.0.1:38841',
    );
  });

  it('says to run the quickstart first when nothing is up', () => {
    expect(() => resolveTarget(sources({ files: {} }))).toThrow(TargetError);
    expect(() => resolveTarget(sources({ files: {} }))).toThrow(
      /no quickstart is running .*\n.*npm run quickstart/,
    );
    expect(() => resolveTarget(sources({ alive: () => false }))).toThrow(
      /the quickstart's scheduler is not running .*\n.*npm run quickstart/,
    );
    const noToken = { ...quickstartFiles };
    delete noToken[`${stack}/quickstart/token`];
    expect(() => resolveTarget(sources({ files: noToken }))).toThrow(
      /cannot read the quickstart's token/,
    );
  });
});
