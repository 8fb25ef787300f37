package trace

import (
	"runtime"
	"testing"
)

// TestWorkspacesKeepOne: the workspace a trace returns is the next one's,
// collections in between or not, and traces run at once get their own.
func TestWorkspacesKeepOne(t *testing.T) {
	var p workspaces
	w := p.get()
	p.put(w)
	runtime.GC()
	runtime.GC()
	if got := p.get(); got != w {
		t.Fatal("the workspace kept was not handed out again after two collections")
	}
	other := p.get()
	if other == w {
		t.Fatal("two traces at once share a workspace")
	}
	p.put(w)
	p.put(other)
	if a, b := p.get(), p.get(); a == b {
		t.Fatal("a workspace was handed out twice")
	}
}
