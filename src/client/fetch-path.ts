import { CONNECTION_DEFAULTS, connectUrl, type ConnectionOptions } from './connection';
import { httpsGet, type HttpsAnswer } from './https-get';

/** What one client call asks for besides the connection options. */
export interface PathRequest {
  readonly path: string;
  /** Which statuses have a body worth reading (others are answered by status alone). */
  readonly wantBody: (status: number) => boolean;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** GET `path` on a normalised domain with the caller's connection options and their defaults applied. */
export async function fetchPath(domain: string, options: ConnectionOptions, request: PathRequest): Promise<HttpsAnswer> {
  return httpsGet({
    domain,
    connectTo: await connectUrl(domain, options.resolve),
    ca: options.ca,
    timeoutMs: options.timeoutMs ?? CONNECTION_DEFAULTS.timeoutMs,
    maxBodyBytes: options.maxBodyBytes ?? CONNECTION_DEFAULTS.maxBodyBytes,
    maxRedirects: options.maxRedirects ?? CONNECTION_DEFAULTS.maxRedirects,
    ...request,
  });
}
