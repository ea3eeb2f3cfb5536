import type { HardhatPlugin } from "hardhat/types/plugins";
import { definePlugin } from "hardhat/plugins";

import { approvalTasks } from "./commands/approval.js";
import { gatesTasks } from "./commands/gates.js";
import { monitorTasks } from "./commands/monitor.js";
import { replayTasks } from "./commands/replay.js";
import { cacheTasks } from "./commands/cache.js";
import { releaseTasks } from "./commands/release.js";
import { switchTasks } from "./commands/switch.js";
import { PLUGIN_ID } from "./errors.js";

export type * from "./type-extensions.js";

const blueGreen: HardhatPlugin = definePlugin({
  id: PLUGIN_ID,
  npmPackage: "hardhat-bluegreen",
  dependencies: () => [import("@nomicfoundation/hardhat-ethers")],
  hookHandlers: {
    config: () => import("./hooks/config.js"),
  },
  tasks: [...releaseTasks, ...replayTasks, ...cacheTasks, ...switchTasks, ...gatesTasks, ...approvalTasks, ...monitorTasks],
});

export default blueGreen;
