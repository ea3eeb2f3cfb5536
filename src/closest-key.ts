/**
 * Suggestions for unknown config keys: a typo such as `gate` for `gates`
 * must be an error that says what was probably meant, never a silent no-op.
 */
import { z } from "zod";

/** Edit distance (insertions, deletions, substitutions), case-insensitive. */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const row = [i];
    for (let j = 1; j <= t.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (s[i - 1] === t[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[t.length]!;
}

/**
 * The known key closest to `key`, if it is close enough to be a typo (at
 * most a third of the longer name, at least 2 edits allowed for short names),
 * or if one name contains the other.
 */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(key, name);
    if (best === undefined || distance < best.distance) best = { name, distance };
  }
  if (best === undefined) return undefined;
  const lower = key.toLowerCase();
  const contains = lower.length >= 3 && (best.name.toLowerCase().includes(lower) || lower.includes(best.name.toLowerCase()));
  const limit = Math.max(2, Math.floor(Math.max(key.length, best.name.length) / 3));
  return best.distance <= limit || contains ? best.name : undefined;
}

/** The message for one unknown key: where it is, what was probably meant, what exists. */
export function unknownKeyMessage(key: string, known: readonly string[], where: string): string {
  const suggestion = closestKey(key, known);
  return (
    `[BG_CONFIG_UNKNOWN_KEY] unknown key "${key}" in ${where}` +
    (suggestion !== undefined ? `; did you mean "${suggestion}"?` : "") +
    ` Known keys: ${known.join(", ")}. Fix or remove it: an unknown key would otherwise be ignored silently.`
  );
}

/**
 * The keys of the object schema found at `path` inside `schema`, looking
 * through optional, default, effects (refine/transform), arrays and unions.
 */
export function knownKeysAt(schema: z.ZodTypeAny, path: ReadonlyArray<string | number>): string[] | undefined {
  const objects = objectsAt(schema, path);
  if (objects.length === 0) return undefined;
  return [...new Set(objects.flatMap((o) => Object.keys(o.shape)))];
}

function objectsAt(schema: z.ZodTypeAny, path: ReadonlyArray<string | number>): Array<z.ZodObject<z.ZodRawShape>> {
  const s = unwrap(schema);
  if (s instanceof z.ZodUnion || s instanceof z.ZodDiscriminatedUnion) {
    return (s.options as z.ZodTypeAny[]).flatMap((o) => objectsAt(o, path));
  }
  if (path.length === 0) return s instanceof z.ZodObject ? [s] : [];
  const [head, ...rest] = path;
  if (s instanceof z.ZodArray && typeof head === "number") return objectsAt(s.element, rest);
  if (s instanceof z.ZodRecord) return objectsAt(s.valueSchema, rest);
  if (s instanceof z.ZodObject && typeof head === "string") {
    const child = (s.shape as z.ZodRawShape)[head];
    return child !== undefined ? objectsAt(child, rest) : [];
  }
  return [];
}

function unwrap(schema: z.ZodTypeAny): z.ZodTypeAny {
  let s = schema;
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap();
    else if (s instanceof z.ZodDefault) s = s._def.innerType;
    else if (s instanceof z.ZodEffects) s = s.innerType();
    else if (s instanceof z.ZodLazy) s = s.schema;
    else return s;
  }
}

/**
 * Turns zod issues into Hardhat's `{path, message}` errors under `root`,
 * with one error per unknown key naming the closest known key.
 */
export function configErrors(
  schema: z.ZodTypeAny,
  value: unknown,
  root: ReadonlyArray<string | number>,
): Array<{ path: Array<string | number>; message: string }> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return [];
  const errors: Array<{ path: Array<string | number>; message: string }> = [];
  for (const issue of parsed.error.issues) {
    if (issue.code === z.ZodIssueCode.unrecognized_keys) {
      const known = knownKeysAt(schema, issue.path) ?? [];
      const where = [...root, ...issue.path].join(".");
      for (const key of issue.keys) errors.push({ path: [...root, ...issue.path, key], message: unknownKeyMessage(key, known, where) });
    } else {
      errors.push({ path: [...root, ...issue.path], message: issue.message });
    }
  }
  return errors;
}
