// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// Test only: greens, blues and approvers that attack the switch's assumptions
// about code and proxy storage (issue 14). None of this may ship.

/// @notice A green (or blue) that rewrites the proxy's ERC-1967 slots when asked,
/// and accepts any other call silently, as a careless `fallback` would.
contract SlotWritingGreen {
    bytes32 internal constant IMPLEMENTATION_SLOT = 0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;
    bytes32 internal constant ADMIN_SLOT = 0xb53127684a568b3173ae13b9f8a6016e243e63b6e8ee1178d6a717850b5d6103;

    /// Behind a v4 proxy, moves the admin: the real ProxyAdmin's calls then fall through to this code.
    function writeAdminSlot(address newAdmin) external {
        assembly {
            sstore(ADMIN_SLOT, newAdmin)
        }
    }

    /// Points the proxy at other code without any upgrade the switch could see.
    function writeImplementationSlot(address newImplementation) external {
        assembly {
            sstore(IMPLEMENTATION_SLOT, newImplementation)
        }
    }

    function version() external pure returns (string memory) {
        return "slot-writer";
    }

    fallback() external payable {}
}

/// @notice An implementation whose fallback accepts every call: a non-admin's
/// `upgradeToAndCall` on its proxy succeeds and changes nothing.
contract PermissiveImplementation {
    fallback() external payable {}
}

/// @notice A green that can remove its own code in the transaction that created it
/// (EIP-6780 keeps SELFDESTRUCT only for that case).
contract SelfDestructingGreen {
    function destroy() external {
        selfdestruct(payable(msg.sender));
    }
}

interface ISwitchPromote {
    function promote(
        address proxy,
        address green,
        bytes32 greenCodehash,
        address expectedBlue,
        bytes calldata initData,
        bytes32 evidenceHash
    ) external;
}

/// @notice An approver contract that, in one transaction, deploys a green, promotes
/// it and destroys it: the switch saw code, the proxy is left on none.
contract VanishingGreenApprover {
    function promoteAndVanish(ISwitchPromote sw, address proxy, address blue, bytes32 evidenceHash)
        external
        returns (address green)
    {
        SelfDestructingGreen created = new SelfDestructingGreen();
        green = address(created);
        sw.promote(proxy, green, green.codehash, blue, "", evidenceHash);
        created.destroy();
    }
}
