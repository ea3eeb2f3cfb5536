// Child process for the lock test: increments a counter in one record N times.
// Mocha also imports every file under test/, so act only when run directly.
import { setTimeout as sleep } from "node:timers/promises";

import { ReleaseStore } from "../../src/release/store.js";

if (process.argv[1] === import.meta.filename) {
  const [root, id, times, startAt] = process.argv.slice(2);
  const store = new ReleaseStore(root!);
  // Start together, and hold each read-modify-write open a little, so that
  // without the lock the writers would overwrite each other.
  await sleep(Math.max(0, Number(startAt) - Date.now()));
  for (let i = 0; i < Number(times); i++) {
    await store.update(31337, id!, async (record) => {
      const count = Number(record!.steps.counter?.count ?? 0);
      await sleep(2);
      return { ...record!, steps: { ...record!.steps, counter: { count: count + 1 } } };
    });
  }
}
