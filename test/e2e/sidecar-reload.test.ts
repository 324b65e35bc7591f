import { startServer, type ReloadOutcome, type RunningServer, type StartServerOptions } from '../../src';
import { makeCert, type TestCert } from '../helpers/certs';
import { testRequest } from '../helpers/http-request';
import { captureLog, type CapturedLog } from '../helpers/log-capture';
import { startHealthyUpstream, untilStatus, type HealthyUpstream } from '../helpers/healthy-upstream';

describe('RunningServer.reload(options)', () => {
  let upstream: HealthyUpstream;
  let cert: TestCert;
  let log: CapturedLog;
  let running: RunningServer;
  let options: StartServerOptions;

  beforeAll(async () => {
    upstream = await startHealthyUpstream();
    cert = makeCert();
  });
  afterAll(async () => {
    cert.cleanup();
    await upstream.close();
  });
  beforeEach(async () => {
    log = captureLog();
    options = {
      upstream: upstream.url,
      listen: '127.0.0.1:0',
      tls: { cert: cert.certPath, key: cert.keyPath },
      metrics: { listen: false },
      discovery: { document: { server_name: 'one.example.test' } },
      shutdown: { drainDelayMs: 0, timeoutMs: 1000 },
      logger: log.logger,
    };
    running = await startServer(options);
    await untilStatus(running.gateway, 'healthy');
  });
  afterEach(() => running.close());

  it('applies what can change live and keeps a new listen address, saying so, as the file reload does', async () => {
    const emitted: ReloadOutcome[] = [];
    running.on('reload', (outcome: ReloadOutcome) => emitted.push(outcome));
    const outcome = running.reload({ ...options, listen: '127.0.0.1:1', discovery: { document: { server_name: 'two.example.test' } } });
    expect(outcome).toEqual({ result: 'partial', changed: ['discovery.document.server_name'], kept: ['listen'], problems: [] });
    expect(emitted).toEqual([outcome]);
    expect((await testRequest(`${running.url}/.well-known/cryptid`, { ca: cert.cert })).json).toMatchObject({ server_name: 'two.example.test' });
    expect(log.lines.filter((l) => l.event === 'config_restart_required')).toEqual([expect.objectContaining({ key: 'listen', level: 40 })]);
  });

  it('refuses an invalid configuration without throwing, and says why', async () => {
    const outcome = running.reload({ ...options, proxy: { timeoutMs: 0 } });
    expect(outcome).toMatchObject({ result: 'rejected', changed: [], problems: [{ path: 'proxy.timeoutMs', message: expect.stringContaining('positive integer') }] });
    expect(running.gateway.config.proxy.timeoutMs).toBe(30_000);
    expect(log.lines.find((l) => l.event === 'config_reload_rejected')).toMatchObject({ level: 50, problems: [expect.stringMatching(/^proxy\.timeoutMs: /)] });
  });

  it('re-reads the options given at start when called without any: nothing changed', () => {
    expect(running.reload()).toEqual({ result: 'unchanged', changed: [], kept: [], problems: [] });
  });
});
