import path from "node:path";

import { BlueGreenError } from "../src/errors.js";
import { startMirror } from "../src/replay/mirror.js";
import { renderMirrorStarted, renderMirrorStopped } from "../src/ui/replay-terminal.js";

interface MirrorArgs {
  upstream: string;
  proxy: string;
  port: number;
  out: string;
}

/** Runs the tee until Ctrl-C (or SIGTERM), then flushes the capture file and says what it caught. */
export default async function mirror(args: MirrorArgs): Promise<void> {
  if (args.upstream === "") throw new BlueGreenError("BG_REPLAY_MIRROR_OPTION", "Pass --upstream <url> of the node to forward to (your RPC endpoint).");
  if (args.proxy === "") throw new BlueGreenError("BG_REPLAY_MIRROR_OPTION", "Pass --proxy <address> of the proxy whose traffic to capture.");
  const out = path.resolve(args.out);
  const tee = await startMirror({ upstream: args.upstream, proxy: args.proxy, port: args.port, out });
  const rel = path.relative(process.cwd(), out) || out;
  process.stdout.write(renderMirrorStarted({ url: tee.url, upstream: args.upstream, proxy: args.proxy.toLowerCase(), out: rel }) + "\n");
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await tee.stop();
  process.stdout.write(renderMirrorStopped({ ...tee.stats, out: rel }) + "\n");
}
