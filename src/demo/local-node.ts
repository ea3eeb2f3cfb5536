/**
 * The demo's chains: real `hardhat node` processes, each on its own free
 * port, started from the Hardhat installation that runs the demo and stopped
 * by their PID.
 *
 * Each node gets a small config file written into the demo's run folder, so
 * nothing of the user's hardhat.config.ts is used: no compile, no plugins,
 * just a chain (chain id, hardfork, funded accounts, and failed transactions
 * mined with a receipt as on a real chain instead of thrown back).
 *
 * A node also dies with the demo: it is spawned with an IPC channel and a
 * one-line guard that exits when the channel closes, which happens when the
 * demo process ends for any reason, even a `kill -9` no handler can catch.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import path from "node:path";

import type { Eip1193Provider } from "../chain/eip1193.js";
import { JsonRpcClient } from "../chain/json-rpc.js";
import { BlueGreenError } from "../errors.js";

export interface LocalNodeOptions {
  /** What the node stands for, in messages and file names: "mainnet", "testnet". */
  role: string;
  chainId: number;
  /** Folder for the node's config and its scratch folders (inside the user's project). */
  dir: string;
  /** Funded accounts the node unlocks. */
  accounts: number;
}

export interface LocalNode {
  role: string;
  chainId: number;
  url: string;
  port: number;
  pid: number;
  rpc: Eip1193Provider;
  /** Stops the node (SIGTERM, then SIGKILL) and waits for it to exit. */
  stop(): Promise<void>;
  /** True once the process has exited. */
  readonly exited: boolean;
}

/** The exit guard: a node process ends as soon as its parent's IPC channel closes. */
const EXIT_WITH_PARENT = "data:text/javascript,process.on('disconnect',()=>process.exit(0))";
const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;

/** Every node started and not yet stopped, so signal handlers can stop them. */
const running = new Set<LocalNode & { kill(signal: NodeJS.Signals): void }>();

/** Starts a node and resolves once it answers with its chain id. */
export async function startLocalNode(options: LocalNodeOptions): Promise<LocalNode> {
  const cli = hardhatCli(options.dir);
  await mkdir(options.dir, { recursive: true });
  const config = path.join(options.dir, `${options.role}.hardhat.config.mjs`);
  await writeFile(config, nodeConfig(options));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;

  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", EXIT_WITH_PARENT, cli, "--config", config, "node", "--port", String(port), "--hostname", "127.0.0.1"],
    { cwd: options.dir, stdio: ["ignore", "ignore", "pipe", "ipc"], env: { ...process.env, FORCE_COLOR: "0" } },
  );
  // The channel is only there to die with the demo; it must not keep the demo alive.
  child.channel?.unref();
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  if (child.pid === undefined) {
    throw new BlueGreenError("BG_DEMO_HARDHAT_MISSING", `Could not start the ${options.role} node (${process.execPath} ${cli}). Check that Hardhat is installed in this project.`);
  }
  const pid = child.pid;
  // No retries and no timeout: the demo's own local node, where every read must see the chain as it is now
  // and a transaction must never be sent twice.
  const rpc = new JsonRpcClient({ url, retries: 0, timeoutMs: Infinity, name: `${options.role} node` });
  const isRunning = () => child.exitCode === null && child.signalCode === null;
  const node = {
    role: options.role,
    chainId: options.chainId,
    url,
    port,
    pid,
    rpc,
    get exited() {
      return !isRunning();
    },
    kill(signal: NodeJS.Signals) {
      if (isRunning()) process.kill(pid, signal);
    },
    async stop() {
      running.delete(node);
      if (isRunning()) {
        process.kill(pid, "SIGTERM");
        const timer = setTimeout(() => node.kill("SIGKILL"), STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }
    },
  };
  running.add(node);

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (!isRunning()) break;
    try {
      const chainId = Number(BigInt((await rpc.request({ method: "eth_chainId" })) as string));
      if (chainId !== options.chainId) {
        await node.stop();
        throw new BlueGreenError("BG_DEMO_PORT_TAKEN", `The ${options.role} node answers chain id ${chainId}, not ${options.chainId}: another process holds port ${port}. Run the demo again.`);
      }
      // The node logs every request; the demo reads the chain itself and needs none of that.
      await rpc.request({ method: "hardhat_setLoggingEnabled", params: [false] });
      return node;
    } catch (error) {
      if (BlueGreenError.is(error, "BG_DEMO_PORT_TAKEN")) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  await node.stop();
  throw new BlueGreenError(
    "BG_DEMO_NODE_START", `The ${options.role} node did not start on ${url} within ${START_TIMEOUT_MS / 1000}s` +
      (stderr.trim() !== "" ? `: ${stderr.trim().split("\n").slice(-5).join(" / ")}` : ".") +
      " Check that `npx hardhat node` works in this project.",
  );
}

/** Stops every node still running, in parallel. */
export async function stopAllLocalNodes(): Promise<void> {
  await Promise.all([...running].map((node) => node.stop()));
}

/**
 * On Ctrl-C or SIGTERM, stops every node at once and exits with the signal's
 * code (130 / 143). Returns the function that removes the handlers.
 */
export function stopNodesOnSignals(onSignal?: (signal: NodeJS.Signals) => void): () => void {
  const handler = (signal: NodeJS.Signals) => {
    onSignal?.(signal);
    for (const node of running) node.kill("SIGTERM");
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  // Last resort when the process exits some other way: nothing may outlive it.
  const onExit = () => {
    for (const node of running) node.kill("SIGKILL");
  };
  process.once("SIGINT", handler);
  process.once("SIGTERM", handler);
  process.once("exit", onExit);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
    process.off("exit", onExit);
  };
}

/**
 * The CLI of the Hardhat that the demo's project uses, which is the one
 * running (Hardhat refuses a config whose project resolves another copy).
 */
function hardhatCli(fromDir: string): string {
  let entry: string;
  try {
    entry = createRequire(path.join(fromDir, "noop.js")).resolve("hardhat");
  } catch (error) {
    throw new BlueGreenError("BG_DEMO_HARDHAT_MISSING", "The demo could not find Hardhat from this project. Install it: npm install --save-dev hardhat", { cause: error as Error });
  }
  const cli = path.join(path.dirname(entry), "cli.js");
  if (!existsSync(cli)) throw new BlueGreenError("BG_DEMO_HARDHAT_MISSING", `Hardhat's command line is not at ${cli}. Reinstall hardhat in this project.`);
  return cli;
}

/**
 * The node's whole config. Scratch folders point into the run folder, so
 * the node never touches the project's artifacts or cache.
 */
function nodeConfig(options: LocalNodeOptions): string {
  const config = {
    paths: {
      artifacts: path.join(options.dir, `${options.role}-artifacts`),
      cache: path.join(options.dir, `${options.role}-cache`),
    },
    networks: {
      node: {
        type: "edr-simulated",
        chainId: options.chainId,
        hardfork: "prague",
        accounts: { count: options.accounts },
        // A reverted transaction is mined and gets a receipt, as on a real chain.
        throwOnTransactionFailures: false,
        loggingEnabled: false,
      },
    },
  };
  return `// Written by \`npx hardhat bg:demo\` for its ${options.role} node.\nexport default ${JSON.stringify(config, null, 2)};\n`;
}

/** Asks the OS for a free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === "string") reject(new Error("no free port"));
        else resolve(address.port);
      });
    });
  });
}
