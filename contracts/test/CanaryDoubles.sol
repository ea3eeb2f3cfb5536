// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Blue (side 1) or green (side 2) of a canary test: same storage layout, so
/// both write the proxy's one state; each says which side ran.
contract CanarySide {
    uint256 public immutable side;
    uint256 public counter;
    mapping(address account => uint256) public paid;

    error Refused(uint256 side, address sender, string why);

    event Touched(uint256 indexed side, address sender, uint256 counter);

    constructor(uint256 side_) {
        side = side_;
    }

    /// Increments the shared counter; returns the side that ran and the new count.
    function touch() external returns (uint256, uint256) {
        counter += 1;
        emit Touched(side, msg.sender, counter);
        return (side, counter);
    }

    /// Returns `data` unchanged, for return data of any length.
    function echo(bytes calldata data) external view returns (uint256, bytes memory) {
        return (side, data);
    }

    /// Reverts with a custom error that names the side.
    function refuse(string calldata why) external view {
        revert Refused(side, msg.sender, why);
    }

    /// What the implementation sees of the call: the proxy's caller and value, untouched.
    function context() external payable returns (address sender, address origin, uint256 value, uint256 ranOn) {
        return (msg.sender, tx.origin, msg.value, side);
    }

    receive() external payable {
        paid[msg.sender] += msg.value * side;
    }
}

/// @notice A contract caller in front of the proxy (a DEX router, a wallet): tx.origin and
/// msg.sender then differ.
contract CanaryForwarder {
    function forward(address target, bytes calldata data) external payable returns (bytes memory) {
        (bool ok, bytes memory ret) = target.call{value: msg.value}(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        return ret;
    }
}

import {BoxV1} from "../examples/BoxV1.sol";

/// @notice A green that changes code only: BoxV1's storage exactly, so the reverse check
/// (blue reading what green writes) has nothing to say and a canary may run it.
contract BoxV1Patched is BoxV1 {
    function version() external pure override returns (string memory) {
        return "2";
    }
}
