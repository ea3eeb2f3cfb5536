/**
 * Separate "mainnet" nodes for forked-chain tests: a Hardhat node and anvil
 * (from npm), each on its own free port, each stopped by its own PID.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";

import { JsonRpcClient } from "../../src/chain/json-rpc.js";
import { freePort } from "../../src/demo/local-node.js";

export { freePort };

export type NodeKind = "hardhat" | "anvil";

export interface RunningNode {
  kind: NodeKind;
  url: string;
  port: number;
  pid: number;
  /** Stops the node (by PID) and waits for it to exit. */
  stop(): Promise<void>;
}

const ROOT = path.resolve(import.meta.dirname, "../..");
const BIN = path.join(ROOT, "node_modules", ".bin");

/** Starts a node and resolves once it answers eth_chainId. */
export async function startNode(kind: NodeKind, extraArgs: string[] = []): Promise<RunningNode> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess =
    kind === "anvil"
      ? spawn(path.join(BIN, "anvil"), ["--port", String(port), "--silent", ...extraArgs], {
          stdio: ["ignore", "ignore", "pipe"],
        })
      : spawn(path.join(BIN, "hardhat"), ["node", "--port", String(port), ...extraArgs], {
          cwd: ROOT,
          stdio: ["ignore", "ignore", "pipe"],
          env: { ...process.env, PATH: `${BIN}${path.delimiter}${process.env.PATH}` },
        });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      process.kill(child.pid, "SIGTERM");
      const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, "SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
  };
  // This loop is the retry: one attempt per poll.
  const rpc = new JsonRpcClient({ url, retries: 0, timeoutMs: 5_000, name: `${kind} node` });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${kind} node exited early: ${stderr}`);
    try {
      await rpc.request({ method: "eth_chainId" });
      return { kind, url, port, pid: child.pid!, stop };
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await stop();
  throw new Error(`${kind} node did not answer on ${url} within 60s: ${stderr}`);
}
