// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// Test only: implementations and admins that behave badly on purpose, for the
// BlueGreenSwitch tests.

/// @notice A minimal upgradeable implementation whose code differs per `id`
/// (immutables live in the runtime code), so tests can make many distinct greens.
contract SwitchTestImplementation {
    uint256 public immutable id;
    uint256 public value;

    constructor(uint256 id_) {
        id = id_;
    }

    function setValue(uint256 newValue) external {
        value = newValue;
    }
}

/// @notice A green whose initializer calls any target (through the proxy), to try
/// reentering the switch while it upgrades.
contract ReentrantGreen {
    uint256 public calls;

    function reenter(address target, bytes calldata data) external {
        calls += 1;
        (bool ok, bytes memory ret) = target.call(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
    }
}

/// @notice A green whose initializer always reverts, to show a failed promote changes nothing.
contract RevertingInitGreen {
    error InitFailed();

    function init() external pure {
        revert InitFailed();
    }
}

/// @notice Looks like an Ownable ProxyAdmin but answers an unknown upgrade interface version.
contract FutureProxyAdmin {
    address public owner;

    constructor(address owner_) {
        owner = owner_;
    }

    function UPGRADE_INTERFACE_VERSION() external pure returns (string memory) {
        return "6.0.0";
    }
}

/// @notice Forwards calls, so tests can make a contract the approver or a guardian.
contract CallForwarder {
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
