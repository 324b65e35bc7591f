import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRawConfig, readConfigFile } from '../../../src/config/load';
import { ConfigError } from '../../../src/errors';

describe('loadRawConfig', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cryptid-load-'));
    writeFileSync(
      join(dir, 'gateway.yaml'),
      ['upstream: http://file:1', 'listen: 0.0.0.0:1111', 'discovery:', '  document:', '    server_name: file.example.com', 'logLevel: debug', ''].join('\n'),
    );
    writeFileSync(join(dir, 'gateway.json'), JSON.stringify({ upstream: 'http://json:1' }));
    writeFileSync(join(dir, 'broken.yaml'), 'upstream: [unclosed\n');
    writeFileSync(join(dir, 'list.yaml'), '- a\n- b\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('takes flag over environment over file', () => {
    const raw = loadRawConfig({
      cwd: dir,
      flags: { config: 'gateway.yaml', upstream: 'http://flag:1' },
      env: { CRYPTID_UPSTREAM: 'http://env:1', CRYPTID_LISTEN: '127.0.0.1:2222', CRYPTID_SERVER_NAME: 'env.example.com' },
    });
    expect(raw).toEqual({
      upstream: 'http://flag:1',
      listen: '127.0.0.1:2222',
      discovery: { document: { server_name: 'env.example.com' } },
      logLevel: 'debug',
    });
  });

  it('finds the file through CRYPTID_GATEWAY_CONFIG and reads JSON as well as YAML', () => {
    expect(loadRawConfig({ cwd: dir, flags: {}, env: { CRYPTID_GATEWAY_CONFIG: join(dir, 'gateway.json') } })).toEqual({ upstream: 'http://json:1' });
  });

  it('maps every documented environment variable and flag onto its key', () => {
    const env = {
      CRYPTID_UPSTREAM: 'http://u:1',
      CRYPTID_SERVER_NAME: 's.example.com',
      CRYPTID_LISTEN: ':1',
      CRYPTID_TLS_CERT: 'c.pem',
      CRYPTID_TLS_KEY: 'k.pem',
      CRYPTID_METRICS_LISTEN: 'off',
      LOG_LEVEL: 'warn',
    };
    expect(loadRawConfig({ cwd: dir, flags: {}, env })).toEqual({
      upstream: 'http://u:1',
      discovery: { document: { server_name: 's.example.com' } },
      listen: ':1',
      tls: { cert: 'c.pem', key: 'k.pem' },
      metrics: { listen: false },
      logLevel: 'warn',
    });
    const flags = {
      upstream: 'http://f:1',
      'server-name': 'f.example.com',
      listen: ':2',
      'tls-cert': 'fc',
      'tls-key': 'fk',
      'metrics-listen': '127.0.0.1:9',
      'log-level': 'error',
    };
    expect(loadRawConfig({ cwd: dir, flags, env })).toEqual({
      upstream: 'http://f:1',
      discovery: { document: { server_name: 'f.example.com' } },
      listen: ':2',
      tls: { cert: 'fc', key: 'fk' },
      metrics: { listen: '127.0.0.1:9' },
      logLevel: 'error',
    });
  });

  it('reports a missing file, broken YAML and a non-mapping file as configuration problems', () => {
    expect(() => readConfigFile(join(dir, 'absent.yaml'))).toThrow(ConfigError);
    expect(() => readConfigFile(join(dir, 'absent.yaml'))).toThrow(/absent.yaml: no such file/);
    expect(() => readConfigFile(join(dir, 'broken.yaml'))).toThrow(/broken.yaml: /);
    expect(() => readConfigFile(join(dir, 'list.yaml'))).toThrow(/expected a mapping/);
  });
});
