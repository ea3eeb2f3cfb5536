/**
 * A node that accepts connections and never answers must not hang a
 * command: each fails once `blueGreen.rpc.timeout` passes, with a coded
 * error that names the node. The node here is a real anvil behind the
 * suite's fault proxy, silenced.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";

import { onlyJson, runHardhat } from "../helpers/cli.js";
import { type FaultProxy, startFaultProxy } from "../helpers/fault-proxy.js";
import { type RunningNode, startNode } from "../helpers/nodes.js";

const CONFIG = path.join("test", "switch", "cli-project", "hardhat.config.ts");
const ADDRESS = "0x000000000000000000000000000000000000dEaD";

describe("every command facing a silent node fails with a deadline, not a hang", function () {
  this.timeout(120_000);
  let node: RunningNode;
  let proxy: FaultProxy;
  let env: Record<string, string>;

  before(async () => {
    node = await startNode("anvil");
    proxy = await startFaultProxy(node.url, [{ fault: "silence" }]);
    const scratch = await mkdtemp(path.join(tmpdir(), "bg-deadline-"));
    env = {
      BLUEGREEN_RPC_URL: proxy.url,
      BG_TEST_RPC_TIMEOUT: "2s",
      BG_TEST_RECORDS: path.join(scratch, "records"),
      BG_TEST_CACHE: path.join(scratch, "cache"),
      BG_TEST_ARTIFACTS: path.join(scratch, "artifacts"),
    };
  });
  after(async () => {
    await proxy?.close();
    await node?.stop();
  });

  const commands: Array<[string, string[]]> = [
    ["bg:status", []],
    ["bg:init", ["--approver", ADDRESS, "--guardians", ADDRESS]],
    ["bg:adopt", ["--proxy", ADDRESS]],
    ["bg:approve", ["--release", "r1"]],
    ["bg:switch", ["--release", "r1"]],
    ["bg:rollback", ["--release", "r1"]],
    ["bg:finalize", ["--release", "r1"]],
  ];
  for (const [command, args] of commands) {
    it(`${command}: [BG_RPC_TIMEOUT] naming the node`, async () => {
      const silencedBefore = proxy.counts.silenced;
      const run = await runHardhat(["--config", CONFIG, "--network", "localMainnet", command, ...args, "--json"], env);
      expect(run.code, run.stderr).to.equal(1);
      const doc = onlyJson(run);
      expect(doc).to.include({ ok: false, code: "BG_RPC_TIMEOUT" });
      expect(doc.error).to.equal(
        `[BG_RPC_TIMEOUT] The node of network "localMainnet" (${proxy.url}) did not answer in time (request timed out). ` +
          "Check that the node runs, is synced and reachable, and that the network's url is right; a slow node needs a longer blueGreen.rpc.timeout.",
      );
      expect(proxy.counts.silenced).to.be.greaterThan(silencedBefore);
    });
  }
});
