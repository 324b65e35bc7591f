import { readUpstreamAnswer } from '../../../src/discovery/upstream-answer';
import { changedFields } from '../../../src/discovery/upstream-document';
import { DOCUMENT_DEFAULTS, type DocumentTemplate } from '../../../src/protocol/document';
import { upstreamDocument } from '../../helpers/document-upstream';

const answer = (body: unknown, status = 200) => ({ kind: 'answer' as const, status, body: typeof body === 'string' ? body : JSON.stringify(body) });

describe('readUpstreamAnswer', () => {
  it("drops the upstream's fingerprint, keeps extra fields and fills the protocol's defaults, as for a configured document", () => {
    const read = readUpstreamAnswer(
      answer({ protocol_version: '1.1', server_name: 'origin.example.test', certificate_fingerprint: 'whatever the upstream says', websocket: { path: '/v1/stream' } }),
      {},
    );
    expect(read).toEqual({ ok: true, template: { ...DOCUMENT_DEFAULTS, protocol_version: '1.1', server_name: 'origin.example.test', websocket: { path: '/v1/stream' } } });
  });

  it('lays the overrides over the upstream fields: limit objects field by field, anything else replaced', () => {
    const read = readUpstreamAnswer(
      answer(upstreamDocument('origin.example.test', { rate_limits: { federated_messages_per_minute: 9, announcements_per_hour: 8, uploads_per_hour: 7 } })),
      {
        server_name: 'chat.example.test',
        supported_features: ['mls_messaging'],
        rate_limits: { announcements_per_hour: 1 },
        certificate_fingerprint: `sha256:${'1'.repeat(64)}`,
      },
    );
    expect(read.ok && read.template).toMatchObject({
      server_name: 'chat.example.test',
      supported_features: ['mls_messaging'],
      rate_limits: { federated_messages_per_minute: 9, announcements_per_hour: 1, uploads_per_hour: 7 },
      certificate_fingerprint: `sha256:${'1'.repeat(64)}`,
    });
  });

  it('lets an override stand in for a field the upstream lacks or gets wrong', () => {
    const doc = upstreamDocument('localhost');
    expect(readUpstreamAnswer(answer(doc), {})).toEqual({
      ok: false,
      problems: [expect.stringMatching(/^server_name: expected a fully qualified domain name.*\(got "localhost"\)$/)],
    });
    expect(readUpstreamAnswer(answer(doc), { server_name: 'chat.example.test' }).ok).toBe(true);
  });

  it('does not hide a broken limit object of the upstream behind an override of one of its fields', () => {
    const read = readUpstreamAnswer(answer(upstreamDocument('origin.example.test', { rate_limits: 'lots' })), { rate_limits: { announcements_per_hour: 1 } });
    expect(read).toEqual({ ok: false, problems: ['rate_limits: expected an object of positive integer limits (got "lots")'] });
  });

  it.each([
    ['a status other than 200', answer(upstreamDocument(), 203), 'upstream answered 203, not 200'],
    ['a body that is not JSON', answer('<html>'), 'answer is not JSON'],
    ['JSON that is not an object', answer([upstreamDocument()]), 'answer is not a JSON object'],
    ['an answer over 64 KiB', { kind: 'oversized' as const, status: 200 }, 'answer larger than 64 KiB'],
  ])('refuses %s', (_what, outcome, problem) => {
    expect(readUpstreamAnswer(outcome, {})).toEqual({ ok: false, problems: [problem] });
  });

  it('lists every problem, near misses included, quoting the values (shortened)', () => {
    const read = readUpstreamAnswer(
      answer({ ...upstreamDocument(), supported_featurs: [], protocol_version: 'x'.repeat(100), message_limits: { max_message_size: 1.5, max_retention_days: 30 } }),
      {},
    );
    expect(read.ok).toBe(false);
    expect(!read.ok && read.problems).toEqual([
      expect.stringMatching(/^supported_featurs: not a protocol field: did you mean "supported_features"\?/),
      expect.stringMatching(/^protocol_version: expected a semantic version .*\(got "x{76}\.\.\.\)$/),
      'message_limits.max_message_size: expected a positive integer (got 1.5)',
    ]);
  });
});

describe('changedFields', () => {
  const base = { ...DOCUMENT_DEFAULTS, server_name: 'a.example.test' } as unknown as DocumentTemplate;
  it('names the top-level fields that differ, added and removed ones included', () => {
    expect(changedFields(base, { ...base })).toEqual([]);
    expect(changedFields(base, { ...base, rate_limits: { federated_messages_per_minute: 1, announcements_per_hour: 24 }, websocket: {} } as DocumentTemplate)).toEqual([
      'rate_limits',
      'websocket',
    ]);
    const { federation_enabled: _gone, ...rest } = base;
    expect(changedFields(base, rest as DocumentTemplate)).toEqual(['federation_enabled']);
    expect(changedFields(undefined, base)).toEqual(Object.keys(base));
  });
});
