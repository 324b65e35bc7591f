import { ZodMiniArray, ZodMiniObject, type ZodMiniType } from 'zod/mini';
import { configSchema } from './schema';

/**
 * The configuration schema at `path` (keys, and indexes into lists), seen through the
 * wrappers a field may have (default, prefault, optional, nullable); undefined where the
 * configuration has no such place.
 */
export function schemaAt(path: readonly PropertyKey[]): ZodMiniType | undefined {
  let schema = unwrap(configSchema);
  for (const key of path) {
    let next: ZodMiniType | undefined;
    if (schema instanceof ZodMiniObject) next = Object.hasOwn(schema.shape, key) ? (schema.shape as Record<PropertyKey, ZodMiniType>)[key] : undefined;
    else if (schema instanceof ZodMiniArray && typeof key === 'number') next = schema._zod.def.element as ZodMiniType;
    if (next === undefined) return undefined;
    schema = unwrap(next);
  }
  return schema;
}

/** The keys the configuration knows at `path` (an object there), for "did you mean" hints. */
export function knownKeysAt(path: readonly PropertyKey[]): string[] | undefined {
  const schema = schemaAt(path);
  return schema instanceof ZodMiniObject ? Object.keys(schema.shape) : undefined;
}

function unwrap(schema: ZodMiniType): ZodMiniType {
  let inner = schema;
  while ('innerType' in inner._zod.def) inner = (inner._zod.def as { innerType: ZodMiniType }).innerType;
  return inner;
}
