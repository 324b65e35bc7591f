/**
 * The protocol's route table (protocol reference §9.1) as a matcher from a request to
 * its route template, the `route` label of the request metrics.
 *
 * The raw path never becomes a label: an InfoPackage URL segment is a secret, and a scan
 * of random URLs must not create series. Every answer is one of `ROUTES`, a closed set.
 */

/** Every value `routeOf` can return. */
export const ROUTES = [
  '/.well-known/cryptid',
  '/v1/health',
  '/v1/announce',
  '/v1/auth/refresh',
  '/v1/messages',
  '/v1/messages/batch',
  '/v1/stream',
  '/v1/infopackages/upload',
  '/v1/infopackages/:url_segment',
  '/v1/keypackages/upload',
  '/v1/keypackages/:device_id',
  '/federation/v1/deliver/:transaction_id',
  '/admin/v1/auth/challenge',
  '/admin/v1/auth',
  '/admin/v1/trust/verify',
  '/admin/v1/trust/set-rate-limit',
  '/admin/v1/other',
  '/federation/other',
  '/v1/other',
  'other',
] as const;

/** A route template of the protocol, one of the `…/other` buckets, or `other`. */
export type RouteLabel = (typeof ROUTES)[number];

/**
 * One node of the path trie. `fallback` answers both for a path that ends here without a
 * route of its own and for a path that leaves the trie below here.
 */
interface RouteNode {
  readonly route: RouteLabel | undefined;
  readonly fallback: RouteLabel;
  readonly children: ReadonlyMap<string, RouteNode>;
  /** A `:parameter` segment: matches exactly one non-empty segment not claimed by `children`. */
  readonly param: RouteNode | undefined;
}

interface NodeSpec {
  route?: RouteLabel;
  fallback?: RouteLabel;
  children?: Record<string, NodeSpec>;
  param?: NodeSpec;
}

function build(spec: NodeSpec, inherited: RouteLabel): RouteNode {
  const fallback = spec.fallback ?? inherited;
  const children = new Map<string, RouteNode>();
  for (const [segment, child] of Object.entries(spec.children ?? {})) children.set(segment, build(child, fallback));
  return {
    route: spec.route,
    fallback,
    children,
    param: spec.param ? build(spec.param, fallback) : undefined,
  };
}

/**
 * The table of §9.1, one segment per level. Literal segments win over a parameter, so
 * `/v1/infopackages/upload` is matched before `/v1/infopackages/:url_segment`.
 */
const TRIE: RouteNode = build(
  {
    fallback: 'other',
    children: {
      '.well-known': { children: { cryptid: { route: '/.well-known/cryptid' } } },
      v1: {
        fallback: '/v1/other',
        children: {
          health: { route: '/v1/health' },
          announce: { route: '/v1/announce' },
          auth: { children: { refresh: { route: '/v1/auth/refresh' } } },
          messages: { route: '/v1/messages', children: { batch: { route: '/v1/messages/batch' } } },
          stream: { route: '/v1/stream' },
          infopackages: {
            children: { upload: { route: '/v1/infopackages/upload' } },
            param: { route: '/v1/infopackages/:url_segment' },
          },
          keypackages: {
            children: { upload: { route: '/v1/keypackages/upload' } },
            param: { route: '/v1/keypackages/:device_id' },
          },
        },
      },
      federation: {
        fallback: '/federation/other',
        children: {
          v1: { children: { deliver: { param: { route: '/federation/v1/deliver/:transaction_id' } } } },
        },
      },
      admin: {
        children: {
          v1: {
            fallback: '/admin/v1/other',
            children: {
              auth: { route: '/admin/v1/auth', children: { challenge: { route: '/admin/v1/auth/challenge' } } },
              trust: {
                children: {
                  verify: { route: '/admin/v1/trust/verify' },
                  'set-rate-limit': { route: '/admin/v1/trust/set-rate-limit' },
                },
              },
            },
          },
        },
      },
    },
  },
  'other',
);

/**
 * The `route` label of a request: its template from the protocol's route table
 * (§9.1), the `…/other` bucket of its prefix, or `other`.
 *
 * Matching is by path alone, exact and case-sensitive, segment by segment: the query is
 * ignored, a trailing slash or an empty segment is not the template (it falls into the
 * prefix's bucket), and nothing is decoded (`%2F` is not a separator). The method is its
 * own label; it is taken here so that a route whose template depends on the method can
 * be added without changing callers, but no row of the current table needs it.
 *
 * @param _method the request method (not used by the current table)
 * @param url the request target as Node gives it (`req.url`): path and optional query
 */
export function routeOf(_method: string | undefined, url: string | undefined): RouteLabel {
  if (url === undefined || url.charCodeAt(0) !== 0x2f /* "/" */) return 'other';
  const q = url.indexOf('?');
  const end = q === -1 ? url.length : q;
  let node = TRIE;
  // Segment by segment after the leading slash, without splitting the path into an array first.
  for (let start = 1; start <= end;) {
    let stop = url.indexOf('/', start);
    if (stop === -1 || stop > end) stop = end;
    const segment = url.slice(start, stop);
    const next = node.children.get(segment) ?? (segment === '' ? undefined : node.param);
    if (next === undefined) return node.fallback;
    node = next;
    start = stop + 1;
  }
  return node.route ?? node.fallback;
}
