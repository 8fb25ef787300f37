package intel_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/tracehound/tracehound/intel"
)

// Read a feed, keep what is valid, and list the wallets its indicators
// name with the TLP level each may be shared under.
func ExampleParseBundle() {
	data, err := os.ReadFile(filepath.Join("testdata", "wallet-bundle.json"))
	if err != nil {
		fmt.Println(err)
		return
	}
	good, rejected, err := intel.ParseBundle(data, 16<<20)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(good), "kept,", len(rejected), "rejected")
	markings := intel.MarkingIndex(good)
	for _, o := range good {
		ind, ok := o.(*intel.Indicator)
		if !ok || ind.PatternType != "stix" {
			continue
		}
		wallets, _ := intel.WalletAddresses(ind.Pattern)
		level, _ := intel.ObjectTLP(ind, markings)
		for _, w := range wallets {
			fmt.Println(level, w, intel.WalletID(w))
		}
	}
	// Output:
	// 15 kept, 0 rejected
	// TLP:AMBER+STRICT 0x098b716b8aaf21512996dc57eb0615e2383e2f96 cryptocurrency-wallet--97217aa6-bb46-50a7-9295-dda5b965e236
	// TLP:AMBER+STRICT bc1qa5wkgaew2dkv56kfvj49j0av5nml45x9ek9hz6 cryptocurrency-wallet--e4aefff8-f7e9-5846-b684-5329b23bdf45
}
