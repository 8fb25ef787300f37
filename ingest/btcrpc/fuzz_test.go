package btcrpc

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"
)

// FuzzNotification decodes arbitrary WebSocket messages as btcd's
// notifications. A height is read exactly when the message is a
// blockconnected (second parameter) or filteredblockconnected (first
// parameter) whose parameter is a plain unsigned decimal, and it is that
// decimal's value; the notification re-encoded reads the same.
func FuzzNotification(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"1.0","method":"blockconnected","params":["3b5e1c0d34bdb7bd8a4c3c5d6b22c4f0f7d2d2b0d1e5f1a2b3c4d5e6f7a8b9c0",302,1765092345],"id":null}`))
	f.Add([]byte(`{"jsonrpc":"1.0","method":"filteredblockconnected","params":[302,"0000002000",[]],"id":null}`))
	f.Add([]byte(`{"jsonrpc":"1.0","method":"blockdisconnected","params":["00",302,1765092345],"id":null}`))
	f.Add([]byte(`{"result":null,"error":null,"id":1}`))
	f.Fuzz(func(t *testing.T, msg []byte) {
		var n notification
		if json.Unmarshal(msg, &n) != nil {
			return
		}
		i := map[string]int{"blockconnected": 1, "filteredblockconnected": 0}
		pos, named := i[n.Method]
		var want uint64
		plain := false
		if named && len(n.Params) > pos {
			v, err := strconv.ParseUint(string(bytes.TrimSpace(n.Params[pos])), 10, 64)
			want, plain = v, err == nil
		}
		h, ok := n.height()
		if ok != plain || (ok && h != want) {
			t.Fatalf("%s: height %d %v, want %d %v", msg, h, ok, want, plain)
		}
		again, err := json.Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		var m notification
		if err := json.Unmarshal(again, &m); err != nil {
			t.Fatalf("%s re-encoded as %s: %v", msg, again, err)
		}
		if h2, ok2 := m.height(); h2 != h || ok2 != ok {
			t.Fatalf("%s re-encoded as %s reads %d %v, was %d %v", msg, again, h2, ok2, h, ok)
		}
	})
}
