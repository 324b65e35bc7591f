import type { Duplex } from 'node:stream';

/** Something that must be released when the client's connection closes. */
export interface ClientBound {
  clientGone(): void;
}

const kBound = Symbol('cryptid.clientBound');

/**
 * Who waits on a watched socket: one exchange (the usual case), several (pipelined
 * requests), or nobody for now (null). Not a `Set`: a keep-alive socket outlives many young
 * collections, and V8 allocates the rehashed table of a `Set` in the generation of the table
 * it replaces, so an add and a delete per request on an old `Set` left ~120 B of garbage in
 * the old generation per request (about 12 MiB of heap in 8 s of 64 KiB POSTs, collected
 * only by full collections, and seen in the peak RSS). A field and a rarely used array
 * allocate nothing per request.
 */
type Bound = ClientBound | ClientBound[] | null;

type Watched = Duplex & { [kBound]?: Bound };

/**
 * Calls `bound.clientGone()` once `socket` closes, unless `releaseClient(socket, bound)`
 * was called first.
 *
 * The response's own 'close' is not enough: node:http queues the responses of pipelined
 * requests, and a queued `ServerResponse` is only attached to the socket when its turn
 * comes, so if the socket dies first that response never emits 'close'. The socket always
 * tells. It gets one listener however deep the client pipelines.
 */
export function watchClient(socket: Duplex, bound: ClientBound): void {
  const watched = socket as Watched;
  if (watched.destroyed) {
    // A host app that called the gateway late (after an async middleware): already gone.
    process.nextTick(goneNow, bound);
    return;
  }
  const current = watched[kBound];
  if (current === undefined) {
    watched[kBound] = bound;
    watched.once('close', onClose);
  } else if (current === null) watched[kBound] = bound;
  else if (Array.isArray(current)) {
    if (!current.includes(bound)) current.push(bound);
  } else if (current !== bound) watched[kBound] = [current, bound];
}

/** `bound` no longer needs to hear of `socket` closing (no closure per request to undo the watch). */
export function releaseClient(socket: Duplex, bound: ClientBound): void {
  const watched = socket as Watched;
  const current = watched[kBound];
  if (current === bound) watched[kBound] = null;
  else if (Array.isArray(current)) {
    const i = current.indexOf(bound);
    if (i >= 0) current.splice(i, 1);
  }
}

function onClose(this: Watched): void {
  const current = this[kBound];
  // Cleared first: each one told releases itself, which must find nothing left to undo.
  this[kBound] = null;
  if (Array.isArray(current)) for (const each of current) each.clientGone();
  else if (current) current.clientGone();
}

function goneNow(bound: ClientBound): void {
  bound.clientGone();
}
