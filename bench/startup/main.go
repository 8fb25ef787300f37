//go:build unix

// Command startup measures how fast tracehound starts on a store: the
// time until `serve` answers /healthz, and the time and peak memory of a
// command-line `screen` of one address; each with the screening snapshot
// in place and, as the anchor in the same run, with it removed (the
// index and the exposure rebuilt from the store). Runs alternate between
// the two, so that the machine's load falls on both alike.
//
//	go build -o bin/tracehound ./cmd/tracehound
//	go run ./bench/startup -bin bin/tracehound -data DIR -runs 5
//
// DIR is a store made by `tracehound demo`. The snapshot is moved aside
// for the anchor's runs and put back after each; a run that fails makes
// the command exit non-zero.
//
// The command line prints its answer after the node closes, and a node
// that rebuilt the index writes the snapshot as it closes: the anchor's
// CLI figure includes that write. -anchor-bin names a binary that keeps
// no snapshot (built from before it existed), measured alongside as the
// start-up users had.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

// snapshotFile is node.SnapshotFile; the harness runs the binary, so it
// does not import the node.
const snapshotFile = "screening.snapshot"

func main() {
	var (
		bin  = flag.String("bin", "bin/tracehound", "tracehound binary")
		data = flag.String("data", "", "store made by `tracehound demo`")
		runs = flag.Int("runs", 5, "runs of each measurement")
		addr = flag.String("address", "0x098B716B8Aaf21512996dC57EB0615e2383E2f96", "address the command line screens")
		prev = flag.String("anchor-bin", "", "also measure this binary, which keeps no snapshot")
	)
	flag.Parse()
	if *data == "" {
		fatal(errors.New("-data is required"))
	}
	h := &harness{bin: *bin, prev: *prev, data: *data, addr: *addr}
	if err := h.run(*runs); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "startup:", err)
	os.Exit(1)
}

type harness struct {
	bin, prev, data, addr string
}

// sample is one run: the time to the answer (the first line printed, or
// /healthz answering), the process's whole life, its peak RSS.
type sample struct {
	ready, exit time.Duration
	rssKB       int64
}

func (h *harness) snap() string  { return filepath.Join(h.data, snapshotFile) }
func (h *harness) saved() string { return h.snap() + ".bench-saved" }

func (h *harness) run(runs int) error {
	// A first screening writes the snapshot if the store has none, and
	// warms the page cache for both sides.
	if _, err := h.screen(h.bin); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	if _, err := os.Stat(h.snap()); err != nil {
		return fmt.Errorf("no snapshot after the warm-up: %w", err)
	}
	var cliSnap, cliAnchor, srvSnap, srvAnchor, cliPrev, srvPrev []sample
	for i := range runs {
		s, err := h.screen(h.bin)
		if err != nil {
			return fmt.Errorf("screen with the snapshot: %w", err)
		}
		cliSnap = append(cliSnap, s)
		if s, err = h.without(func() (sample, error) { return h.screen(h.bin) }); err != nil {
			return fmt.Errorf("screen without the snapshot: %w", err)
		}
		cliAnchor = append(cliAnchor, s)
		if s, err = h.serve(h.bin); err != nil {
			return fmt.Errorf("serve with the snapshot: %w", err)
		}
		srvSnap = append(srvSnap, s)
		if s, err = h.without(func() (sample, error) { return h.serve(h.bin) }); err != nil {
			return fmt.Errorf("serve without the snapshot: %w", err)
		}
		srvAnchor = append(srvAnchor, s)
		if h.prev != "" {
			if s, err = h.without(func() (sample, error) { return h.screen(h.prev) }); err != nil {
				return fmt.Errorf("screen, %s: %w", h.prev, err)
			}
			cliPrev = append(cliPrev, s)
			if s, err = h.without(func() (sample, error) { return h.serve(h.prev) }); err != nil {
				return fmt.Errorf("serve, %s: %w", h.prev, err)
			}
			srvPrev = append(srvPrev, s)
		}
		fmt.Fprintf(os.Stderr, "run %d/%d: screen %v / %v, serve ready %v / %v (snapshot / rebuilt)\n", i+1, runs,
			cliSnap[i].ready.Round(time.Millisecond), cliAnchor[i].ready.Round(time.Millisecond),
			srvSnap[i].ready.Round(time.Millisecond), srvAnchor[i].ready.Round(time.Millisecond))
	}
	st, _ := os.Stat(h.snap())
	fmt.Printf("store %s, snapshot %d MB, %d runs, %s/%s, %d CPUs; medians (min–max)\n\n", h.data, st.Size()>>20, runs, runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	fmt.Println("| figure | with the snapshot | rebuilt from the store (anchor) | ratio |")
	fmt.Println("| --- | --- | --- | --- |")
	row := func(name string, a, b []sample, f func(sample) time.Duration) {
		ma, mb := median(a, f), median(b, f)
		fmt.Printf("| %s | %s | %s | %.1f × faster |\n", name, spread(a, f), spread(b, f), float64(mb)/float64(ma))
	}
	row("`serve` ready (/healthz answers)", srvSnap, srvAnchor, func(s sample) time.Duration { return s.ready })
	row("CLI `screen` of one address: answer printed", cliSnap, cliAnchor, func(s sample) time.Duration { return s.ready })
	row("CLI `screen` of one address: process exit", cliSnap, cliAnchor, func(s sample) time.Duration { return s.exit })
	rss := func(xs []sample) string {
		v := make([]int64, len(xs))
		for i, s := range xs {
			v[i] = s.rssKB
		}
		slices.Sort(v)
		return fmt.Sprintf("%d MB", v[len(v)/2]>>10)
	}
	fmt.Printf("| CLI `screen` peak RSS | %s | %s | |\n", rss(cliSnap), rss(cliAnchor))
	fmt.Printf("| `serve` peak RSS | %s | %s | |\n", rss(srvSnap), rss(srvAnchor))
	if h.prev != "" {
		fmt.Printf("\n%s, which keeps no snapshot, in the same run:\n\n", h.prev)
		fmt.Println("| figure | with the snapshot | previous binary (anchor) | ratio |")
		fmt.Println("| --- | --- | --- | --- |")
		row("`serve` ready (/healthz answers)", srvSnap, srvPrev, func(s sample) time.Duration { return s.ready })
		row("CLI `screen` of one address: answer printed", cliSnap, cliPrev, func(s sample) time.Duration { return s.ready })
		fmt.Printf("| CLI `screen` peak RSS | %s | %s | |\n", rss(cliSnap), rss(cliPrev))
	}
	return nil
}

func median(xs []sample, f func(sample) time.Duration) time.Duration {
	v := make([]time.Duration, len(xs))
	for i, s := range xs {
		v[i] = f(s)
	}
	slices.Sort(v)
	return v[len(v)/2]
}

func spread(xs []sample, f func(sample) time.Duration) string {
	v := make([]time.Duration, len(xs))
	for i, s := range xs {
		v[i] = f(s)
	}
	slices.Sort(v)
	r := func(d time.Duration) string {
		if d < time.Second {
			return d.Round(time.Millisecond).String()
		}
		return d.Round(10 * time.Millisecond).String()
	}
	return fmt.Sprintf("%s (%s–%s)", r(v[len(v)/2]), r(v[0]), r(v[len(v)-1]))
}

// without runs f with the snapshot moved aside, and puts it back after:
// the file the process writes at its end is dropped, so that every run
// with the snapshot reads the same file.
func (h *harness) without(f func() (sample, error)) (sample, error) {
	if err := os.Rename(h.snap(), h.saved()); err != nil {
		return sample{}, err
	}
	s, err := f()
	if rerr := os.Rename(h.saved(), h.snap()); err == nil {
		err = rerr
	}
	return s, err
}

// screen runs `tracehound screen ADDRESS`.
func (h *harness) screen(bin string) (sample, error) {
	cmd := exec.Command(bin, "--data", h.data, "--log-level", "warn", "screen", h.addr)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return sample{}, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return sample{}, err
	}
	var s sample
	br := bufio.NewReader(out)
	if _, err := br.ReadString('\n'); err != nil {
		cmd.Wait()
		return s, fmt.Errorf("no answer: %v: %s", err, stderr.String())
	}
	s.ready = time.Since(start)
	io.Copy(io.Discard, br)
	if err := cmd.Wait(); err != nil {
		return s, fmt.Errorf("%v: %s", err, stderr.String())
	}
	s.exit = time.Since(start)
	s.rssKB = maxRSS(cmd.ProcessState)
	return s, nil
}

// serve starts `tracehound serve`, waits for /healthz to answer, and
// stops it with SIGINT.
func (h *harness) serve(bin string) (sample, error) {
	port, err := freePort()
	if err != nil {
		return sample{}, err
	}
	hostport := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(bin, "--data", h.data, "--log-level", "warn", "serve", "--addr", hostport)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return sample{}, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var s sample
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+hostport+"/healthz", nil)
		if resp, err := c.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				s.ready = time.Since(start)
				break
			}
		}
		select {
		case err := <-exited:
			return s, fmt.Errorf("serve exited before it was ready: %v: %s", err, stderr.String())
		case <-ctx.Done():
			cmd.Process.Kill()
			<-exited
			return s, fmt.Errorf("not ready after 2 minutes: %s", stderr.String())
		case <-time.After(2 * time.Millisecond):
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		return s, err
	}
	if err := <-exited; err != nil {
		return s, fmt.Errorf("serve: %v: %s", err, stderr.String())
	}
	s.exit = time.Since(start)
	s.rssKB = maxRSS(cmd.ProcessState)
	return s, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// maxRSS is the process's peak resident set in KB (Linux's ru_maxrss).
func maxRSS(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return int64(ru.Maxrss)
	}
	return 0
}
