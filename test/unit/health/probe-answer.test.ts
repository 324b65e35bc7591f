import type { ProbeVerdict } from '../../../src/health/probe';
import { classifyAnswer } from '../../../src/health/probe-answer';

describe('classifyAnswer', () => {
  const table: Array<[string, string, ProbeVerdict]> = [
    ['healthy', '{"status":"healthy","timestamp":1,"version":"1.0.0","uptime":5}', { result: 'success' }],
    ['a discovery document (no status field)', '{"protocol_version":"1.0","server_name":"a.example"}', { result: 'success' }],
    ['JSON that is not an object', 'true', { result: 'success' }],
    ['degraded with details', '{"status":"degraded","details":"replica lagging"}', { result: 'degraded', details: 'replica lagging' }],
    ['degraded without details', '{"status":"degraded"}', { result: 'degraded' }],
    [
      'unhealthy with details',
      '{"status":"unhealthy","details":"Database connection failed"}',
      { result: 'failure', reason: 'upstream reports unhealthy: Database connection failed' },
    ],
    ['an unknown status', '{"status":"unknown"}', { result: 'failure', reason: 'upstream reports an unknown status "unknown"' }],
    ['a status that is not a string', '{"status":1}', { result: 'failure', reason: 'upstream health answer has a status that is not a string' }],
    ['HTML', '<!doctype html><title>ok</title>', { result: 'failure', reason: 'upstream health answer is not JSON' }],
    ['an empty body', '', { result: 'failure', reason: 'upstream health answer is not JSON' }],
  ];

  it.each(table)('classifies %s', (_name, body, expected) => {
    expect(classifyAnswer(body)).toEqual(expected);
  });

  it('quotes upstream text on one line and at most 200 characters', () => {
    const verdict = classifyAnswer(JSON.stringify({ status: 'degraded', details: `line one\nline two\u0007${'x'.repeat(500)}` }));
    expect(verdict.result).toBe('degraded');
    const details = verdict.result === 'degraded' ? (verdict.details ?? '') : '';
    expect(details.startsWith('line one line two x')).toBe(true);
    expect(details).toHaveLength(200);
    expect(details.endsWith('…')).toBe(true);
  });
});
