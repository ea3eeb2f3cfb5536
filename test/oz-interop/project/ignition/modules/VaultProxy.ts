// VaultV1 behind an OpenZeppelin v5 TransparentUpgradeableProxy, the way the
// Ignition guide for upgradeable contracts deploys one.
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

export default buildModule("VaultProxy", (m) => {
  const owner = m.getAccount(0);
  const vault = m.contract("VaultV1");
  const proxy = m.contract("TransparentUpgradeableProxy", [vault, owner, m.encodeFunctionCall(vault, "initialize", [])]);
  return { vault, proxy };
});
