/**
 * bg:adopt over UUPS proxies (Ownable, AccessControl) and beacons: the
 * switch must hold the upgrade authority before the approver adopts; when no
 * local account can give it, the exact transaction to send is named; once
 * adopted the result says what remains in other hands.
 */
import { expect } from "chai";
import { getAddress, keccak256, zeroPadValue } from "ethers";
import { network } from "hardhat";

import { BlueGreenError } from "../../src/errors.js";
import { DEFAULT_UPGRADER_ROLE, adoptProxy, parseRole, type AdoptProxyOptions } from "../../src/switch/adopt-proxy.js";
import { compareProxyWithRecord } from "../../src/switch/proxy-drift.js";
import { readProxyRelease } from "../../src/switch/read-switch.js";
import { renderAdopt } from "../../src/ui/switch-view.js";
import { DELAY, IMPLEMENTATION_SLOT, WINDOW, type Connection, type Signer, addr, at, deploy, v5Box } from "./fixture.js";

/** What bg:status and the monitor pass today: no kind, so the comparison infers it. */
const asCallersPass = (t: { proxy: string; proxyAdmin: string; implementation: string }) => ({ proxy: t.proxy, proxyAdmin: t.proxyAdmin, implementation: t.implementation });

const KIND = { UupsOwnable: 3n, UupsAccessControl: 4n, Beacon: 5n } as const;

describe("bg:adopt over UUPS proxies and beacons", function () {
  let connection: Connection;
  let signers: Signer[];
  let approver: Signer;
  let owner: Signer;
  let switchAddress: string;
  let sw: Awaited<ReturnType<typeof deploy>>;

  before(async () => {
    connection = await network.create();
    signers = await connection.ethers.getSigners();
    [, approver, , , owner] = signers as [Signer, Signer, Signer, Signer, Signer];
    sw = await deploy(connection.ethers, "BlueGreenSwitch", [await approver.getAddress(), [await signers[2]!.getAddress()], DELAY, WINDOW]);
    switchAddress = await addr(sw);
  });

  const adopt = (proxy: string, overrides: Partial<AdoptProxyOptions> = {}) =>
    adoptProxy({ provider: connection.provider, ethersProvider: connection.ethers.provider, signers, switchAddress, proxy, networkName: "default", ...overrides });

  async function ownableProxy(): Promise<string> {
    const blue = await addr(await deploy(connection.ethers, "UupsOwnableBoxV1"));
    const init = (await connection.ethers.getContractFactory("UupsOwnableBoxV1")).interface.encodeFunctionData("initialize", [await owner.getAddress()]);
    return addr(await deploy(connection.ethers, "UupsBoxProxy", [blue, init], owner));
  }

  it("UUPS Ownable: names transferOwnership(<switch>) when the owner is not a local account, then adopts", async () => {
    const proxy = await ownableProxy();
    const onlyApprover = await adopt(proxy, { signers: [approver] });
    expect(onlyApprover.ok).to.equal(false);
    expect(onlyApprover.kind).to.equal("uups-ownable");
    expect(onlyApprover.pending[0]).to.include({ role: "upgrade-owner", from: getAddress(await owner.getAddress()), to: proxy });
    expect(onlyApprover.pending[0]!.description).to.contain(`transferOwnership(${switchAddress}) on UUPS proxy ${proxy}`);
    expect(onlyApprover.pending[1]!.description).to.contain(`BlueGreenSwitch.adoptUups(${proxy}`);
    expect(onlyApprover.error).to.contain(`${getAddress(await owner.getAddress())} must send call 1 (transferOwnership(${switchAddress}) on UUPS proxy ${proxy})`);

    const result = await adopt(proxy);
    expect(result.ok).to.equal(true);
    expect(result.ownershipTransferTx).to.match(/^0x/);
    expect(result.adoptTx).to.match(/^0x/);
    expect(result.adoptCall).to.deep.equal({ function: "adoptUups", args: [proxy, result.implementation, 0, "0x" + "0".repeat(64)] });
    expect(await sw.getFunction("proxyKind")(proxy)).to.equal(KIND.UupsOwnable);
    expect(renderAdopt(result)).to.contain("What remains in other hands: The previous owner keeps nothing");

    const again = await adopt(proxy);
    expect(again).to.include({ ok: true, alreadyAdopted: true });

    // Status: a UUPS proxy has no admin slot, so only the implementation is compared; an upgrade outside the switch is critical.
    const tracked = await readProxyRelease(connection.ethers.provider, switchAddress, proxy);
    expect(tracked.kind).to.equal("uups-ownable");
    expect((await compareProxyWithRecord(connection.provider, asCallersPass(tracked))).findings).to.deep.equal([]);
    const other = await addr(await deploy(connection.ethers, "UupsOwnableBoxV2"));
    await connection.provider.request({ method: "hardhat_setStorageAt", params: [proxy, IMPLEMENTATION_SLOT, zeroPadValue(other, 32)] });
    const drift = await compareProxyWithRecord(connection.provider, asCallersPass(tracked));
    expect(drift.findings.map((f) => f.kind)).to.deep.equal(["implementation-drift"]);
  });

  it("UUPS AccessControl: names grantRole(role, <switch>) until the switch holds the role, then adopts with it", async () => {
    const blue = await addr(await deploy(connection.ethers, "UupsRoleBoxV1"));
    const me = await owner.getAddress();
    const init = (await connection.ethers.getContractFactory("UupsRoleBoxV1")).interface.encodeFunctionData("initialize", [me, me]);
    const proxy = await addr(await deploy(connection.ethers, "UupsBoxProxy", [blue, init], owner));

    const onlyApprover = await adopt(proxy, { signers: [approver], role: "UPGRADER_ROLE" });
    expect(onlyApprover.ok).to.equal(false);
    expect(onlyApprover.pending[0]!.role).to.equal("role-admin");
    expect(onlyApprover.pending[0]!.description).to.contain(`grantRole(${DEFAULT_UPGRADER_ROLE}, ${switchAddress}) on ${proxy}`);

    const result = await adopt(proxy);
    expect(result.ok).to.equal(true);
    expect(result.kind).to.equal("uups-access-control");
    expect(result.role).to.equal(DEFAULT_UPGRADER_ROLE);
    expect(await sw.getFunction("proxyKind")(proxy)).to.equal(KIND.UupsAccessControl);
    expect(await sw.getFunction("upgraderRole")(proxy)).to.equal(DEFAULT_UPGRADER_ROLE);
    expect(result.remainsElsewhere).to.contain("DEFAULT_ADMIN_ROLE");
  });

  it("reads --role as a bytes32 or a name, and refuses anything else", function () {
    expect(parseRole(undefined)).to.equal(keccak256(Buffer.from("UPGRADER_ROLE")));
    expect(parseRole("MY_ROLE")).to.equal(keccak256(Buffer.from("MY_ROLE")));
    expect(parseRole("0x" + "ab".repeat(32))).to.equal("0x" + "ab".repeat(32));
    try {
      parseRole("0x12");
      expect.fail("expected a refusal");
    } catch (error) {
      expect((error as BlueGreenError).code).to.equal("BG_SWITCH_ROLE_INVALID");
    }
  });

  it("beacon: given one of its proxies, adopts the beacon once the switch owns it", async () => {
    const blue = await addr(await deploy(connection.ethers, "BeaconBoxV1"));
    const beacon = await addr(await deploy(connection.ethers, "BoxBeacon", [blue, await owner.getAddress()], owner));
    const factory = await connection.ethers.getContractFactory("BeaconBoxV1");
    const proxies: string[] = [];
    for (let i = 0; i < 3; i++) proxies.push(await addr(await deploy(connection.ethers, "BoxBeaconProxy", [beacon, factory.interface.encodeFunctionData("initialize", [i])], owner)));

    const onlyApprover = await adopt(proxies[2]!, { signers: [approver] });
    expect(onlyApprover).to.include({ ok: false, kind: "beacon", proxy: beacon, viaBeaconProxy: proxies[2] });
    expect(onlyApprover.pending[0]!.description).to.contain(`transferOwnership(${switchAddress}) on beacon ${beacon}`);

    const result = await adopt(proxies[2]!);
    expect(result).to.include({ ok: true, kind: "beacon", proxy: beacon });
    expect(await sw.getFunction("proxyKind")(beacon)).to.equal(KIND.Beacon);
    expect(await (await at(connection.ethers, "BoxBeacon", beacon)).owner()).to.equal(switchAddress);
    expect(renderAdopt(result)).to.contain(`found through    beacon proxy ${proxies[2]}`);

    const tracked = await readProxyRelease(connection.ethers.provider, switchAddress, beacon);
    expect(tracked.kind).to.equal("beacon");
    expect((await compareProxyWithRecord(connection.provider, asCallersPass(tracked))).findings).to.deep.equal([]);
  });

  it("a transparent proxy is adopted as before (no kind in its result, the adopt call named)", async () => {
    const blue = await addr(await deploy(connection.ethers, "BoxV1"));
    const { proxy, proxyAdmin } = await v5Box({ ethers: connection.ethers, owner }, blue);
    const result = await adopt(proxy);
    expect(result.ok).to.equal(true);
    expect(result.kind).to.equal(undefined);
    expect(result.adoptCall).to.deep.equal({ function: "adopt", args: [proxy, proxyAdmin, blue] });
  });
});
