import type { Duplex } from 'node:stream';

/** Something that must be released when the client's connection closes. */
export interface ClientBound {
  clientGone(): void;
}

const kBound = Symbol('cryptid.clientBound');

type Watched = Duplex & { [kBound]?: Set<ClientBound> };

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
  let set = watched[kBound];
  if (set === undefined) {
    const created = new Set<ClientBound>();
    set = watched[kBound] = created;
    watched.once('close', () => {
      delete watched[kBound];
      for (const each of created) each.clientGone();
      created.clear();
    });
  }
  set.add(bound);
}

/** `bound` no longer needs to hear of `socket` closing (no closure per request to undo the watch). */
export function releaseClient(socket: Duplex, bound: ClientBound): void {
  (socket as Watched)[kBound]?.delete(bound);
}

function goneNow(bound: ClientBound): void {
  bound.clientGone();
}
