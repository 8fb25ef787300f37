package tags

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tracehound/tracehound/chain"
)

// Store keeps tags per pack. ReplacePack swaps a pack's tags atomically,
// so importing a pack again replaces it rather than adding to it.
type Store interface {
	ReplacePack(ctx context.Context, pack string, tags []Tag) error
}

// ImportOptions tune Import.
type ImportOptions struct {
	// Progress, if set, is called after each file.
	Progress func(done, total int)
}

// Report says what an import did.
type Report struct {
	Files    int           `json:"files"`
	Tags     int           `json:"tags"`
	Skipped  int           `json:"skipped"`
	Problems []Problem     `json:"problems,omitempty"` // the first 100
	Failed   []string      `json:"failed_files,omitempty"`
	Elapsed  time.Duration `json:"elapsed_ns"`
}

func (r Report) String() string {
	s := fmt.Sprintf("%d files, %d tags, %d skipped", r.Files, r.Tags, r.Skipped)
	if len(r.Failed) > 0 {
		s += fmt.Sprintf(", %d files failed", len(r.Failed))
	}
	return s
}

const maxProblems = 100

// Import reads TagPacks (*.yaml, *.yml) and Etherscan label files
// (*.json) from a file or a directory tree, in parallel, and stores each
// file as one pack. A file that cannot be read at all is reported and
// skipped; the others still import.
func Import(ctx context.Context, st Store, p *chain.Parser, path string, o ImportOptions) (Report, error) {
	start := time.Now()
	files, err := Files(path)
	if err != nil {
		return Report{}, err
	}
	if len(files) == 0 {
		return Report{}, fmt.Errorf("%s: no TagPack (.yaml) or label (.json) files", path)
	}
	type result struct {
		file     string
		tags     []Tag
		problems []Problem
		err      error
	}
	jobs := make(chan string)
	results := make(chan result)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range jobs {
				r := result{file: f}
				data, err := os.ReadFile(f)
				if err != nil {
					r.err = err
				} else if strings.HasSuffix(strings.ToLower(f), ".json") {
					r.tags, r.problems, r.err = ParseEtherscan(data, filepath.Base(f), p)
				} else {
					r.tags, r.problems, r.err = ParseTagPack(data, filepath.Base(f), p)
				}
				results <- r
			}
		}()
	}
	go func() {
		defer close(jobs)
		for _, f := range files {
			select {
			case jobs <- f:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	var rep Report
	var firstErr error
	done := 0
	for r := range results {
		done++
		if o.Progress != nil {
			o.Progress(done, len(files))
		}
		if firstErr != nil {
			continue
		}
		if r.err != nil {
			rep.Failed = append(rep.Failed, r.err.Error())
			continue
		}
		if err := st.ReplacePack(ctx, filepath.Base(r.file), r.tags); err != nil {
			firstErr = fmt.Errorf("store %s: %w", r.file, err)
			continue
		}
		rep.Files++
		rep.Tags += len(r.tags)
		rep.Skipped += len(r.problems)
		for _, pr := range r.problems {
			if len(rep.Problems) < maxProblems {
				rep.Problems = append(rep.Problems, pr)
			}
		}
	}
	if firstErr != nil {
		return rep, firstErr
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	sort.Slice(rep.Problems, func(i, j int) bool {
		if rep.Problems[i].File != rep.Problems[j].File {
			return rep.Problems[i].File < rep.Problems[j].File
		}
		return rep.Problems[i].Line < rep.Problems[j].Line
	})
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// Files lists the tag files at path as an import reads them: the file
// itself, or the .yaml, .yml and .json files under a directory, but for
// GraphSense's actor definitions (actors/), in name order.
func Files(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	var out []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".yaml", ".yml", ".json":
			if !d.IsDir() && !strings.Contains(p, string(filepath.Separator)+"actors"+string(filepath.Separator)) {
				out = append(out, p)
			}
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}
