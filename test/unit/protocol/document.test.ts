import { configuredDocumentSchema, isFqdn, publishedDocumentSchema } from '../../../src/protocol/document';

const published = {
  protocol_version: '1.0',
  server_name: 'server.example.com',
  federation_enabled: true,
  supported_features: ['mls_messaging'],
  rate_limits: { federated_messages_per_minute: 1000, announcements_per_hour: 24 },
  message_limits: { max_message_size: 10485760, max_retention_days: 30 },
  certificate_fingerprint: `sha256:${'ab'.repeat(32)}`,
};

describe('discovery document validation', () => {
  it('accepts the published basic example and keeps extra fields of the extended one', () => {
    expect(publishedDocumentSchema.parse(published)).toEqual(published);
    const extended = { ...published, websocket: { enabled: true, max_connections_per_device: 1 }, rate_limits: { ...published.rate_limits, infopackage_uploads_per_day: 50 } };
    expect(publishedDocumentSchema.parse(extended)).toEqual(extended);
  });

  it.each(['1.0', '1', '1.2.3', 'v2.0'])('accepts protocol_version %s, which semver.coerce reads', (v) => {
    expect(publishedDocumentSchema.safeParse({ ...published, protocol_version: v }).success).toBe(true);
  });

  it.each(['', 'one', 'latest'])('rejects protocol_version %j', (v) => {
    expect(publishedDocumentSchema.safeParse({ ...published, protocol_version: v }).success).toBe(false);
  });

  it.each([
    ['chat.example.com', true],
    ['a-b.c1.example', true],
    ['Chat.Example.com', false],
    ['chat.example.com.', false],
    ['chat.example.com:8443', false],
    ['localhost', false],
    ['-bad.example.com', false],
    ['exa_mple.com', false],
    [`${'a'.repeat(64)}.com`, false],
  ])('judges server_name %s as a lower-case FQDN: %s', (name, ok) => {
    expect(isFqdn(name)).toBe(ok);
  });

  it('requires mls_messaging among the features', () => {
    const r = publishedDocumentSchema.safeParse({ ...published, supported_features: ['websocket_streaming'] });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toMatch(/mls_messaging/);
  });

  it.each([0, -1, 1.5, '10'])('rejects the limit %j', (value) => {
    expect(publishedDocumentSchema.safeParse({ ...published, message_limits: { ...published.message_limits, max_message_size: value } }).success).toBe(false);
    expect(publishedDocumentSchema.safeParse({ ...published, rate_limits: { ...published.rate_limits, extra_per_day: value } }).success).toBe(false);
  });

  it.each([`sha256:${'A'.repeat(64)}`, `sha256:${'a'.repeat(63)}`, `sha1:${'a'.repeat(64)}`, 'a1b2c3'])('rejects the fingerprint %s', (fp) => {
    expect(publishedDocumentSchema.safeParse({ ...published, certificate_fingerprint: fp }).success).toBe(false);
  });

  it('requires every field of a published document', () => {
    for (const key of Object.keys(published)) {
      const { [key]: _dropped, ...rest } = published as Record<string, unknown>;
      expect(publishedDocumentSchema.safeParse(rest).success).toBe(false);
    }
  });

  it('fills the configured document with the published defaults', () => {
    expect(configuredDocumentSchema.parse({ server_name: 'chat.example.com' })).toEqual({
      protocol_version: '1.0',
      server_name: 'chat.example.com',
      federation_enabled: true,
      supported_features: ['mls_messaging', 'websocket_streaming', 'offline_queuing'],
      rate_limits: { federated_messages_per_minute: 1000, announcements_per_hour: 24 },
      message_limits: { max_message_size: 10485760, max_retention_days: 30 },
    });
  });
});
