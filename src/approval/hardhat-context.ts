/**
 * The thin Hardhat binding of the approval commands: opens the network
 * connection, finds the chain's switch, picks the acting account
 * (`--signer`) among the network's configured accounts, and resolves the
 * gates config. Everything else lives in the Hardhat-free modules beside it.
 */
import type { Signer } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { ReleaseStore } from "../release/store.js";
import { connectSafeService } from "./safe-service.js";
import { firstSigner } from "../stage/signers.js";
import { switchInterface } from "../switch/artifact.js";
import { requireSwitchFile } from "../switch/switch-file.js";
import type { ReleaseApprovalContext } from "./release-flow.js";
import { openConnection } from "../chain/hardhat-connection.js";

export interface CommandContext extends ReleaseApprovalContext {
  networkName: string;
  /** The account chosen with --signer (or the network's first account). */
  signer(): Promise<Signer>;
}

/** Builds the context of an approval command for the network given with --network. */
export async function openApprovalContext(hre: HardhatRuntimeEnvironment, signerAddress: string): Promise<CommandContext> {
  const connection = await openConnection(hre);
  const provider = connection.ethers.provider;
  const chainId = Number((await provider.getNetwork()).chainId);
  const store = new ReleaseStore(hre.config.blueGreen.recordsDir);
  const recorded = await requireSwitchFile(store, chainId, connection.networkName);
  let chosen: Promise<Signer> | undefined;
  const approval = hre.config.blueGreen.approval;
  return {
    env: {
      provider: connection.provider,
      chainId,
      errors: await switchInterface(),
      ...(approval.timelockProposer !== undefined ? { timelockProposer: approval.timelockProposer } : {}),
      ...(approval.safeService !== undefined
        ? { safeService: await connectSafeService(approval.safeService, chainId, approval.safeServiceApiKey) }
        : {}),
    },
    store,
    switchAddress: recorded.address,
    projectRoot: hre.config.paths.root,
    gatesConfig: hre.config.blueGreen.gates,
    networkName: connection.networkName,
    signer: () => (chosen ??= firstSigner(connection.ethers, connection.networkName, signerAddress)),
  };
}
