import { UsageError } from '../../../src/cli/args';
import { startServeCommand } from '../../../src/cli/serve';
import { ConfigError } from '../../../src/errors';
import { makeCert, type TestCert } from '../../helpers/certs';
import { captureIo } from '../../helpers/cli-io';

// What serve does with a good configuration (flags over environment over file, signals) is
// tested on the real bin in test/e2e/cli.test.ts; here, what it refuses before starting.
describe('cryptid-gateway serve, refusing before it starts', () => {
  let cert: TestCert;
  beforeAll(() => {
    cert = makeCert();
  });
  afterAll(() => cert.cleanup());

  it('rejects a bad configuration with a ConfigError listing every problem, and writes nothing', async () => {
    const { io, out, err } = captureIo();
    const started = startServeCommand(['--upstream', 'nope', '--tls-cert', cert.certPath, '--tls-key', '/missing.key', '--listen', '127.0.0.1:0'], io);
    const error = await started.then(
      () => new Error('serve started with a bad configuration'),
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(['upstream:', 'discovery.document.server_name:', '/missing.key: private key no such file'].filter((p) => !message.includes(p))).toEqual([]);
    expect({ out: out(), err: err() }).toEqual({ out: '', err: '' });
  });

  it('rejects an unknown flag or a stray argument as a usage error naming it', async () => {
    await expect(startServeCommand(['--upstreem', 'x'], captureIo().io)).rejects.toThrow(UsageError);
    await expect(startServeCommand(['--upstreem', 'x'], captureIo().io)).rejects.toThrow("Unknown option '--upstreem'");
    await expect(startServeCommand(['extra'], captureIo().io)).rejects.toThrow(new UsageError('unexpected argument: extra'));
  });

  it('reads settings from the injected environment, not from the process', async () => {
    // CRYPTID_UPSTREAM is bad here; the problem list proves the injected env was read.
    const { io } = captureIo({ env: { CRYPTID_UPSTREAM: 'gopher://env-upstream' } });
    await expect(startServeCommand(['--tls-cert', cert.certPath, '--tls-key', cert.keyPath, '--server-name', 'chat.example.com'], io)).rejects.toThrow(/upstream:.*gopher/s);
  });
});
