package pebble

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tracehound/tracehound/audit"
	"github.com/tracehound/tracehound/cases"
	"github.com/tracehound/tracehound/store/internal/kv"
)

// Cases live under c/: the case records under c/c/ID (so that listing
// them reads no blob), each case's timeline under c/l/ID/SEQ, and its
// blobs (trace results, attachments) under c/b/ID/KIND/NAME.
const (
	prefixCases        = "c/"
	prefixCaseRecord   = prefixCases + "c/"
	prefixCaseTimeline = prefixCases + "l/"
	prefixCaseBlob     = prefixCases + "b/"
)

func caseRecordKey(id string) []byte { return []byte(prefixCaseRecord + id) }

func caseTimelineKey(id string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(prefixCaseTimeline+id+"/"), seq)
}

func caseBlobKey(id string, kind cases.BlobKind, name string) []byte {
	return []byte(prefixCaseBlob + id + "/" + string(kind) + "/" + name)
}

// checkCaseID refuses an id that could reach into another case's keys.
func checkCaseID(id string) error {
	if id == "" || strings.ContainsAny(id, "/\x00") {
		return fmt.Errorf("case id %q: empty or holds a separator", id)
	}
	return nil
}

// SaveCase writes a case, its timeline entry and its blob, if any, in one
// atomic batch.
func (d *DB) SaveCase(ctx context.Context, w cases.Write) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkCaseID(w.CaseID); err != nil {
		return err
	}
	b := d.db.NewBatch()
	defer b.Close()
	if w.Case != nil {
		if w.Case.ID != w.CaseID {
			return fmt.Errorf("save case: write for %s carries case %s", w.CaseID, w.Case.ID)
		}
		v, err := json.Marshal(w.Case)
		if err != nil {
			return fmt.Errorf("save case %s: %w", w.CaseID, err)
		}
		if err := b.Set(caseRecordKey(w.CaseID), v, nil); err != nil {
			return err
		}
	}
	if w.Event.Seq != 0 {
		v, err := json.Marshal(w.Event)
		if err != nil {
			return fmt.Errorf("save case %s: %w", w.CaseID, err)
		}
		if err := b.Set(caseTimelineKey(w.CaseID, w.Event.Seq), v, nil); err != nil {
			return err
		}
	}
	if w.Blob != nil {
		if strings.ContainsRune(w.Blob.Name, 0) || strings.Contains(string(w.Blob.Kind), "/") {
			return fmt.Errorf("save case %s: malformed blob name %q", w.CaseID, w.Blob.Name)
		}
		if err := b.Set(caseBlobKey(w.CaseID, w.Blob.Kind, w.Blob.Name), w.Blob.Data, nil); err != nil {
			return err
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("save case %s: %w", w.CaseID, err)
	}
	return nil
}

// Case returns the case with that id.
func (d *DB) Case(ctx context.Context, id string) (cases.Case, bool, error) {
	if err := ctx.Err(); err != nil {
		return cases.Case{}, false, err
	}
	if checkCaseID(id) != nil {
		return cases.Case{}, false, nil
	}
	v, ok, err := d.get(caseRecordKey(id))
	if err != nil || !ok {
		return cases.Case{}, false, err
	}
	var c cases.Case
	if err := json.Unmarshal(v, &c); err != nil {
		return cases.Case{}, false, fmt.Errorf("decode case %s: %w", id, err)
	}
	return c, true, nil
}

// Cases returns every case, in id order.
func (d *DB) Cases(ctx context.Context) ([]cases.Case, error) {
	var out []cases.Case
	err := d.scan(ctx, []byte(prefixCaseRecord), func(k, v []byte) error {
		var c cases.Case
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("decode case at key %q: %w", k, err)
		}
		out = append(out, c)
		return nil
	})
	return out, err
}

// CaseBlob returns a blob saved with a case.
func (d *DB) CaseBlob(ctx context.Context, caseID string, kind cases.BlobKind, name string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	if checkCaseID(caseID) != nil {
		return nil, false, nil
	}
	return d.get(caseBlobKey(caseID, kind, name))
}

// CaseTimeline returns the audit entries saved with a case, in sequence
// order.
func (d *DB) CaseTimeline(ctx context.Context, caseID string) ([]audit.Entry, error) {
	if err := checkCaseID(caseID); err != nil {
		return nil, err
	}
	out := []audit.Entry{}
	err := kv.Scan(ctx, d.db, []byte(prefixCaseTimeline+caseID+"/"), func(k, v []byte) error {
		var e audit.Entry
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("decode timeline entry at key %x: %w", k, err)
		}
		out = append(out, e)
		return nil
	})
	return out, err
}
