// Command httpbench measures tracehound's screening API end to end over
// HTTP: batches of many addresses (client-side JSON encoding and decoding
// included), and single-address requests from concurrent workers with a
// latency distribution, as a peer to wrk.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	var (
		url      = flag.String("url", "http://127.0.0.1:8080", "server base URL")
		key      = flag.String("key", os.Getenv("TRACEHOUND_API_KEY"), "API key (default $TRACEHOUND_API_KEY)")
		mode     = flag.String("mode", "batch", "batch: POST /v1/screen with -size addresses; single: GET /v1/addresses/auto/{addr}")
		size     = flag.Int("size", 100_000, "addresses per batch")
		rounds   = flag.Int("rounds", 10, "batches to send (batch mode)")
		workers  = flag.Int("c", 32, "concurrent connections (single mode)")
		duration = flag.Duration("d", 10*time.Second, "how long to run (single mode)")
		addrFile = flag.String("addresses", "", "file of addresses, one a line, mixed into the generated ones")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	known, err := readLines(*addrFile)
	if err != nil {
		fatal(err)
	}
	addrs := makeAddresses(*size, known)
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *workers + 1, MaxConnsPerHost: *workers + 1}}
	switch *mode {
	case "batch":
		err = runBatch(ctx, c, *url, *key, addrs, *rounds)
	case "single":
		err = runSingle(ctx, c, *url, *key, addrs, *workers, *duration)
	default:
		err = fmt.Errorf("unknown -mode %q", *mode)
	}
	if err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "httpbench:", err)
	os.Exit(1)
}

func readLines(path string) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := bytes.TrimSpace(sc.Bytes()); len(l) > 0 {
			out = append(out, string(l))
		}
	}
	return out, sc.Err()
}

// makeAddresses returns n addresses: the known ones cycled through every
// tenth slot, random Ethereum addresses elsewhere, so that most look-ups
// miss as most real deposits do.
func makeAddresses(n int, known []string) []string {
	out := make([]string, n)
	var b [20]byte
	for i := range out {
		if len(known) > 0 && i%10 == 0 {
			out[i] = known[(i/10)%len(known)]
			continue
		}
		rand.Read(b[:])
		out[i] = "0x" + hex.EncodeToString(b[:])
	}
	return out
}

func runBatch(ctx context.Context, c *http.Client, url, key string, addrs []string, rounds int) error {
	var lat []time.Duration
	for i := 0; i < rounds && ctx.Err() == nil; i++ {
		start := time.Now()
		body, err := json.Marshal(map[string]any{"addresses": addrs})
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/screen", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		var out struct {
			Results []json.RawMessage `json:"results"`
		}
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %s", resp.Status)
		}
		if err != nil {
			return err
		}
		if len(out.Results) != len(addrs) {
			return fmt.Errorf("%d results for %d addresses", len(out.Results), len(addrs))
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	fmt.Printf("batch of %d addresses, %d rounds: min %s  median %s  max %s  (%.0f addresses/s at the median)\n",
		len(addrs), len(lat), lat[0].Round(time.Millisecond), lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond),
		float64(len(addrs))/lat[len(lat)/2].Seconds())
	return nil
}

func runSingle(ctx context.Context, c *http.Client, url, key string, addrs []string, workers int, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		next   atomic.Int64
		errs   atomic.Int64
		mu     sync.Mutex
		all    []time.Duration
		wg     sync.WaitGroup
		failed atomic.Value
	)
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 1<<16)
			for ctx.Err() == nil {
				a := addrs[int(next.Add(1))%len(addrs)]
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/v1/addresses/auto/"+a, nil)
				req.Header.Set("Authorization", "Bearer "+key)
				t := time.Now()
				resp, err := c.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
						failed.Store(err.Error())
					}
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs.Add(1)
					failed.Store(resp.Status)
					continue
				}
				lat = append(lat, time.Since(t))
			}
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(all) == 0 {
		return fmt.Errorf("no successful requests (last failure: %v)", failed.Load())
	}
	slices.Sort(all)
	pct := func(p float64) time.Duration { return all[min(len(all)-1, int(p*float64(len(all))))] }
	fmt.Printf("single: %d requests in %s with %d connections: %.0f req/s, p50 %s p99 %s p99.9 %s max %s, errors %d\n",
		len(all), elapsed.Round(time.Millisecond), workers, float64(len(all))/elapsed.Seconds(),
		pct(0.50), pct(0.99), pct(0.999), all[len(all)-1], errs.Load())
	if n := errs.Load(); n > 0 {
		fmt.Printf("last failure: %v\n", failed.Load())
	}
	return nil
}
