// OpenZeppelin's own tools, run as a team runs them in a script:
//   OZ_STEPS='[{"do":"deployProxy","contract":"VaultV1"}, ...]' npx hardhat run --build-profile production scripts/oz-steps.ts
// Prints one JSON line: each step's result, or its error message. It does
// nothing unless OZ_STEPS is set, because the test runner imports every
// .ts file under test/.
import hre from "hardhat";
import { upgrades } from "@openzeppelin/hardhat-upgrades";

interface Step {
  do: "deployProxy" | "validateUpgrade" | "prepareUpgrade" | "upgradeProxy";
  contract: string;
  proxy?: string;
}

async function main(steps: Step[]): Promise<void> {
  const connection = await hre.network.create();
  const { ethers } = connection;
  const api = await upgrades(hre, connection);
  const results: unknown[] = [];
  for (const step of steps) {
    const factory = await ethers.getContractFactory(step.contract);
    try {
      switch (step.do) {
        case "deployProxy": {
          const proxy = await api.deployProxy(factory, [], { kind: "transparent" });
          await proxy.waitForDeployment();
          const address = await proxy.getAddress();
          results.push({
            ok: true,
            proxy: address,
            implementation: await api.erc1967.getImplementationAddress(address),
            admin: await api.erc1967.getAdminAddress(address),
          });
          break;
        }
        case "validateUpgrade":
          await api.validateUpgrade(step.proxy!, factory);
          results.push({ ok: true });
          break;
        case "prepareUpgrade":
          results.push({ ok: true, implementation: await api.prepareUpgrade(step.proxy!, factory) });
          break;
        case "upgradeProxy":
          await api.upgradeProxy(step.proxy!, factory);
          results.push({ ok: true });
          break;
      }
    } catch (error) {
      results.push({ ok: false, error: String((error as Error).message ?? error) });
    }
  }
  console.log(JSON.stringify(results));
}

if (process.env.OZ_STEPS !== undefined) await main(JSON.parse(process.env.OZ_STEPS) as Step[]);
