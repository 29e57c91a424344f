import { defaultConfigPath, resolveCliConfig } from './cli-config';

describe('resolveCliConfig', () => {
  const files = (map: Record<string, string>) => (p: string) => map[p];

  it('defaults to a local scheduler in table format', () => {
    expect(
      resolveCliConfig({ env: {}, flags: {}, homeDir: '/h', readFile: files({}) }),
    ).toMatchObject({
      server: '127.0.0.1:50051',
      tls: false,
      output: 'table',
      timeoutMs: 15000,
    });
  });

  it('honours XDG_CONFIG_HOME, and a CA file implies TLS', () => {
    expect(defaultConfigPath({ XDG_CONFIG_HOME: '/x' }, '/h')).toBe('/x/wharf/config.yaml');
    const config = resolveCliConfig({
      env: { XDG_CONFIG_HOME: '/x' },
      flags: {},
      homeDir: '/h',
      readFile: files({ '/x/wharf/config.yaml': 'server: wharf.example:443\ncaFile: /ca.pem\n' }),
    });
    expect(config).toMatchObject({ server: 'wharf.example:443', tls: true, caFile: '/ca.pem' });
  });

  it('lists every problem and names an unknown key in the file', () => {
    expect(() =>
      resolveCliConfig({
        env: { WHARF_TIMEOUT_MS: 'soon' },
        flags: { output: 'xml' },
        homeDir: '/h',
        readFile: files({ '/h/.config/wharf/config.yaml': 'sever: typo\n' }),
      }),
    ).toThrow(/invalid settings[\s\S]*output[\s\S]*timeoutMs[\s\S]*sever/);
  });

  it('fails when an explicitly named file is missing', () => {
    expect(() =>
      resolveCliConfig({ env: {}, flags: { config: '/nope.yaml' }, readFile: files({}) }),
    ).toThrow('config file /nope.yaml does not exist');
  });
});
