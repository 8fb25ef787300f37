package trace

import "github.com/tracehound/tracehound/chain"

// SetSymbolLimit lowers the strings a cache's view may intern before it
// is replaced, so that tests can replace views on small stores.
func SetSymbolLimit(c *CachedGraph, n int) { c.symbols = n }

// CurrentView identifies the cache's view of a chain.
func CurrentView(c *CachedGraph, ch chain.Chain) any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.views[ch]
}
