// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";
import {ERC20Upgradeable} from "@openzeppelin/contracts-upgradeable/token/ERC20/ERC20Upgradeable.sol";
import {ERC20VotesUpgradeable} from "@openzeppelin/contracts-upgradeable/token/ERC20/extensions/ERC20VotesUpgradeable.sol";
import {OwnableUpgradeable} from "@openzeppelin/contracts-upgradeable/access/OwnableUpgradeable.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts-upgradeable/proxy/utils/UUPSUpgradeable.sol";

/// @notice A governance token (ERC20Votes: delegation and vote checkpoints) behind a
/// UUPS proxy whose upgrades its owner authorizes. Blue of the UUPS Ownable release.
contract VotesTokenV1 is Initializable, ERC20Upgradeable, ERC20VotesUpgradeable, OwnableUpgradeable, UUPSUpgradeable {
    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor() {
        _disableInitializers();
    }

    function initialize(address owner_, address holder, uint256 supply) external initializer {
        __ERC20_init("Council Vote", "CVT");
        __EIP712_init("Council Vote", "1");
        __Votes_init();
        __ERC20Votes_init();
        __Ownable_init(owner_);
        _mint(holder, supply);
    }

    function _update(address from, address to, uint256 value) internal override(ERC20Upgradeable, ERC20VotesUpgradeable) {
        super._update(from, to, value);
    }

    function _authorizeUpgrade(address) internal virtual override onlyOwner {}
}

/// @notice Green: holders may burn their own tokens. Same storage, same authority.
/// @custom:oz-upgrades-unsafe-allow missing-initializer
contract VotesTokenV2 is VotesTokenV1 {
    function burn(uint256 amount) external {
        _burn(msg.sender, amount);
    }
}

/// @notice The next release: burning on behalf of a holder, within the allowance.
/// @custom:oz-upgrades-unsafe-allow missing-initializer
contract VotesTokenV3 is VotesTokenV1 {
    function burn(uint256 amount) external {
        _burn(msg.sender, amount);
    }

    function burnFrom(address holder, uint256 amount) external {
        _spendAllowance(holder, msg.sender, amount);
        _burn(holder, amount);
    }
}

/// @notice A green that moves upgrades to a governor it hard-codes (written before the
/// governor existed): its `_authorizeUpgrade` refuses the owner, so once it runs the
/// switch could never roll it back. bg:stage's rollback-path proof must refuse it.
/// @custom:oz-upgrades-unsafe-allow missing-initializer
contract VotesTokenGovernedV2 is VotesTokenV1 {
    address public constant GOVERNOR = 0x000000000000000000000000000000000000600d;

    error NotGovernor(address caller);

    function _authorizeUpgrade(address) internal view override {
        if (msg.sender != GOVERNOR) revert NotGovernor(msg.sender);
    }
}

/// @notice A green that drops UUPSUpgradeable ("the token is final"): no
/// `upgradeToAndCall`, so a proxy upgraded to it could never move again.
/// OpenZeppelin's uups validation must refuse it.
/// @custom:oz-upgrades-unsafe-allow missing-initializer
contract VotesTokenFinalV2 is Initializable, ERC20Upgradeable, ERC20VotesUpgradeable, OwnableUpgradeable {
    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor() {
        _disableInitializers();
    }

    function _update(address from, address to, uint256 value) internal override(ERC20Upgradeable, ERC20VotesUpgradeable) {
        super._update(from, to, value);
    }
}
