import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { APPROVER_FUNCTIONS, switchCallSpec } from "../src/approval/approver-call.js";
import { openApprovalContext } from "../src/approval/hardhat-context.js";
import { callFlow, proposeFlow } from "../src/approval/pipeline.js";
import { ReleaseStore } from "../src/release/store.js";
import { parseAddress } from "../src/stage/read-proxy.js";
import { type AdoptResult, adoptProxy } from "../src/switch/adopt-proxy.js";
import { requireSwitchFile } from "../src/switch/switch-file.js";
import { renderAdopt } from "../src/ui/switch-view.js";
import { runCommand } from "../src/ui/output.js";
import { openConnection } from "../src/chain/hardhat-connection.js";

interface AdoptArgs {
  proxy: string;
  role: string;
  json: boolean;
}

export default async function adopt(args: AdoptArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  await runCommand<AdoptResult & { safeProposal?: { call: string; safeTxHash: string } }>(
    args.json,
    async (out) => {
      const proxy = parseAddress(args.proxy, "--proxy");
      const connection = await openConnection(hre);
      const chainId = Number((await connection.ethers.provider.getNetwork()).chainId);
      const store = new ReleaseStore(hre.config.blueGreen.recordsDir);
      const recorded = await requireSwitchFile(store, chainId, connection.networkName);
      const result = await adoptProxy({
        provider: connection.provider,
        ethersProvider: connection.ethers.provider,
        signers: await connection.ethers.getSigners(),
        switchAddress: recorded.address,
        proxy,
        networkName: connection.networkName,
        log: (line) => out.info(line),
        journal: { store, chainId },
        ...(args.role !== "" ? { role: args.role } : {}),
      });
      const onlyApproverLeft = !result.ok && result.pending.length === 1 && result.pending[0]!.role === "approver";
      if (!onlyApproverLeft || (await connection.ethers.provider.getCode(result.pending[0]!.from)) === "0x") {
        return result;
      }
      const adoptCall = result.adoptCall ?? { function: "adopt", args: [proxy, result.proxyAdmin, result.implementation] };
      // Until the approval pipeline lists adoptUups/adoptBeacon as approver calls, the Safe sends the listed call itself.
      if (!(APPROVER_FUNCTIONS as readonly string[]).includes(adoptCall.function)) return result;
      // The approver is a contract (a Safe): adopt goes through the same approval path as a promote.
      const ctx = await openApprovalContext(hre, "");
      const id = `adopt-${result.proxy.slice(2, 10).toLowerCase()}`;
      const sw = { address: ctx.switchAddress, iface: ctx.env.errors };
      const spec = await switchCallSpec(ctx.env, sw, adoptCall.function, adoptCall.args, { id });
      const { proposal } = await proposeFlow(ctx.env, callFlow(ctx.store, chainId, id, sw), spec);
      if (proposal.safe === undefined) return result;
      return {
        ...result,
        safeProposal: { call: id, safeTxHash: proposal.safe.safeTxHash },
        error:
          `The approver ${result.pending[0]!.from} is a Safe: the adopt call is proposed as "${id}" (safeTxHash ${proposal.safe.safeTxHash}). ` +
          `Owners sign with \`npx hardhat bg:approve --network ${connection.networkName} --call ${id} --signer <owner>\`, ` +
          `then anyone runs \`npx hardhat bg:call execute --network ${connection.networkName} --call ${id}\`, and bg:adopt again to check.`,
      };
    },
    // Said after the summary, so a person sees why OZ's or Ignition's upgrades will now revert.
    (result) => (result.afterAdoption !== undefined ? `${renderAdopt(result)}\n\n${result.afterAdoption}` : renderAdopt(result)),
  );
}
