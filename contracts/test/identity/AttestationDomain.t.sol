// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IdentityRegistry} from "../../src/identity/IdentityRegistry.sol";
import {IIdentityRegistry} from "../../src/interfaces/IIdentityRegistry.sol";
import {SenFixture} from "../fixtures/SenFixture.t.sol";

/// @dev Foundry's chainId cheatcode, which the repository's minimal forge-std does not declare.
interface ChainIdCheat {
    function chainId(uint256 newChainId) external;
}

/// @notice An issuer's signed attestation binds one registry on one chain (EIP-712 domain:
/// name, version, chain id, verifying contract). The same issuer trusted by another registry,
/// a signature made for another chain, or the registry's own address on a fork must not
/// accept it, or one e-KYC signature would verify a wallet wherever that issuer is trusted.
/// The digest is built here from the spec, not with the registry's helpers, so a domain the
/// contract computed wrongly would show.
contract AttestationDomainTest is SenFixture {
    uint256 internal constant ISSUER_KEY = 0xA11;
    address internal constant WALLET = address(0xBEEF);

    address internal signer;
    IIdentityRegistry.Attestation internal attestation;

    function setUp() public {
        _deploySen();
        signer = vm.addr(ISSUER_KEY);
        registry.addIssuer(signer);
        attestation = IIdentityRegistry.Attestation({
            identityHash: keccak256("replay"),
            wallet: WALLET,
            kycLevel: 2,
            country: VIET_NAM,
            investorType: PROFESSIONAL,
            expiresAt: uint40(block.timestamp + 365 days),
            issuer: signer,
            identityVersion: 0,
            nonce: 7,
            deadline: block.timestamp + 1 hours
        });
    }

    function _domain(uint256 chainId, address verifyingContract) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Sen IdentityRegistry"),
                keccak256("1"),
                chainId,
                verifyingContract
            )
        );
    }

    function _structHash(IIdentityRegistry.Attestation memory a) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                keccak256(
                    "Attestation(bytes32 identityHash,address wallet,uint8 kycLevel,uint16 country,uint8 investorType,uint40 expiresAt,address issuer,uint256 identityVersion,uint256 nonce,uint256 deadline)"
                ),
                a.identityHash,
                a.wallet,
                a.kycLevel,
                a.country,
                a.investorType,
                a.expiresAt,
                a.issuer,
                a.identityVersion,
                a.nonce,
                a.deadline
            )
        );
    }

    function _sign(uint256 chainId, address verifyingContract) internal view returns (bytes memory) {
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", _domain(chainId, verifyingContract), _structHash(attestation)));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(ISSUER_KEY, digest);
        return abi.encodePacked(r, s, v);
    }

    function _expectInvalidSignature() internal {
        vm.expectRevert(abi.encodeWithSelector(IIdentityRegistry.IdentityInvalidSignature.selector, signer));
    }

    function test_domainIsTheSpecs() public view {
        assertEq(registry.DOMAIN_SEPARATOR(), _domain(block.chainid, address(registry)), "EIP-712 domain of this registry");
    }

    /// Signed for this registry: refused by a second registry that trusts the same issuer,
    /// accepted by this one.
    function test_attestationForOneRegistryIsRefusedByAnother() public {
        IdentityRegistry other = new IdentityRegistry(address(this));
        other.addIssuer(signer);
        bytes memory sig = _sign(block.chainid, address(registry));
        _expectInvalidSignature();
        other.attestBySig(attestation, sig);
        assertFalse(other.isVerified(WALLET), "not verified by the other registry");

        registry.attestBySig(attestation, sig);
        assertTrue(registry.isVerified(WALLET), "verified by the registry it was signed for");
    }

    /// Signed for this registry's address on another chain (a registry deployed at the same
    /// address elsewhere by the same deployer and nonce): refused here.
    function test_attestationForAnotherChainIsRefused() public {
        _expectInvalidSignature();
        registry.attestBySig(attestation, _sign(block.chainid + 1, address(registry)));
        assertFalse(registry.isVerified(WALLET), "not verified");
    }

    /// Signed for this chain, relayed on a fork that changed the chain id: the registry
    /// rebuilds its domain for the new chain id, so the old chain's signature is refused there.
    function test_attestationIsRefusedAfterAChainIdChange() public {
        uint256 original = block.chainid;
        bytes memory sig = _sign(original, address(registry));
        ChainIdCheat(address(vm)).chainId(original + 1);
        assertEq(registry.DOMAIN_SEPARATOR(), _domain(original + 1, address(registry)), "domain rebuilt for the fork");
        _expectInvalidSignature();
        registry.attestBySig(attestation, sig);

        ChainIdCheat(address(vm)).chainId(original);
        registry.attestBySig(attestation, sig);
        assertTrue(registry.isVerified(WALLET), "verified on the chain it was signed for");
    }
}
