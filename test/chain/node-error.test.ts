/** Transport faults that reach a command become coded errors that name the node; everything else is left alone. */
import { HardhatError } from "@nomicfoundation/hardhat-errors";
import { ConnectionRefusedError, RequestTimeoutError, ResponseStatusCodeError } from "@nomicfoundation/hardhat-utils/request";
import { expect } from "chai";

import { asNodeError, surfaceNodeError } from "../../src/chain/node-error.js";
import { isRetryable, transportFaultOf } from "../../src/chain/transport-fault.js";
import { BlueGreenError } from "../../src/errors.js";
import { isTransient } from "../../src/monitor/transient.js";

const URL = "http://127.0.0.1:8545";
const status = (statusCode: number) => new ResponseStatusCodeError(URL, Object.assign(new Error("status"), { statusCode }));

describe("transport faults of a command's node", () => {
  it("classifies Hardhat's and undici's errors by type and code, also when wrapped", () => {
    expect(transportFaultOf(new RequestTimeoutError(URL))).to.deep.equal({ kind: "timeout", reason: "request timed out" });
    expect(transportFaultOf(new HardhatError(HardhatError.ERRORS.CORE.NETWORK.NETWORK_TIMEOUT))).to.deep.equal({ kind: "timeout", reason: "request timed out" });
    expect(transportFaultOf(new HardhatError(HardhatError.ERRORS.CORE.NETWORK.CONNECTION_REFUSED, { network: "x" }))?.kind).to.equal("unreachable");
    expect(transportFaultOf(new ConnectionRefusedError(URL))?.kind).to.equal("unreachable");
    expect(transportFaultOf(status(503))).to.deep.equal({ kind: "http", reason: "HTTP 503", status: 503 });
    expect(transportFaultOf(status(429))).to.deep.equal({ kind: "rate-limited", reason: "HTTP 429", status: 429 });
    // ethers wraps what the provider threw under `error`; Hardhat under `cause`.
    expect(transportFaultOf({ code: "UNKNOWN_ERROR", error: new Error("x", { cause: status(502) }) })?.reason).to.equal("HTTP 502");
    expect(transportFaultOf(Object.assign(new Error("socket"), { code: "ECONNRESET" }))?.kind).to.equal("unreachable");
    expect(transportFaultOf(Object.assign(new Error("limit"), { code: -32005 }))?.kind).to.equal("rate-limited");
  });

  it("retries what may change: a timeout, a 429 or a 5xx, not a 4xx such as a bad API key", () => {
    expect(isRetryable(transportFaultOf(status(503))!)).to.equal(true);
    expect(isRetryable(transportFaultOf(status(429))!)).to.equal(true);
    expect(isRetryable(transportFaultOf(new RequestTimeoutError(URL))!)).to.equal(true);
    expect(isRetryable(transportFaultOf(status(401))!)).to.equal(false);
  });

  it("leaves a node's answers and other errors alone", () => {
    expect(transportFaultOf(Object.assign(new Error("execution reverted"), { code: 3, data: "0x" }))).to.equal(undefined);
    expect(transportFaultOf(new TypeError("bug"))).to.equal(undefined);
    const ours = new BlueGreenError("BG_RECORD_NOT_FOUND", "no release");
    expect(asNodeError(ours, "network x")).to.equal(ours);
    const bug = new TypeError("bug");
    expect(asNodeError(bug, "network x")).to.equal(bug);
  });

  it("a node fault coded at the connection stays a node fault for the monitor, however ethers wraps it", () => {
    const coded = asNodeError(status(503), "network x");
    expect(isTransient(coded)).to.equal(true);
    expect(isTransient({ code: "UNKNOWN_ERROR", error: coded })).to.equal(true);
    expect(surfaceNodeError({ code: "UNKNOWN_ERROR", error: coded })).to.equal(coded);
    // A bad API key will not change by retrying; our own decisions are not the node's faults.
    expect(isTransient(asNodeError(status(401), "network x"))).to.equal(false);
    expect(isTransient(new BlueGreenError("BG_MONITOR_NOT_LIVE", "not live"))).to.equal(false);
  });

  it("names the node, the fault and what to check, with a stable code", () => {
    const error = asNodeError(status(503), 'network "mainnet" (https://rpc.example/…)');
    expect(BlueGreenError.is(error, "BG_RPC_HTTP")).to.equal(true);
    expect((error as BlueGreenError).message).to.equal(
      '[BG_RPC_HTTP] The node of network "mainnet" (https://rpc.example/…) answered with an HTTP error (HTTP 503). ' +
        "The node or its provider is failing: check its status, or point the network at another endpoint.",
    );
    expect(BlueGreenError.is(asNodeError(new RequestTimeoutError(URL), "network x"), "BG_RPC_TIMEOUT")).to.equal(true);
    expect(BlueGreenError.is(asNodeError(status(429), "network x"), "BG_RPC_RATE_LIMITED")).to.equal(true);
  });
});
