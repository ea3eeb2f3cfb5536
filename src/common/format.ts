/** Small formatters that more than one layer prints with. */

/** 0x12345678…abcd: enough to recognise a hash or an address, short enough for one line. */
export function short(hex: string, head = 10, tail = 4): string {
  return hex.length <= head + tail ? hex : `${hex.slice(0, head)}…${tail > 0 ? hex.slice(-tail) : ""}`;
}

/** A unix time in seconds as ISO 8601 (UTC). */
export function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

/** A number as a JSON-RPC quantity. */
export function quantity(n: number | bigint): string {
  return "0x" + n.toString(16);
}

/**
 * A value as it will be stored: bigints become decimal strings and undefined
 * fields go, so what is hashed is exactly what a reader of the file sees.
 */
export function jsonSafe<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v))) as T;
}
