/**
 * Hardhat's build is not safe across processes: two bg:stage runs started
 * together both compile, and one reads a build info the other is still
 * moving into place ("File …/cache/build-info/….output.json not found").
 * So runs of one project take turns at the compile step. A lock left by a
 * dead process is taken over (the mutex checks its PID).
 */
import path from "node:path";

import { MultiProcessMutex, MultiProcessMutexTimeoutError } from "@nomicfoundation/hardhat-utils/synchronization";

import { BlueGreenError } from "../errors.js";

const BUILD_LOCK_MS = 10 * 60_000;

export async function withBuildLock<T>(cacheDir: string, fn: () => Promise<T>): Promise<T> {
  const file = path.join(cacheDir, "bluegreen-build.lock");
  let release: () => Promise<void>;
  try {
    release = await new MultiProcessMutex(file, BUILD_LOCK_MS).acquire();
  } catch (error) {
    if (!(error instanceof MultiProcessMutexTimeoutError)) throw error;
    throw new BlueGreenError("BG_STAGE_BUILD_BUSY", `Another bg:stage of this project has been compiling for over ${BUILD_LOCK_MS / 60_000} minutes (lock ${file}).`, {
      hint: "Wait for it to finish and run bg:stage again; if no such run is alive, delete that lock file.",
      cause: error,
    });
  }
  try {
    return await fn();
  } finally {
    await release();
  }
}
