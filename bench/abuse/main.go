// Command abuse measures what slow clients and large batches cost a real
// tracehound server: it loads the shared data set into a store with
// `tracehound demo` (the OFAC list versions, the attribution tags, the
// early Bitcoin blocks), serves it with `tracehound serve` as a
// subprocess, and then
//
//   - attacks it with thousands of clients sending a request a byte a
//     second, without a key, while screening single addresses from
//     another loopback address: the connections the server holds and the
//     screening latency, against the same requests without the attack;
//   - sends concurrent batches of 100,000 addresses: the server's peak
//     memory (VmHWM) against its memory after start-up.
//
// Every request stays on loopback, bounded in count and time. It exits
// non-zero on any error.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type config struct {
	bin, data, shared, addr string
	slow, sources           int
	attack, window          time.Duration
	workers                 int
	batches, batchSize      int
	mode                    string
	// memLimit, if set, is the server's GOMEMLIMIT.
	memLimit string
}

func main() {
	var c config
	flag.StringVar(&c.bin, "bin", "", "tracehound binary (default: go build ./cmd/tracehound into a temporary directory)")
	flag.StringVar(&c.data, "data", "", "store directory; loaded with `tracehound demo` unless it holds demo-api-key already (default: a temporary directory)")
	flag.StringVar(&c.shared, "shared-data", "../shared/data", "the shared data set")
	flag.StringVar(&c.addr, "addr", "127.0.0.1:18090", "where the server listens (loopback)")
	flag.IntVar(&c.slow, "slow", 3000, "slow clients in the attack (0: no attack)")
	flag.IntVar(&c.sources, "sources", 1, "loopback addresses the slow clients come from (127.0.1.1 on): 1 meets the per-address cap, 12 stays under it")
	flag.StringVar(&c.mode, "mode", "body", "body: whole headers without a key, then the body a byte a second; headers: the headers themselves a byte a second")
	flag.DurationVar(&c.attack, "attack", 20*time.Second, "how long the slow clients attack")
	flag.DurationVar(&c.window, "window", 8*time.Second, "how long screening latency is measured, with and without the attack")
	flag.IntVar(&c.workers, "c", 4, "concurrent single-address screening clients")
	flag.IntVar(&c.batches, "batches", 16, "concurrent batches in the memory measurement (0: none)")
	flag.IntVar(&c.batchSize, "batch-size", 100_000, "addresses per batch")
	flag.StringVar(&c.memLimit, "memlimit", "", "GOMEMLIMIT of the server (e.g. 800MiB); default: the environment's")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "abuse:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	if !strings.HasPrefix(c.addr, "127.") {
		return fmt.Errorf("-addr %s: loopback only", c.addr)
	}
	tmp, err := os.MkdirTemp("", "tracehound-abuse-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if c.bin == "" {
		c.bin = filepath.Join(tmp, "tracehound")
		fmt.Println("== building tracehound")
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", c.bin, "./cmd/tracehound").CombinedOutput(); err != nil {
			return fmt.Errorf("go build: %v\n%s", err, out)
		}
	}
	if c.data == "" {
		c.data = filepath.Join(tmp, "store")
	}
	key, err := load(ctx, c)
	if err != nil {
		return err
	}
	srv, err := serve(ctx, c)
	if err != nil {
		return err
	}
	defer srv.stop()
	limit := ""
	if c.memLimit != "" {
		limit = ", GOMEMLIMIT=" + c.memLimit
	}
	fmt.Printf("== serving %s from %s (pid %d%s): start-up %s, VmRSS %s, VmHWM %s\n", c.addr, c.data, srv.pid(), limit, srv.startup.Round(time.Millisecond), mib(srv.mem("VmRSS")), mib(srv.mem("VmHWM")))

	screening := clientFrom("127.0.0.2", c.workers)
	addrs, err := knownAddresses(c.shared)
	if err != nil {
		return err
	}
	if c.slow > 0 {
		if err := availability(ctx, c, srv, screening, key, addrs); err != nil {
			return err
		}
	}
	if c.batches > 0 {
		if err := memory(ctx, c, srv, key, addrs); err != nil {
			return err
		}
	}
	if err := srv.stop(); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	fmt.Println("== the server stopped cleanly")
	return nil
}

// load fills the store with `tracehound demo` once and returns the
// demo's API key.
func load(ctx context.Context, c config) (string, error) {
	keyFile := filepath.Join(c.data, "demo-api-key")
	if b, err := os.ReadFile(keyFile); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	fmt.Printf("== loading the shared data into %s (tracehound demo)\n", c.data)
	start := time.Now()
	log, err := os.Create(filepath.Join(os.TempDir(), "tracehound-abuse-demo.log"))
	if err != nil {
		return "", err
	}
	defer log.Close()
	cmd := exec.CommandContext(ctx, c.bin, "--data", c.data, "demo", "--addr", c.addr, "--shared-data", c.shared)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return "", err
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	if err := waitHealthy(ctx, c.addr, 15*time.Minute, waited); err != nil {
		cmd.Process.Kill()
		return "", fmt.Errorf("demo: %w (log: %s)", err, log.Name())
	}
	cmd.Process.Signal(os.Interrupt)
	if err := <-waited; err != nil {
		return "", fmt.Errorf("demo stopped: %w (log: %s)", err, log.Name())
	}
	fmt.Printf("   loaded in %s\n", time.Since(start).Round(time.Second))
	b, err := os.ReadFile(keyFile)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// server is `tracehound serve` running as a subprocess.
type server struct {
	cmd     *exec.Cmd
	log     *os.File
	waited  chan error
	startup time.Duration
	// startRSS is VmRSS once serving.
	startRSS int64
	once     sync.Once
	err      error
}

func serve(ctx context.Context, c config) (*server, error) {
	start := time.Now()
	// Each refused request is logged at warn: under attack that is
	// thousands of lines a second, which would be the terminal's cost.
	log, err := os.Create(filepath.Join(os.TempDir(), "tracehound-abuse-serve.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(c.bin, "--data", c.data, "--log-level", "error", "serve", "--addr", c.addr)
	cmd.Stdout, cmd.Stderr = log, log
	if c.memLimit != "" {
		cmd.Env = append(os.Environ(), "GOMEMLIMIT="+c.memLimit)
	}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, err
	}
	s := &server{cmd: cmd, waited: make(chan error, 1), log: log}
	go func() { s.waited <- cmd.Wait() }()
	if err := waitHealthy(ctx, c.addr, 5*time.Minute, s.waited); err != nil {
		s.stop()
		return nil, fmt.Errorf("serve: %w (log: %s)", err, log.Name())
	}
	s.startup = time.Since(start)
	s.startRSS = s.mem("VmRSS")
	return s, nil
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// stop interrupts the server and returns how it ended: nil if it exited
// cleanly within 30 s.
func (s *server) stop() error {
	s.once.Do(func() {
		s.cmd.Process.Signal(os.Interrupt)
		select {
		case s.err = <-s.waited:
		case <-time.After(30 * time.Second):
			s.cmd.Process.Kill()
			s.err = errors.New("still running 30 s after an interrupt")
		}
		s.log.Close()
		if b, err := os.ReadFile(s.log.Name()); err == nil && len(b) > 0 {
			fmt.Printf("   server log (%s):\n%s", s.log.Name(), b)
		}
	})
	return s.err
}

// mem reads a field of /proc/<pid>/status, in kB.
func (s *server) mem(field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.pid()))
	if err != nil {
		return -1
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return -1
}

// resetPeak makes VmHWM the current VmRSS (Linux 4.0 on).
func (s *server) resetPeak() error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", s.pid()), []byte("5"), 0)
}

// sockets counts the server's open sockets: its listener and the
// connections it holds.
func (s *server) sockets() int {
	dir := fmt.Sprintf("/proc/%d/fd", s.pid())
	ents, err := os.ReadDir(dir)
	if err != nil {
		return -1
	}
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && strings.HasPrefix(l, "socket:") {
			n++
		}
	}
	return n
}

func mib(kb int64) string { return fmt.Sprintf("%.0f MiB", float64(kb)/1024) }

func waitHealthy(ctx context.Context, addr string, limit time.Duration, exited <-chan error) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("exited before serving: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("not serving on %s within %s", addr, limit)
}

// clientFrom is an HTTP client whose connections come from ip.
func clientFrom(ip string, conns int) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}
}

// knownAddresses reads the sanctioned Ethereum and Bitcoin addresses of
// the OFAC list files, to mix into what is screened.
func knownAddresses(shared string) ([]string, error) {
	var out []string
	for _, f := range []string{"sanctioned_addresses_ETH.txt", "sanctioned_addresses_XBT.txt"} {
		b, err := os.ReadFile(filepath.Join(shared, "ofac", "lists-2025-11-19", f))
		if err != nil {
			return nil, err
		}
		for l := range strings.FieldsSeq(string(b)) {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no known addresses in the OFAC list files")
	}
	return out, nil
}

// makeAddresses returns n addresses: a known one every tenth, random
// Ethereum addresses elsewhere, so that most look-ups miss as most
// deposits do (as bench/httpbench makes them).
func makeAddresses(n int, known []string) []string {
	out := make([]string, n)
	var b [20]byte
	for i := range out {
		if i%10 == 0 {
			out[i] = known[(i/10)%len(known)]
			continue
		}
		_, _ = rand.Read(b[:])
		out[i] = "0x" + hex.EncodeToString(b[:])
	}
	return out
}

// availability measures single-address screening from 127.0.0.2 before,
// during and after the slow clients' attack, and the connections the
// server holds meanwhile.
func availability(ctx context.Context, c config, srv *server, hc *http.Client, key string, known []string) error {
	addrs := makeAddresses(10_000, known)
	fmt.Printf("== availability: %d slow clients (%s a byte a second, no key) from %d address(es), %d screening clients from 127.0.0.2\n", c.slow, c.mode, c.sources, c.workers)
	before, err := screenLatency(ctx, hc, c.addr, key, addrs, c.workers, c.window)
	if err != nil {
		return fmt.Errorf("before the attack: %w", err)
	}
	fmt.Printf("   without the attack: %s\n", before)
	idle := srv.sockets()

	actx, stop := context.WithTimeout(ctx, c.attack)
	defer stop()
	var st attackStats
	var wg sync.WaitGroup
	for i := range c.slow {
		src := fmt.Sprintf("127.0.1.%d", 1+i%c.sources)
		wg.Go(func() { slowClient(actx, c.addr, src, c.mode, &st) })
	}
	// Sample the sockets while the attack runs.
	var samples []int
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-actx.Done():
				return
			case <-t.C:
				samples = append(samples, srv.sockets())
			}
		}
	}()
	// Let the attack build up, then measure screening under it.
	select {
	case <-time.After(min(c.attack/4, 5*time.Second)):
	case <-ctx.Done():
		return ctx.Err()
	}
	during, derr := screenLatency(ctx, hc, c.addr, key, addrs, c.workers, c.window)
	<-actx.Done()
	wg.Wait()
	<-sampled
	if derr != nil {
		return fmt.Errorf("during the attack: %w", derr)
	}
	slices.Sort(samples)
	fmt.Printf("   during the attack:  %s\n", during)
	fmt.Printf("   server sockets: %d idle; during the attack median %d, max %d (listener and screening clients included)\n", idle, samples[len(samples)/2], samples[len(samples)-1])
	fmt.Printf("   slow clients: %d connections opened, %d answered 401, %d closed by the server without an answer, %d still open when the attack ended\n",
		st.opened.Load(), st.refused.Load(), st.closed.Load(), st.open.Load())
	fmt.Printf("   ratio during/without: p50 %.2f, p99 %.2f\n", during.p50.Seconds()/before.p50.Seconds(), during.p99.Seconds()/before.p99.Seconds())
	if st.dialErrs.Load() > 0 {
		fmt.Printf("   %d dials failed (last: %v)\n", st.dialErrs.Load(), st.lastErr.Load())
	}
	time.Sleep(time.Second)
	after, err := screenLatency(ctx, hc, c.addr, key, addrs, c.workers, c.window/2)
	if err != nil {
		return fmt.Errorf("after the attack: %w", err)
	}
	fmt.Printf("   after the attack:   %s; server sockets %d\n", after, srv.sockets())
	return nil
}

type attackStats struct {
	opened, refused, closed, open, dialErrs atomic.Int64
	lastErr                                 atomic.Value
}

// slowClient connects from src and sends a request a byte a second,
// reconnecting a second after the server closes, until ctx ends.
func slowClient(ctx context.Context, addr, src, mode string, st *attackStats) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	req := "POST /v1/screen HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n"
	for ctx.Err() == nil {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			if ctx.Err() == nil {
				st.dialErrs.Add(1)
				st.lastErr.Store(err.Error())
				sleep(ctx, time.Second)
			}
			continue
		}
		st.opened.Add(1)
		st.open.Add(1)
		first := req
		if mode == "headers" {
			first = req[:1]
		}
		answered := make(chan bool, 1)
		go func() {
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err == nil {
				resp.Body.Close()
			}
			answered <- err == nil && resp.StatusCode == http.StatusUnauthorized
			conn.Close()
		}()
		sent := len(first)
		_, err = io.WriteString(conn, first)
		t := time.NewTicker(time.Second)
		for err == nil {
			select {
			case <-ctx.Done():
				err = ctx.Err()
				continue
			case ok := <-answered:
				if ok {
					st.refused.Add(1)
				} else {
					st.closed.Add(1)
				}
				answered = nil
				err = io.EOF
				continue
			case <-t.C:
			}
			b := []byte{'x'}
			if mode == "headers" && sent < len(req) {
				b[0] = req[sent]
			}
			sent++
			_, err = conn.Write(b)
		}
		t.Stop()
		conn.Close()
		if answered != nil && ctx.Err() == nil {
			// A write failed: the server closed first.
			if <-answered {
				st.refused.Add(1)
			} else {
				st.closed.Add(1)
			}
		}
		st.open.Add(-1)
		if ctx.Err() != nil {
			if answered != nil {
				st.open.Add(1) // held until the attack ended
			}
			return
		}
		sleep(ctx, time.Second)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

type latency struct {
	n, errs  int
	p50, p99 time.Duration
	max      time.Duration
	rate     float64
}

func (l latency) String() string {
	return fmt.Sprintf("%d requests (%.0f/s), p50 %s, p99 %s, max %s, errors %d", l.n, l.rate,
		l.p50.Round(time.Microsecond), l.p99.Round(time.Microsecond), l.max.Round(time.Microsecond), l.errs)
}

// screenLatency screens single addresses from workers for d. Any failed
// request is an error.
func screenLatency(ctx context.Context, hc *http.Client, addr, key string, addrs []string, workers int, d time.Duration) (latency, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		next atomic.Int64
		mu   sync.Mutex
		all  []time.Duration
		fail atomic.Value
		errs atomic.Int64
		wg   sync.WaitGroup
	)
	start := time.Now()
	for range workers {
		wg.Go(func() {
			var lat []time.Duration
			for ctx.Err() == nil {
				a := addrs[int(next.Add(1))%len(addrs)]
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/v1/addresses/auto/"+a, nil)
				req.Header.Set("Authorization", "Bearer "+key)
				t := time.Now()
				resp, err := hc.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
						fail.Store(err.Error())
					}
					continue
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
						fail.Store(fmt.Sprintf("%s %v", resp.Status, err))
					}
					continue
				}
				lat = append(lat, time.Since(t))
			}
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if errs.Load() > 0 || len(all) == 0 {
		return latency{}, fmt.Errorf("%d failed screening requests, %d answered (last failure: %v)", errs.Load(), len(all), fail.Load())
	}
	slices.Sort(all)
	pct := func(p float64) time.Duration { return all[min(len(all)-1, int(p*float64(len(all))))] }
	return latency{n: len(all), p50: pct(0.5), p99: pct(0.99), max: all[len(all)-1], rate: float64(len(all)) / elapsed.Seconds()}, nil
}

// memory sends concurrent batches and reads the server's peak memory.
func memory(ctx context.Context, c config, srv *server, key string, known []string) error {
	body, err := json.Marshal(map[string]any{"addresses": makeAddresses(c.batchSize, known)})
	if err != nil {
		return err
	}
	fmt.Printf("== memory: %d concurrent batches of %d addresses (%.1f MB of JSON each)\n", c.batches, c.batchSize, float64(len(body))/1e6)
	beforeRSS, startHWM := srv.mem("VmRSS"), srv.mem("VmHWM")
	if err := srv.resetPeak(); err != nil {
		return fmt.Errorf("reset the peak: %w", err)
	}
	hc := clientFrom("127.0.0.4", c.batches)
	hc.Timeout = 5 * time.Minute
	var (
		wg      sync.WaitGroup
		retries atomic.Int64
		mu      sync.Mutex
		lat     []time.Duration
		errs    []error
	)
	start := time.Now()
	for range c.batches {
		wg.Go(func() {
			t := time.Now()
			err := batch(ctx, hc, c.addr, key, body, c.batchSize, &retries)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			lat = append(lat, time.Since(t))
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(errs) > 0 {
		return fmt.Errorf("batches: %w", errors.Join(errs...))
	}
	slices.Sort(lat)
	peak := srv.mem("VmHWM")
	time.Sleep(2 * time.Second)
	fmt.Printf("   %d batches in %s (each %s to %s; %d answered 503 first and were sent again after Retry-After)\n",
		len(lat), elapsed.Round(time.Millisecond), lat[0].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond), retries.Load())
	fmt.Printf("   server memory: VmRSS %s after start-up, %s before the batches (peak so far VmHWM %s); during the batches VmHWM %s (%.2f x the RSS after start-up); VmRSS 2 s after %s\n",
		mib(srv.startRSS), mib(beforeRSS), mib(startHWM), mib(peak), float64(peak)/float64(srv.startRSS), mib(srv.mem("VmRSS")))
	if peak >= 1<<20 {
		fmt.Printf("   over the goal of 1 GiB\n")
	}
	return nil
}

// batch screens one batch, sending it again while the server answers
// 503 with Retry-After (it has no room for the bytes yet), and checks the
// answer has a result per address.
func batch(ctx context.Context, hc *http.Client, addr, key string, body []byte, n int, retries *atomic.Int64) error {
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/v1/screen", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "" && attempt < 3 {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			retries.Add(1)
			s, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			sleep(ctx, time.Duration(s)*time.Second)
			continue
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
		if len(out.Results) != n {
			return fmt.Errorf("%d results for %d addresses", len(out.Results), n)
		}
		return nil
	}
}
