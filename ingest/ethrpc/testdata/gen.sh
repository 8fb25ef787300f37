#!/bin/sh
# Regenerates the compiled test contracts from their sources with the pinned
# compiler. Tests read the checked-in .bin and .abi files and need no npm.
#   cd chain/eth/testdata && sh gen.sh
set -eu
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
npx --yes solc@0.8.28 --bin --abi --optimize -o "$out" Token.sol Forwarder.sol
for c in Token_sol_Token:Token Forwarder_sol_Forwarder:Forwarder Forwarder_sol_Burner:Burner; do
	cp "$out/${c%%:*}.bin" "${c##*:}.bin"
	cp "$out/${c%%:*}.abi" "${c##*:}.abi"
done
