// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

// Forwarder moves the value it receives on to other addresses through
// internal calls, so that a call trace holds value-carrying frames: nested
// calls, a reverted subcall whose inner transfer must not count, contract
// creation with value and self-destruction.
contract Forwarder {
    // split sends half of the value to a and the rest to b.
    function split(address payable a, address payable b) public payable {
        uint256 half = msg.value / 2;
        (bool ok, ) = a.call{value: half}("");
        require(ok, "send a");
        (ok, ) = b.call{value: msg.value - half}("");
        require(ok, "send b");
    }

    // relay passes the value to another forwarder, which splits it: a
    // transfer two calls deep.
    function relay(Forwarder next, address payable a, address payable b) external payable {
        next.split{value: msg.value}(a, b);
    }

    // fail forwards the value and then reverts, undoing the forward.
    function fail(address payable to) external payable {
        (bool ok, ) = to.call{value: msg.value}("");
        require(ok, "send");
        revert("fail");
    }

    // tryFail calls fail, which reverts, then pays `to` directly: only the
    // direct payment moves value.
    function tryFail(address payable to) external payable {
        try this.fail{value: msg.value}(to) {} catch {}
        (bool ok, ) = to.call{value: msg.value}("");
        require(ok, "send");
    }

    // spawn creates a contract with the value, which destroys itself in
    // its constructor and so pays the value on to beneficiary; salted uses
    // CREATE2.
    function spawn(address payable beneficiary, bool salted) external payable {
        if (salted) {
            new Burner{value: msg.value, salt: bytes32(uint256(1))}(beneficiary);
        } else {
            new Burner{value: msg.value}(beneficiary);
        }
    }

    // sweep self-destructs this forwarder, paying its balance to `to`.
    function sweep(address payable to) external {
        selfdestruct(to);
    }

    receive() external payable {}
}

// Burner pays everything it was created with to beneficiary.
contract Burner {
    constructor(address payable beneficiary) payable {
        selfdestruct(beneficiary);
    }
}
