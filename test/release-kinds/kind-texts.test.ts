/**
 * What signers and users read about a release names its proxy kind: the
 * "proxy kind" row of every promote and window proposal, the way to adopt
 * a target the switch does not hold, and the fact re-read before signing
 * (a proxy's implementation slot, a beacon's implementation()).
 */
import { expect } from "chai";

import { adoptHint, implementationFact, releaseRows, upgradePathWords } from "../../src/approval/release-flow.js";
import type { ReleaseRecord } from "../../src/release/record.js";
import { stagedRecord } from "../helpers/record-fixture.js";

const ZERO = "0x0000000000000000000000000000000000000000";

function ofKind(kind: "transparent" | "uups" | "beacon", extra: Partial<ReleaseRecord> = {}): ReleaseRecord {
  const base = stagedRecord();
  return kind === "transparent" ? { ...base, kind, ...extra } : { ...base, kind, admin: ZERO, ...extra };
}

describe("release texts name the proxy kind", () => {
  it("a transparent release names its ProxyAdmin, and only it does", () => {
    const record = ofKind("transparent");
    expect(upgradePathWords(record)).to.equal(`transparent proxy: the switch upgrades it through its ProxyAdmin ${record.admin}`);
    expect(adoptHint(record)).to.contain(`Transfer its ProxyAdmin ${record.admin} to the switch`);
    expect(implementationFact(record)).to.include({ kind: "storage", label: `implementation slot of proxy ${record.proxy}` });
  });

  it("a UUPS release names the upgrade authority (owner or role) and the proxy's own upgradeToAndCall, never a ProxyAdmin", () => {
    const ownable = ofKind("uups", { uupsAuthority: { kind: "ownable", owner: "0x00000000000000000000000000000000000000aa" } });
    const role = ofKind("uups", { uupsAuthority: { kind: "access-control" } });
    expect(upgradePathWords(ownable)).to.contain("UUPS proxy: the switch is its upgrade authority (owner()) and calls upgradeToAndCall on the proxy");
    expect(upgradePathWords(role)).to.contain("(holder of the upgrader role)");
    expect(adoptHint(ownable)).to.contain("the owner transfers ownership of the proxy to the switch");
    expect(adoptHint(role)).to.contain("--role UPGRADER_ROLE");
    for (const record of [ownable, role]) {
      expect(upgradePathWords(record) + adoptHint(record)).to.not.contain("ProxyAdmin");
      expect(implementationFact(record)).to.include({ kind: "storage", label: `implementation slot of UUPS proxy ${record.proxy}` });
    }
  });

  it("a beacon release says that every BeaconProxy moves, and reads the beacon's implementation()", () => {
    const record = ofKind("beacon", { beacon: { address: stagedRecord().proxy, proxies: ["0x00000000000000000000000000000000000000b1"] } });
    expect(upgradePathWords(record)).to.equal(
      `beacon: the switch owns beacon ${record.proxy} and calls upgradeTo on it, so EVERY BeaconProxy of the beacon moves at once (known: 0x00000000000000000000000000000000000000b1)`,
    );
    expect(adoptHint(record)).to.contain("The beacon's owner transfers ownership of the beacon to the switch");
    expect(adoptHint(record)).to.not.contain("ProxyAdmin");
    expect(implementationFact(record)).to.deep.include({ kind: "call", to: record.proxy, data: "0x5c60da1b", returns: ["address"] });
  });

  it("every promote's rows start with the kind", () => {
    const words = { transparent: /^transparent proxy: /, uups: /^UUPS proxy: /, beacon: /^beacon: / };
    for (const kind of ["transparent", "uups", "beacon"] as const) {
      const [first] = releaseRows(ofKind(kind), "0x" + "ab".repeat(32));
      expect(first!.label).to.equal("proxy kind");
      expect(first!.value).to.match(words[kind]);
    }
  });
});
