import { PathFilter } from '../../../src/proxy/path-filter';

describe('PathFilter', () => {
  const filter = new PathFilter(['/v1/', '/federation', '/Admin/']);

  it.each(['/v1', '/v1/', '/v1/messages', '/V1/Messages', '/federation/v1/deliver/abc', '/federation', '/admin/v1/users', '/v1//x', '/v1/%61'])('forwards %s', (path) => {
    expect(filter.forwards(path)).toBe(true);
  });

  it.each([
    '/',
    '/v1x',
    '/v2/messages',
    '/fed',
    '/federationx',
    '/app/hello',
    '/.well-known/cryptid',
    '/v1/../app',
    '/app/../v1/messages',
    '/%76%31/messages',
    '/v1/%2e%2e/app',
  ])('does not forward %s', (path) => {
    expect(filter.forwards(path)).toBe(false);
  });

  it('forwards everything with "/" among the prefixes, and nothing with none', () => {
    expect(new PathFilter(['/']).forwards('/anything/../at/all')).toBe(true);
    expect(new PathFilter(['/v1/', '/']).everything).toBe(true);
    expect(new PathFilter([]).forwards('/v1/messages')).toBe(false);
  });
});
