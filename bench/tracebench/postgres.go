package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The PostgreSQL side, tuned as its users would: addresses as bytea (20
// bytes, not 42 characters of text), a covering index on (from_addr, ts)
// INCLUDE (to_addr, amount) so that a hop is an index-only scan,
// VACUUM ANALYZE so that the visibility map lets it be one and the
// planner knows the table; 1 GB of shared buffers and 256 MB of work
// memory. The query asks what a poison trace asks: every address
// reachable from the thief in at most six hops, each hop no earlier than
// the one before, transfers below the dust limit left out, stopping at
// the exchanges' hot wallets. Each hop keeps one row per address (its
// earliest arrival, by a window), so that an address is expanded once per
// hop, as tracehound replays it once, rather than once per payment that
// reached it. It computes reachability only: the haircut amounts
// tracehound computes on top have no simple SQL form.
const pgQuery = `EXPLAIN (ANALYZE, TIMING OFF)
WITH RECURSIVE flow(addr, hop, t) AS (
    SELECT '\x%s'::bytea, 0, 0::bigint
  UNION ALL
    SELECT x.addr, x.hop, x.t FROM (
        SELECT tr.to_addr AS addr, f.hop + 1 AS hop,
               min(tr.ts) OVER (PARTITION BY tr.to_addr) AS t,
               row_number() OVER (PARTITION BY tr.to_addr) AS n
        FROM flow f JOIN transfers tr ON tr.from_addr = f.addr AND tr.ts >= f.t
        WHERE f.hop < 6 AND tr.amount >= %d AND f.addr NOT IN (%s)
    ) x WHERE x.n = 1
)
SELECT count(DISTINCT addr) FROM flow`

// postgres is a throwaway server run as the postgres user.
type postgres struct {
	bin, dir, sock string
	port           int
}

func startPostgres(ctx context.Context, bin, dir string, port int) (pg *postgres, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	if err := exec.Command("chown", "-R", "postgres", dir).Run(); err != nil {
		return nil, fmt.Errorf("chown %s: %w", dir, err)
	}
	pg = &postgres{bin: bin, dir: dir, sock: dir, port: port}
	if out, err := pg.asPostgres(ctx, filepath.Join(bin, "initdb"), "-D", filepath.Join(dir, "data"), "-A", "trust", "-U", "postgres"); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	if err := pg.start(ctx); err != nil {
		return nil, err
	}
	return pg, nil
}

func (pg *postgres) start(ctx context.Context) error {
	opts := fmt.Sprintf("-k %s -p %d -c listen_addresses='' -c shared_buffers=1GB -c work_mem=256MB -c maintenance_work_mem=1GB -c max_wal_size=8GB -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c effective_cache_size=8GB -c random_page_cost=1.1", pg.dir, pg.port)
	if out, err := pg.asPostgres(ctx, filepath.Join(pg.bin, "pg_ctl"), "-D", filepath.Join(pg.dir, "data"), "-o", opts, "-l", filepath.Join(pg.dir, "log"), "-w", "start"); err != nil {
		return fmt.Errorf("pg_ctl start: %v\n%s", err, out)
	}
	return nil
}

// restart empties the server's shared buffers; the OS page cache stays
// warm, as it does for tracehound's new process.
func (pg *postgres) restart(ctx context.Context) error {
	if out, err := pg.asPostgres(ctx, filepath.Join(pg.bin, "pg_ctl"), "-D", filepath.Join(pg.dir, "data"), "-m", "fast", "-w", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop: %v\n%s", err, out)
	}
	return pg.start(ctx)
}

func (pg *postgres) asPostgres(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--"}, args...)...).CombinedOutput()
	return string(out), err
}

func (pg *postgres) psql(ctx context.Context, sql string) (string, error) {
	out, err := exec.CommandContext(ctx, "psql", "-h", pg.sock, "-p", strconv.Itoa(pg.port), "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-At", "-c", sql).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("psql: %v: %s", err, out)
	}
	return string(out), nil
}

func (pg *postgres) stop(ctx context.Context) {
	pg.asPostgres(ctx, filepath.Join(pg.bin, "pg_ctl"), "-D", filepath.Join(pg.dir, "data"), "-m", "immediate", "stop")
	os.RemoveAll(pg.dir)
}

// load writes the same stream as the store's to CSV and copies it in.
func (pg *postgres) load(ctx context.Context, w *workload) (time.Duration, error) {
	start := time.Now()
	csvPath := filepath.Join(pg.dir, "transfers.csv")
	f, err := os.Create(csvPath)
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	_, err = w.stream(ctx, nil, func(from, to string, amount uint64, at time.Time) error {
		_, err := fmt.Fprintf(bw, "\\x%s,\\x%s,%d,%d\n", from[2:], to[2:], amount, at.Unix())
		return err
	})
	if err == nil {
		err = bw.Flush()
	}
	f.Close()
	if err != nil {
		return 0, err
	}
	exec.Command("chown", "postgres", csvPath).Run()
	for _, sql := range []string{
		"CREATE TABLE transfers (from_addr bytea NOT NULL, to_addr bytea NOT NULL, amount numeric(78,0) NOT NULL, ts bigint NOT NULL)",
		fmt.Sprintf("COPY transfers FROM '%s' WITH (FORMAT csv)", csvPath),
		"CREATE INDEX transfers_from ON transfers (from_addr, ts) INCLUDE (to_addr, amount)",
		"VACUUM ANALYZE transfers",
	} {
		if _, err := pg.psql(ctx, sql); err != nil {
			return 0, err
		}
	}
	os.Remove(csvPath)
	return time.Since(start), nil
}

var (
	execTime  = regexp.MustCompile(`Execution Time: ([0-9.]+) ms`)
	heapFetch = regexp.MustCompile(`Heap Fetches: ([0-9]+)`)
)

// trace runs the query once after the restart (cold) and runs more
// times (warm); it returns the execution times the server reports and
// the addresses reached.
func (pg *postgres) trace(ctx context.Context, w *workload, runs int) (time.Duration, []time.Duration, string, error) {
	quoted := make([]string, len(w.hot))
	for i, h := range w.hot {
		quoted[i] = `'\x` + h[2:] + `'::bytea`
	}
	q := fmt.Sprintf(pgQuery, w.thief[2:], dust, strings.Join(quoted, ","))
	var ds []time.Duration
	for i := range runs + 1 {
		out, err := pg.psql(ctx, q)
		if err != nil {
			return 0, nil, "", err
		}
		m := execTime.FindStringSubmatch(out)
		if m == nil {
			return 0, nil, "", fmt.Errorf("no execution time in:\n%s", out)
		}
		if i == 0 {
			if h := heapFetch.FindStringSubmatch(out); h != nil && h[1] != "0" {
				fmt.Printf("postgres: %s heap fetches in the index-only scan\n", h[1])
			}
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		ds = append(ds, time.Duration(v*float64(time.Millisecond)))
	}
	count, err := pg.psql(ctx, strings.TrimPrefix(q, "EXPLAIN (ANALYZE, TIMING OFF)\n"))
	warm := slices.Sorted(slices.Values(ds[1:]))
	return ds[0], warm, strings.TrimSpace(count), err
}
