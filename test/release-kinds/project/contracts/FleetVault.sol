// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";

/// @notice One small ETH vault of a fleet: every vault is a BeaconProxy of one
/// UpgradeableBeacon, so one upgrade of the beacon moves the whole fleet.
/// Blue of the beacon release.
contract FleetVaultV1 is Initializable {
    string public name;
    mapping(address => uint256) public balanceOf;
    uint256 public total;

    event Deposited(address indexed account, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor() {
        _disableInitializers();
    }

    function initialize(string calldata name_) external initializer {
        name = name_;
    }

    function deposit() external payable {
        balanceOf[msg.sender] += msg.value;
        total += msg.value;
        emit Deposited(msg.sender, msg.value);
    }

    function withdraw(uint256 amount) external {
        balanceOf[msg.sender] -= amount;
        total -= amount;
        emit Withdrawn(msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        require(ok, "transfer failed");
    }

    function version() external pure virtual returns (string memory) {
        return "1";
    }
}

/// @notice Green: each account's share of the vault, in basis points.
/// @custom:oz-upgrades-unsafe-allow missing-initializer
contract FleetVaultV2 is FleetVaultV1 {
    function shareBps(address account) external view returns (uint256) {
        return total == 0 ? 0 : (balanceOf[account] * 10_000) / total;
    }

    function version() external pure virtual override returns (string memory) {
        return "2";
    }
}

/// @notice The next release.
/// @custom:oz-upgrades-unsafe-allow missing-initializer
contract FleetVaultV3 is FleetVaultV2 {
    function version() external pure override returns (string memory) {
        return "3";
    }
}
