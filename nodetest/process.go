package nodetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// process is a node program running for one test, its output in a log
// file of its directory. Geth and Btcd share its start, readiness wait,
// kill and log tail.
type process struct {
	name   string
	log    string
	cmd    *exec.Cmd
	exited chan struct{}
	once   sync.Once
}

// startProcess starts bin with args in dir, its output to dir/NAME.out.
func startProcess(name, bin, dir string, args []string) (*process, error) {
	p := &process{name: name, log: filepath.Join(dir, name+".out"), exited: make(chan struct{})}
	out, err := os.Create(p.log)
	if err != nil {
		return nil, err
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = out, out
	p.cmd.Dir = dir
	if err := p.cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.cmd.Wait()
		out.Close()
		close(p.exited)
	}()
	return p, nil
}

// errNotReady marks a readiness check's error worth retrying; any other
// error ends the wait at once.
var errNotReady = errors.New("not ready")

// waitReady calls ready every 100 ms until it succeeds, fails for good
// (an error not wrapping errNotReady), the process exits or limit passes.
func (p *process) waitReady(ctx context.Context, limit time.Duration, what string, ready func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		err := ready(ctx)
		if err == nil || !errors.Is(err, errNotReady) {
			return err
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited before its %s answered: %v", p.name, what, p.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("%s: %s did not answer within %s: %w", p.name, what, limit, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// notReady wraps a transient error for waitReady.
func notReady(err error) error { return fmt.Errorf("%w: %w", errNotReady, err) }

// attach ties the process to t: kill (which also stops the process) runs
// when the test ends, and the tail of the log is printed if it failed.
func (p *process) attach(t testing.TB, kill func()) {
	t.Cleanup(func() {
		kill()
		if t.Failed() {
			t.Logf("%s output (%s), last lines:\n%s", p.name, p.log, p.LogTail(40))
		}
	})
}

// stop kills the process once, after before (closing clients, say).
func (p *process) stop(before func()) {
	p.once.Do(func() {
		if before != nil {
			before()
		}
		if p.cmd.Process != nil {
			p.cmd.Process.Kill()
		}
		<-p.exited
	})
}

// LogTail returns the last n lines the process printed.
func (p *process) LogTail(n int) string {
	data, err := os.ReadFile(p.log)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
