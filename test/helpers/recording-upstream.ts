import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { startUpstream, type TestUpstream } from './upstream';

/** What the upstream received of one request: its exact body bytes, by length and SHA-256. */
export interface ReceivedBody {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** Bytes actually received. */
  readonly length: number;
  /** Hex SHA-256 of the bytes actually received. */
  readonly sha256: string;
}

/** An upstream that records every request's body and answers with that record as JSON. */
export interface RecordingUpstream extends TestUpstream {
  readonly received: ReceivedBody[];
}

/** The hex SHA-256 of `data`, to compare with what the upstream received. */
export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function startRecordingUpstream(): Promise<RecordingUpstream> {
  const received: ReceivedBody[] = [];
  const upstream = await startUpstream((req, res) => {
    const hash = createHash('sha256');
    let length = 0;
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      length += chunk.length;
    });
    req.on('end', () => {
      const record: ReceivedBody = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, length, sha256: hash.digest('hex') };
      received.push(record);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(record));
    });
  });
  return Object.assign(upstream, { received });
}
