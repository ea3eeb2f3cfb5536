/** Human output of bg:cache prune. */
import type { CacheUsage } from "../replay/source-cache.js";

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function renderCachePrune(r: { dir: string; maxBytes: number; before: CacheUsage; removed: CacheUsage; left: CacheUsage }): string {
  return [
    `Source cache ${r.dir}: ${r.before.files} files, ${mb(r.before.bytes)}.`,
    r.removed.files === 0
      ? `Nothing to remove: it is within ${mb(r.maxBytes)}.`
      : `Removed ${r.removed.files} files (${mb(r.removed.bytes)}), least recently read first; ${r.left.files} files (${mb(r.left.bytes)}) left.`,
  ].join("\n");
}
