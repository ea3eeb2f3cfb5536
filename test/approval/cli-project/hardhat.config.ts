// This repository's project, seen from the approval CLI tests: the same
// compiler, contracts and artifacts, a separate node as "mainnet", and the
// approval commands registered here until the plugin itself lists them.
import { defineConfig } from "hardhat/config";
import type { HardhatPlugin } from "hardhat/types/plugins";

import base from "../../../hardhat.config.js";
import { approvalTasks } from "../../../src/commands/approval.js";
import blueGreen from "../../../src/index.js";

const wired = (blueGreen.tasks ?? []).some((t) => t.id.join(" ") === "bg:propose");
const approvalCommands: HardhatPlugin = { id: "hardhat-bluegreen-approval-commands-under-test", tasks: approvalTasks };

export default defineConfig({
  ...base,
  plugins: [...(base.plugins ?? []), ...(wired ? [] : [approvalCommands])],
  paths: {
    sources: "../../../contracts",
    artifacts: "../../../artifacts",
    cache: "../../../cache",
    tests: { mocha: "." },
  },
});
