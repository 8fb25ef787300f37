package scorer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
)

// FormatName and FormatVersion identify the model file. A model of another
// version is refused: the tree layout or the feature semantics changed.
const (
	FormatName    = "tracehound-gbdt"
	FormatVersion = 1
)

// Model is a gradient-boosted ensemble of binary trees over named
// features, with logistic output. Its zero value is not usable; train one
// or load one.
type Model struct {
	Format   string   `json:"format"`
	Version  int      `json:"version"`
	Features []string `json:"features"`
	// BaseScore is the margin before any tree (the prior log-odds).
	BaseScore float64 `json:"base_score"`
	Params    Params  `json:"params"`
	// Trained describes the data the model was fitted on.
	Trained TrainInfo `json:"trained"`
	Trees   []Tree    `json:"trees"`
}

// TrainInfo records what the model was fitted on, for reproduction.
type TrainInfo struct {
	Data   string `json:"data"`
	SHA256 string `json:"sha256"`
	Rows   int    `json:"rows"`
	// Illicit is the number of rows with FLAG 1.
	Illicit int `json:"illicit"`
}

// Tree is one tree as parallel arrays; node 0 is the root. A node with
// Left[i] < 0 is a leaf. Value is the node's margin contribution had it
// been a leaf (learning rate applied); the path-based explanation
// attributes the change of value along a row's path to the split features.
type Tree struct {
	Feature []int32 `json:"feature"`
	// Threshold: a value <= Threshold goes left.
	Threshold []float64 `json:"threshold"`
	Left      []int32   `json:"left"`
	Right     []int32   `json:"right"`
	// DefaultLeft says where a missing value goes.
	DefaultLeft []bool    `json:"default_left"`
	Value       []float64 `json:"value"`
	// Cover is the hessian sum of the training rows that reached the node.
	Cover []float64 `json:"cover"`
}

func (t *Tree) leaf(x []float64) int32 {
	i := int32(0)
	for t.Left[i] >= 0 {
		v := x[t.Feature[i]]
		switch {
		case math.IsNaN(v):
			if t.DefaultLeft[i] {
				i = t.Left[i]
			} else {
				i = t.Right[i]
			}
		case v <= t.Threshold[i]:
			i = t.Left[i]
		default:
			i = t.Right[i]
		}
	}
	return i
}

// Margin returns the log-odds for a feature row in the model's feature
// order; NaN marks a missing value.
func (m *Model) Margin(x []float64) float64 {
	s := m.BaseScore
	for i := range m.Trees {
		t := &m.Trees[i]
		s += t.Value[t.leaf(x)]
	}
	return s
}

// Score returns the probability that the row is illicit, in [0, 1].
func (m *Model) Score(x []float64) float64 { return sigmoid(m.Margin(x)) }

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

// Contribution is one feature's share of a row's margin.
type Contribution struct {
	Feature string  `json:"feature"`
	Value   float64 `json:"value"` // the row's value of the feature (NaN if missing)
	// Margin is the log-odds the feature added (positive: towards illicit).
	Margin float64 `json:"margin"`
}

// Explanation splits a row's margin into a bias and per-feature
// contributions (Saabas' path attribution: at each split on a row's path,
// the change in node value is credited to the split's feature). Bias plus
// the sum of all contributions equals the margin exactly, up to rounding.
type Explanation struct {
	Score  float64 `json:"score"`
	Margin float64 `json:"margin"`
	Bias   float64 `json:"bias"`
	// Top holds the largest contributions by absolute value, largest first.
	Top []Contribution `json:"top"`
}

// Explain scores x and returns its top n contributing features.
func (m *Model) Explain(x []float64, n int) Explanation {
	contrib := make([]float64, len(m.Features))
	e := Explanation{Bias: m.BaseScore}
	for ti := range m.Trees {
		t := &m.Trees[ti]
		e.Bias += t.Value[0]
		i := int32(0)
		for t.Left[i] >= 0 {
			v := x[t.Feature[i]]
			var next int32
			switch {
			case math.IsNaN(v):
				next = t.Right[i]
				if t.DefaultLeft[i] {
					next = t.Left[i]
				}
			case v <= t.Threshold[i]:
				next = t.Left[i]
			default:
				next = t.Right[i]
			}
			contrib[t.Feature[i]] += t.Value[next] - t.Value[i]
			i = next
		}
	}
	e.Margin = e.Bias
	order := make([]int, 0, len(contrib))
	for j, c := range contrib {
		e.Margin += c
		if c != 0 {
			order = append(order, j)
		}
	}
	e.Score = sigmoid(e.Margin)
	sort.SliceStable(order, func(a, b int) bool { return math.Abs(contrib[order[a]]) > math.Abs(contrib[order[b]]) })
	if n >= 0 && len(order) > n {
		order = order[:n]
	}
	for _, j := range order {
		e.Top = append(e.Top, Contribution{Feature: m.Features[j], Value: x[j], Margin: contrib[j]})
	}
	return e
}

// MarshalJSON writes a contribution with a missing value as null.
func (c Contribution) MarshalJSON() ([]byte, error) {
	type plain struct {
		Feature string   `json:"feature"`
		Value   *float64 `json:"value"`
		Margin  float64  `json:"margin"`
	}
	p := plain{Feature: c.Feature, Margin: c.Margin}
	if !math.IsNaN(c.Value) {
		p.Value = &c.Value
	}
	return json.Marshal(p)
}

// Importance is a feature's total split gain across the ensemble, and the
// number of splits on it.
type Importance struct {
	Feature string  `json:"feature"`
	Gain    float64 `json:"gain"`
	Splits  int     `json:"splits"`
}

// Load reads a model file and checks that it is one this code can run.
func Load(r io.Reader) (*Model, error) {
	var head struct {
		Format  string `json:"format"`
		Version int    `json:"version"`
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("model file: %w", err)
	}
	if head.Format != FormatName {
		return nil, fmt.Errorf("model file: format %q, want %q", head.Format, FormatName)
	}
	if head.Version != FormatVersion {
		return nil, fmt.Errorf("model file: format version %d, this build reads version %d only: retrain the model or use a matching build", head.Version, FormatVersion)
	}
	var m Model
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("model file: %w", err)
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("model file: %w", err)
	}
	return &m, nil
}

// Save writes the model as JSON. Floats are written in their shortest
// exact form, so a saved and loaded model scores bit for bit the same.
func (m *Model) Save(w io.Writer) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func (m *Model) validate() error {
	if len(m.Features) == 0 {
		return errors.New("no features")
	}
	if len(m.Trees) == 0 {
		return errors.New("no trees")
	}
	nf := int32(len(m.Features))
	for ti, t := range m.Trees {
		n := len(t.Left)
		if n == 0 || len(t.Right) != n || len(t.Feature) != n || len(t.Threshold) != n || len(t.DefaultLeft) != n || len(t.Value) != n || len(t.Cover) != n {
			return fmt.Errorf("tree %d: arrays of different lengths", ti)
		}
		for i := range n {
			l, r := t.Left[i], t.Right[i]
			if l < 0 {
				continue
			}
			// Children come after their parent, so a walk always ends.
			if l <= int32(i) || r <= int32(i) || int(l) >= n || int(r) >= n {
				return fmt.Errorf("tree %d node %d: bad children %d, %d", ti, i, l, r)
			}
			if t.Feature[i] < 0 || t.Feature[i] >= nf {
				return fmt.Errorf("tree %d node %d: feature %d out of range", ti, i, t.Feature[i])
			}
		}
	}
	return nil
}

// Importances sums the split gain per feature over all trees, largest
// first. The gain is recomputed from the stored node values and covers,
// so it needs no training state.
func (m *Model) Importances() []Importance {
	imp := make([]Importance, len(m.Features))
	for j, f := range m.Features {
		imp[j].Feature = f
	}
	lr := m.Params.LearningRate
	if lr == 0 {
		lr = 1
	}
	for _, t := range m.Trees {
		for i := range t.Left {
			l, r := t.Left[i], t.Right[i]
			if l < 0 {
				continue
			}
			// With w = -G/(H+λ)·η, the structure score G²/(H+λ) is
			// (w/η)²·(H+λ): the gain follows from what the file stores.
			lam := m.Params.Lambda
			score := func(k int32) float64 { w := t.Value[k] / lr; return w * w * (t.Cover[k] + lam) }
			imp[t.Feature[i]].Gain += 0.5 * (score(l) + score(r) - score(int32(i)))
			imp[t.Feature[i]].Splits++
		}
	}
	slices.SortStableFunc(imp, func(a, b Importance) int {
		switch {
		case a.Gain > b.Gain:
			return -1
		case a.Gain < b.Gain:
			return 1
		}
		return 0
	})
	return imp
}
