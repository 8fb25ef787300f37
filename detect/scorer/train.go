package scorer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Params are the boosting hyper-parameters. The defaults are the common
// XGBoost-style settings for tabular data of this size, not values tuned
// on the cross-validation, so that the CV figure stays an honest estimate.
type Params struct {
	// Rounds is the number of trees (default 400).
	Rounds int `json:"rounds"`
	// LearningRate shrinks each tree (default 0.05).
	LearningRate float64 `json:"learning_rate"`
	// MaxDepth bounds a tree's depth (default 6).
	MaxDepth int `json:"max_depth"`
	// MinChildWeight is the least hessian sum a child may hold (default 1).
	MinChildWeight float64 `json:"min_child_weight"`
	// Lambda is the L2 penalty on leaf weights (default 1).
	Lambda float64 `json:"lambda"`
	// Gamma is the least loss reduction a split must bring (default 0).
	Gamma float64 `json:"gamma"`
	// Subsample is the fraction of rows each tree sees (default 0.8).
	Subsample float64 `json:"subsample"`
	// ColSample is the fraction of features each tree may split on
	// (default 0.8).
	ColSample float64 `json:"colsample"`
	// MaxBins bounds the histogram bins per feature, at most 255
	// (default 255).
	MaxBins int `json:"max_bins"`
	// Seed makes training deterministic.
	Seed uint64 `json:"seed"`
}

// DefaultParams returns the documented defaults.
func DefaultParams() Params {
	return Params{Rounds: 400, LearningRate: 0.05, MaxDepth: 6, MinChildWeight: 1, Lambda: 1,
		Subsample: 0.8, ColSample: 0.8, MaxBins: 255, Seed: 1}
}

func (p Params) check() error {
	switch {
	case p.Rounds < 1:
		return errors.New("rounds must be at least 1")
	case p.LearningRate <= 0 || p.LearningRate > 1:
		return errors.New("learning rate must be in (0, 1]")
	case p.MaxDepth < 1 || p.MaxDepth > 16:
		return errors.New("max depth must be in [1, 16]")
	case p.Subsample <= 0 || p.Subsample > 1 || p.ColSample <= 0 || p.ColSample > 1:
		return errors.New("subsample and colsample must be in (0, 1]")
	case p.MaxBins < 2 || p.MaxBins > 255:
		return errors.New("max bins must be in [2, 255]")
	case p.Lambda < 0 || p.Gamma < 0 || p.MinChildWeight < 0:
		return errors.New("lambda, gamma and min child weight must not be negative")
	}
	return nil
}

const missingBin = 255

// binned is the training matrix quantised per feature: bins[j][i] is row
// i's bin of feature j, missingBin for a missing value; cuts[j][b] is the
// largest value in bin b, the split threshold "x <= cut goes left".
type binned struct {
	bins [][]uint8
	cuts [][]float64
}

func binData(d *Dataset, rows []int, maxBins int) *binned {
	nf := len(d.Features)
	b := &binned{bins: make([][]uint8, nf), cuts: make([][]float64, nf)}
	vals := make([]float64, 0, len(rows))
	for j := range nf {
		vals = vals[:0]
		for _, i := range rows {
			if v := d.X[i*nf+j]; !math.IsNaN(v) {
				vals = append(vals, v)
			}
		}
		slices.Sort(vals)
		distinct := slices.Compact(slices.Clone(vals))
		var cuts []float64
		if len(distinct) <= maxBins {
			cuts = distinct
		} else {
			// Quantile cuts over the rows, so each bin holds about as many
			// rows; a cut is always an observed value.
			for k := 1; k <= maxBins; k++ {
				c := vals[min(len(vals)-1, k*len(vals)/maxBins)]
				if len(cuts) == 0 || c > cuts[len(cuts)-1] {
					cuts = append(cuts, c)
				}
			}
			if cuts[len(cuts)-1] < vals[len(vals)-1] {
				cuts[len(cuts)-1] = vals[len(vals)-1]
			}
		}
		b.cuts[j] = cuts
		col := make([]uint8, d.Len())
		for i := range col {
			col[i] = missingBin
		}
		for _, i := range rows {
			v := d.X[i*nf+j]
			if math.IsNaN(v) {
				continue
			}
			k, _ := slices.BinarySearch(cuts, v)
			if k >= len(cuts) {
				k = len(cuts) - 1
			}
			col[i] = uint8(k)
		}
		b.bins[j] = col
	}
	return b
}

// Train fits a model on the given rows of d (all labelled rows when rows
// is nil). Training is deterministic for a given Params.Seed.
func Train(ctx context.Context, d *Dataset, rows []int, p Params) (*Model, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	if rows == nil {
		for i, l := range d.Labels {
			if l >= 0 {
				rows = append(rows, i)
			}
		}
	}
	if len(rows) == 0 {
		return nil, errors.New("no labelled rows to train on")
	}
	pos := 0
	for _, i := range rows {
		switch d.Labels[i] {
		case 1:
			pos++
		case 0:
		default:
			return nil, fmt.Errorf("row %d (line %d) has no label", i, d.Lines[i])
		}
	}
	if pos == 0 || pos == len(rows) {
		return nil, errors.New("training rows hold one class only")
	}
	nf := len(d.Features)
	bd := binData(d, rows, p.MaxBins)
	rng := rand.New(rand.NewPCG(p.Seed, 0x7472616365686f75))
	prior := float64(pos) / float64(len(rows))
	m := &Model{Format: FormatName, Version: FormatVersion, Features: slices.Clone(d.Features),
		BaseScore: math.Log(prior / (1 - prior)), Params: p}
	margin := make([]float64, d.Len())
	for _, i := range rows {
		margin[i] = m.BaseScore
	}
	grad := make([]float64, d.Len())
	hess := make([]float64, d.Len())
	g := &grower{p: p, bd: bd, grad: grad, hess: hess, nf: nf}
	sample := make([]int, 0, len(rows))
	for range p.Rounds {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for _, i := range rows {
			pr := sigmoid(margin[i])
			grad[i] = pr - float64(d.Labels[i])
			hess[i] = max(pr*(1-pr), 1e-16)
		}
		sample = sample[:0]
		for _, i := range rows {
			if p.Subsample >= 1 || rng.Float64() < p.Subsample {
				sample = append(sample, i)
			}
		}
		g.feats = g.feats[:0]
		for j := range nf {
			if p.ColSample >= 1 || rng.Float64() < p.ColSample {
				g.feats = append(g.feats, j)
			}
		}
		if len(g.feats) == 0 {
			g.feats = append(g.feats, rng.IntN(nf))
		}
		t := g.grow(sample)
		for _, i := range rows {
			margin[i] += t.Value[t.leafBinned(bd, i)]
		}
		m.Trees = append(m.Trees, t)
	}
	return m, nil
}

// leafBinned walks the tree with the training bins, which agree with the
// thresholds by construction (a bin's cut is its largest value).
func (t *Tree) leafBinned(bd *binned, row int) int32 {
	i := int32(0)
	for t.Left[i] >= 0 {
		b := bd.bins[t.Feature[i]][row]
		switch {
		case b == missingBin:
			if t.DefaultLeft[i] {
				i = t.Left[i]
			} else {
				i = t.Right[i]
			}
		case bd.cuts[t.Feature[i]][b] <= t.Threshold[i]:
			i = t.Left[i]
		default:
			i = t.Right[i]
		}
	}
	return i
}

type grower struct {
	p          Params
	bd         *binned
	grad, hess []float64
	nf         int
	feats      []int
	hist       [][256][2]float64
}

type split struct {
	gain        float64
	feature     int
	bin         int
	defaultLeft bool
}

// grow builds one tree depth-first over the sampled rows.
func (g *grower) grow(rows []int) Tree {
	if len(g.hist) < g.nf {
		g.hist = make([][256][2]float64, g.nf)
	}
	var t Tree
	var rec func(rows []int, depth int) int32
	rec = func(rows []int, depth int) int32 {
		var G, H float64
		for _, i := range rows {
			G += g.grad[i]
			H += g.hess[i]
		}
		id := int32(len(t.Left))
		t.Feature = append(t.Feature, -1)
		t.Threshold = append(t.Threshold, 0)
		t.Left = append(t.Left, -1)
		t.Right = append(t.Right, -1)
		t.DefaultLeft = append(t.DefaultLeft, false)
		t.Value = append(t.Value, -G/(H+g.p.Lambda)*g.p.LearningRate)
		t.Cover = append(t.Cover, H)
		if depth >= g.p.MaxDepth || H < 2*g.p.MinChildWeight {
			return id
		}
		s, ok := g.best(rows, G, H)
		if !ok {
			return id
		}
		col := g.bd.bins[s.feature]
		var left, right []int
		for _, i := range rows {
			b := col[i]
			if (b == missingBin && s.defaultLeft) || (b != missingBin && int(b) <= s.bin) {
				left = append(left, i)
			} else {
				right = append(right, i)
			}
		}
		t.Feature[id] = int32(s.feature)
		t.Threshold[id] = g.bd.cuts[s.feature][s.bin]
		t.DefaultLeft[id] = s.defaultLeft
		l := rec(left, depth+1)
		r := rec(right, depth+1)
		t.Left[id], t.Right[id] = l, r
		return id
	}
	rec(rows, 0)
	return t
}

// best finds the split of largest gain over the sampled features, trying
// missing values on both sides. Where a node saw no missing value, the
// default goes to the side that holds more of the training weight, so a
// value missing only at scoring time follows the majority.
func (g *grower) best(rows []int, G, H float64) (split, bool) {
	lam := g.p.Lambda
	parent := G * G / (H + lam)
	bestS := split{gain: 0}
	found := false
	for _, j := range g.feats {
		hist := &g.hist[j]
		*hist = [256][2]float64{}
		col := g.bd.bins[j]
		for _, i := range rows {
			h := &hist[col[i]]
			h[0] += g.grad[i]
			h[1] += g.hess[i]
		}
		nb := len(g.bd.cuts[j])
		gm, hm := hist[missingBin][0], hist[missingBin][1]
		var gl, hl float64
		for b := 0; b < nb-1; b++ {
			gl += hist[b][0]
			hl += hist[b][1]
			if hist[b][1] == 0 && hist[b][0] == 0 {
				continue
			}
			gr, hr := G-gl-gm, H-hl-hm
			// Missing to the right.
			if hl >= g.p.MinChildWeight && hr+hm >= g.p.MinChildWeight {
				gain := 0.5*(gl*gl/(hl+lam)+(gr+gm)*(gr+gm)/(hr+hm+lam)-parent) - g.p.Gamma
				dl := false
				if hm == 0 {
					dl = hl > hr
				}
				if gain > bestS.gain {
					bestS, found = split{gain, j, b, dl}, true
				}
			}
			// Missing to the left.
			if hm > 0 && hl+hm >= g.p.MinChildWeight && hr >= g.p.MinChildWeight {
				gain := 0.5*((gl+gm)*(gl+gm)/(hl+hm+lam)+gr*gr/(hr+lam)-parent) - g.p.Gamma
				if gain > bestS.gain {
					bestS, found = split{gain, j, b, true}, true
				}
			}
		}
	}
	return bestS, found
}
