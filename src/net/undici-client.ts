import type * as Undici from 'undici';

/*
 * undici's HTTP/1.1 client, required from the modules that define it rather than from the
 * package's index. The index also loads fetch, WebSocket, EventSource, the caches, the mocks
 * and the interceptors, none of which the gateway uses (measured on Node 20: 58.7 MiB of RSS
 * after requiring the index alone, 50.4 after these; a gateway after start, 72 → 67). The
 * classes are the index's own (the same modules), so a host app that also loads undici
 * shares them; test/package-exports.test.ts checks that, and that the index stays unloaded.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- paths inside the package, typed by its declarations */

/** undici's `Pool`: keep-alive connections to one origin. */
export const Pool = require('undici/lib/dispatcher/pool.js') as typeof Undici.Pool;
export type Pool = Undici.Pool;
/** undici's `Client`: one connection to one origin. */
export const Client = require('undici/lib/dispatcher/client.js') as typeof Undici.Client;
export type Client = Undici.Client;
/** undici's error classes. */
export const errors = require('undici/lib/core/errors.js') as typeof Undici.errors;

const requestOn = require('undici/lib/api/api-request.js') as (this: Undici.Dispatcher, options: Undici.Dispatcher.RequestOptions) => Promise<Undici.Dispatcher.ResponseData>;

/**
 * `dispatcher.request(options)`. The index adds `request` to every dispatcher's prototype
 * when it loads; without the index it is called on the dispatcher directly.
 */
export function request(dispatcher: Undici.Dispatcher, options: Undici.Dispatcher.RequestOptions): Promise<Undici.Dispatcher.ResponseData> {
  return requestOn.call(dispatcher, options);
}
