// Deploys the project's proxies the way a team does, with OpenZeppelin's
// hardhat-upgrades (its real validations and manifest):
//   DEPLOY_KINDS=1 npx hardhat run --build-profile production scripts/deploy-kinds.ts
// a UUPS VotesToken (Ownable), a UUPS AccrualVault (AccessControl) and a
// beacon with three FleetVault BeaconProxies. Prints one JSON line. It does
// nothing unless DEPLOY_KINDS is set, because the test runner imports every
// .ts file under test/.
import hre from "hardhat";
import { upgrades } from "@openzeppelin/hardhat-upgrades";

async function main(): Promise<void> {
  const connection = await hre.network.create();
  const { ethers } = connection;
  const api = await upgrades(hre, connection);
  const [deployer, , , holder] = await ethers.getSigners();
  const owner = await deployer!.getAddress();

  const token = await api.deployProxy(await ethers.getContractFactory("VotesTokenV1"), [owner, await holder!.getAddress(), 10n ** 24n], { kind: "uups" });
  const vault = await api.deployProxy(await ethers.getContractFactory("AccrualVaultV1"), [owner, owner, 10n ** 15n], { kind: "uups" });
  const fleetFactory = await ethers.getContractFactory("FleetVaultV1");
  const beacon = await api.deployBeacon(fleetFactory);
  const fleet: string[] = [];
  for (const name of ["north", "south", "east"]) {
    const proxy = await api.deployBeaconProxy(beacon, fleetFactory, [name]);
    fleet.push(await proxy.getAddress());
  }
  const tokenAddress = await token.getAddress();
  const vaultAddress = await vault.getAddress();
  const beaconAddress = await beacon.getAddress();
  console.log(
    JSON.stringify({
      token: { proxy: tokenAddress, implementation: await api.erc1967.getImplementationAddress(tokenAddress) },
      vault: { proxy: vaultAddress, implementation: await api.erc1967.getImplementationAddress(vaultAddress) },
      fleet: { beacon: beaconAddress, implementation: await api.beacon.getImplementationAddress(beaconAddress), proxies: fleet },
    }),
  );
}

if (process.env.DEPLOY_KINDS !== undefined) await main();
