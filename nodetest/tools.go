// Package nodetest starts real blockchain nodes (geth --dev, btcd
// --simnet) on 127.0.0.1 for integration tests. Node binaries are built
// from the Go module proxy at pinned versions and cached under the user's
// cache directory, so a fresh machine needs only Go.
package nodetest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Pinned node versions.
const (
	GethModule   = "github.com/ethereum/go-ethereum/cmd/geth"
	GethVersion  = "v1.17.8"
	BtcdModule   = "github.com/btcsuite/btcd"
	BtcctlModule = "github.com/btcsuite/btcd/cmd/btcctl"
	BtcdVersion  = "v0.25.0"
)

// Tool returns the path of the named binary built from pkg@version,
// building it on first use into
// $XDG_CACHE_HOME/tracehound/tools/<name>-<version>. A lock file there
// serialises builds across the test binaries go test runs in parallel.
func Tool(ctx context.Context, name, pkg, version string) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("tool %s: %w", name, err)
	}
	dir := filepath.Join(cache, "tracehound", "tools", name+"-"+version)
	bin := filepath.Join(dir, name)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("tool %s: %w", name, err)
	}
	unlock, err := lockFile(ctx, filepath.Join(dir, ".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	cmd := exec.CommandContext(ctx, "go", "install", pkg+"@"+version)
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-buildvcs=false")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go install %s@%s: %w\n%s", pkg, version, err, out)
	}
	return bin, nil
}

// lockFile takes an exclusive lock by creating path, waiting while another
// process holds it.
func lockFile(ctx context.Context, path string) (func(), error) {
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			f.Close()
			return func() { os.Remove(path) }, nil
		}
		if !os.IsExist(err) {
			return nil, err
		}
		// A lock older than the slowest build is left by a killed run.
		if st, err := os.Stat(path); err == nil && time.Since(st.ModTime()) > 20*time.Minute {
			os.Remove(path)
			continue
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
