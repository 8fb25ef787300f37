//go:build integration

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// readmeBlock is one fenced sh block of the README.
type readmeBlock struct {
	line  int // of the opening fence
	run   bool
	shell string
}

// readmeBlocks reads the fenced code blocks of a Markdown file whose info
// string is "sh" (run) or "sh no-run" (not run). Any other word after sh
// is refused, so that a misspelt marker cannot hide a block.
func readmeBlocks(path string) ([]readmeBlock, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []readmeBlock
	var cur *readmeBlock // the sh block open, if any
	other := false       // a block of another language is open
	var body strings.Builder
	for i, line := range strings.Split(string(b), "\n") {
		fence := strings.HasPrefix(strings.TrimSpace(line), "```")
		switch {
		case other:
			other = !fence
		case cur != nil && fence:
			cur.shell = body.String()
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			body.WriteString(line + "\n")
		case fence:
			info := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "```"))
			switch {
			case len(info) == 0:
				return nil, fmt.Errorf("%s:%d: a code block without a language: mark it sh, sh no-run or another", path, i+1)
			case info[0] != "sh":
				other = true
			case len(info) == 1 || len(info) == 2 && info[1] == "no-run":
				cur = &readmeBlock{line: i + 1, run: len(info) == 1}
				body.Reset()
			default:
				return nil, fmt.Errorf("%s:%d: sh block marked %q: want sh or sh no-run", path, i+1, strings.Join(info[1:], " "))
			}
		}
	}
	if cur != nil || other {
		return nil, fmt.Errorf("%s: a code block is not closed", path)
	}
	return out, nil
}

// TestREADME runs every sh block of README.md, in order, against a fresh
// demo store, as a new user would in a second terminal: the README's
// examples cannot drift from what the demo holds. The conventions are
// the README's ("How this README is tested").
func TestREADME(t *testing.T) {
	shared := sharedData(t)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := readmeBlocks(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	runs := 0
	for _, b := range blocks {
		if b.run {
			runs++
		}
	}
	if runs == 0 {
		t.Fatal("README.md has no sh block to run")
	}

	tmp := t.TempDir()
	bin := filepath.Join(tmp, "bin")
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "tracehound"), "./cmd/tracehound")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	home, work := filepath.Join(tmp, "home"), filepath.Join(tmp, "work")
	for _, d := range []string{home, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The user's environment, but for the demo's home, the binary on the
	// PATH and nothing of a store or key of the machine's.
	var env []string
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "HOME", "PATH", "XDG_DATA_HOME", "TRACEHOUND_API_KEY", "KEY", "TRACEHOUND_SHARED_DATA":
		default:
			env = append(env, kv)
		}
	}
	env = append(env, "HOME="+home, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	demo := exec.CommandContext(ctx, filepath.Join(bin, "tracehound"), "--log-level", "warn", "demo", "--addr", "127.0.0.1:0", "--shared-data", shared)
	demo.Dir, demo.Env = work, env
	stdout, err := demo.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	demo.Stderr = &stderr
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { demo.Process.Signal(os.Interrupt); demo.Wait() }()
	up := make(chan string, 1)
	var printed bytes.Buffer
	go func() {
		sc := bufio.NewScanner(io.TeeReader(stdout, &printed))
		serving := regexp.MustCompile(`serving on http://(\S+)`)
		var addr string
		for sc.Scan() {
			if m := serving.FindStringSubmatch(sc.Text()); m != nil {
				addr = m[1]
			}
			if strings.Contains(sc.Text(), "Stop with Ctrl-C") {
				up <- addr
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	var addr string
	select {
	case addr = <-up:
	case <-time.After(8 * time.Minute):
		t.Fatalf("demo not serving after 8 minutes\n%s\n%s", printed.String(), stderr.String())
	}
	if addr == "" {
		t.Fatalf("the demo printed no address:\n%s", printed.String())
	}
	key, err := os.ReadFile(filepath.Join(home, ".local", "share", "tracehound", "demo-api-key"))
	if err != nil {
		t.Fatalf("the demo's key is not where the README says: %v", err)
	}
	env = append(env, "TRACEHOUND_API_KEY="+strings.TrimSpace(string(key)), "KEY="+strings.TrimSpace(string(key)))

	// curl fails on an HTTP error, so that a refused request fails its block.
	const preamble = "curl() { command curl --fail-with-body \"$@\"; }\n"
	for _, b := range blocks {
		if !b.run {
			continue
		}
		script := strings.ReplaceAll(b.shell, "127.0.0.1:8080", addr)
		bctx, bcancel := context.WithTimeout(ctx, 5*time.Minute)
		cmd := exec.CommandContext(bctx, "bash", "-euo", "pipefail", "-c", preamble+script)
		cmd.Dir, cmd.Env = work, env
		out, err := cmd.CombinedOutput()
		bcancel()
		if err != nil {
			t.Errorf("README.md:%d: %v\n--- block:\n%s--- output:\n%s", b.line, err, b.shell, tail(out, 4000))
		}
	}
	if t.Failed() {
		t.Logf("demo's standard error:\n%s", tail(stderr.Bytes(), 4000))
	}
}

// tail is the end of b, at most n bytes.
func tail(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return "...\n" + string(b[len(b)-n:])
}

// TestReadmeBlocks: the parser runs sh blocks, skips sh no-run and other
// languages, and refuses an unknown marker or a bare fence.
func TestReadmeBlocks(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "R.md")
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bs, err := readmeBlocks(write("x\n```sh\necho a\n```\n```sh no-run\nsleep 1000\n```\n```text\nout\n```\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 2 || !bs[0].run || bs[0].shell != "echo a\n" || bs[0].line != 2 || bs[1].run {
		t.Fatalf("blocks %+v", bs)
	}
	for _, bad := range []string{"```sh norun\nx\n```\n", "```\nx\n```\n", "```sh\nx\n"} {
		if _, err := readmeBlocks(write(bad)); err == nil {
			t.Errorf("%q read without error", bad)
		}
	}
}
