package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/eth"
	"github.com/tracehound/tracehound/screen"
)

// TestRefusedBodyNotRead: a client without a key that starts a body and
// sends it slowly gets its 401 at once, and the server closes the
// connection at once rather than wait for the body, whether it declares
// a large body or one small enough for net/http to drain.
func TestRefusedBodyNotRead(t *testing.T) {
	f := newFixture(t, 100)
	for _, length := range []int{10_000_000, 4096} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(f.srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /v1/screen HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{\"addresses\":[", length)
		conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%d bytes: no answer before the body: %v", length, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !resp.Close {
			t.Errorf("%d bytes: status %d, close %v", length, resp.StatusCode, resp.Close)
		}
		// The body keeps coming, a byte at a time; the server has hung up.
		go func() {
			for range 3 {
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
				time.Sleep(500 * time.Millisecond)
			}
		}()
		if _, err := io.Copy(io.Discard, br); err != nil {
			// Closed is closed, by FIN or by reset; only a timeout is not.
			if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
				t.Errorf("%d bytes: the server held the connection after refusing: %v", length, err)
			}
		}
	}
}

// TestBytesInFlight: with room for one batch's bytes, a second batch
// sent while the first is held waits, then is refused with 503 and
// Retry-After rather than held in memory beside it.
func TestBytesInFlight(t *testing.T) {
	k, secret, err := auth.NewKey("exchange", []auth.Role{auth.RoleScreen}, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	idx := screen.NewIndex(chain.NewParser(eth.Codec{}), screen.DefaultPolicy())
	srv := httptest.NewServer(api.New(api.Config{Index: idx, Keys: auth.NewKeyring([]auth.Key{k}), MaxBody: 1 << 20, MaxInFlight: 1 << 20}))
	defer srv.Close()
	body := `{"addresses":["` + lazarus + `"]}`
	// The first request declares the whole budget and sends its body
	// slowly, holding the room.
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/screen HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n", secret, 1<<20)
	time.Sleep(200 * time.Millisecond)
	req, _ := http.NewRequest("POST", srv.URL+"/v1/screen", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+secret)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(b), `"busy"`) {
		t.Fatalf("a second batch beyond the bytes in flight: %d %s", resp.StatusCode, b)
	}
	if waited := time.Since(start); waited < 4*time.Second {
		t.Errorf("refused after %s, without waiting for room", waited)
	}
	// Once the first is gone, there is room again.
	conn.Close()
	time.Sleep(100 * time.Millisecond)
	req, _ = http.NewRequest("POST", srv.URL+"/v1/screen", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Summary api.Summary
		Results []screen.Result
	}
	err = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != 200 || err != nil || out.Summary.Total != 1 || len(out.Results) != 1 {
		t.Errorf("after the room freed: %d %v %+v", resp.StatusCode, err, out)
	}
}

// TestBytesInFlightPerKey: one key's slow bodies hold at most half the
// budget; another key's batch goes through meanwhile.
func TestBytesInFlightPerKey(t *testing.T) {
	ka, secretA, err := auth.NewKey("greedy", []auth.Role{auth.RoleScreen}, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	kb, secretB, err := auth.NewKey("exchange", []auth.Role{auth.RoleScreen}, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	idx := screen.NewIndex(chain.NewParser(eth.Codec{}), screen.DefaultPolicy())
	srv := httptest.NewServer(api.New(api.Config{Index: idx, Keys: auth.NewKeyring([]auth.Key{ka, kb}), MaxBody: 1 << 19, MaxInFlight: 1 << 20}))
	defer srv.Close()
	// Two requests of the greedy key declare the largest body each and
	// send nothing more.
	for range 2 {
		conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /v1/screen HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n", secretA, 1<<19)
	}
	time.Sleep(300 * time.Millisecond)
	req, _ := http.NewRequest("POST", srv.URL+"/v1/screen", strings.NewReader(`{"addresses":["`+lazarus+`"]}`))
	req.Header.Set("Authorization", "Bearer "+secretB)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("another key's batch while one key holds its share: %d %s", resp.StatusCode, b)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("another key's batch waited %s", took)
	}
}

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), "\n")
}

// TestRefusalsSampled: a flood of requests without a key costs the log a
// few lines a second; the metrics count every one.
func TestRefusalsSampled(t *testing.T) {
	var logs lockedBuffer
	idx := screen.NewIndex(chain.NewParser(eth.Codec{}), screen.DefaultPolicy())
	srv := httptest.NewServer(api.New(api.Config{Index: idx, Logger: slog.New(slog.NewJSONHandler(&logs, nil))}))
	defer srv.Close()
	start := time.Now()
	for range 500 {
		resp, err := http.Get(srv.URL + "/v1/addresses/auto/" + lazarus)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	seconds := int(time.Since(start)/time.Second) + 1
	if n := logs.lines(); n == 0 || n > 20*(seconds+1) {
		t.Errorf("%d log lines for 500 refusals in %d s", n, seconds)
	}
}
