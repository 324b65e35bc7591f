import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { testRequest } from '../helpers/http-request';

const root = join(__dirname, '..', '..');

describe('examples/express-mount', () => {
  let child: ChildProcess;
  let base: string;

  beforeAll(async () => {
    child = spawn(process.execPath, [join(root, 'examples/express-mount/server.js')], {
      env: { ...process.env, PORT: '0', LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [line] = (await once(child.stdout!, 'data')) as [Buffer];
    base = /listening on (\S+)/.exec(line.toString())![1]!;
  });
  afterAll(async () => {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  });

  it('serves the host app route and the discovery document from the built package', async () => {
    expect((await testRequest(`${base}/app/hello`)).json).toEqual({ hello: 'world' });
    const res = await testRequest(`${base}/.well-known/cryptid`);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ server_name: 'chat.example.com' });
  });
});
