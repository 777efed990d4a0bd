package reference

import (
	"fmt"
	"math"
)

// GELU1 is the exact GELU of one value, x·Φ(x) = x/2·(1 + erf(x/√2)) (torch.nn.GELU()), computed
// as x/2·erfc(−x/√2) so that the negative tail keeps its relative precision.
func GELU1(x float64) float64 { return 0.5 * x * math.Erfc(-x/math.Sqrt2) }

// GELU returns the exact GELU of every element of x in a new slice.
func GELU(x []float64) []float64 { return eltMap(x, GELU1) }

// LayerNorm returns torch's layer_norm over the last dimension of x [R, C]:
// out[r,c] = (x[r,c] − mean_r) / sqrt(var_r + eps) · weight[c] + bias[c], var the biased variance.
// weight and bias are [C] or both nil (no affine step); eps must be finite and ≥ 0.
func LayerNorm(x, weight, bias []float64, R, C int, eps float64) ([]float64, error) {
	if err := rowsCheck("layernorm", x, R, C); err != nil {
		return nil, err
	}
	if (weight == nil) != (bias == nil) || (weight != nil && (len(weight) != C || len(bias) != C)) {
		return nil, fmt.Errorf("reference: layernorm: len(weight) = %d, len(bias) = %d, want both C = %d or both nil", len(weight), len(bias), C)
	}
	if err := rowsCheckEps("layernorm", eps); err != nil {
		return nil, err
	}
	out := make([]float64, R*C)
	for r := range R {
		row := x[r*C : (r+1)*C]
		mean := 0.0
		for _, v := range row {
			mean += v
		}
		mean /= float64(C)
		vr := 0.0
		for _, v := range row {
			vr += (v - mean) * (v - mean)
		}
		inv := 1 / math.Sqrt(vr/float64(C)+eps)
		for c, v := range row {
			o := (v - mean) * inv
			if weight != nil {
				o = o*weight[c] + bias[c]
			}
			out[r*C+c] = o
		}
	}
	return out, nil
}

// Conv1D returns torch.nn.functional.conv1d(x, weight, bias, padding=pad) with stride 1 and
// groups 1: x [B, Cin, L], weight [Cout, Cin, K], bias [Cout] or nil, out [B, Cout, Lout] with
// Lout = L + 2·pad − K + 1 ≥ 1, zeros outside [0, L).
func Conv1D(x, weight, bias []float64, B, Cin, L, Cout, K, pad int) ([]float64, int, error) {
	lout := L + 2*pad - K + 1
	if B < 0 || Cin < 1 || L < 1 || Cout < 1 || K < 1 || pad < 0 || lout < 1 {
		return nil, 0, fmt.Errorf("reference: conv1d: B=%d Cin=%d L=%d Cout=%d K=%d pad=%d: want sizes ≥ 1, pad ≥ 0 and L+2·pad−K+1 ≥ 1", B, Cin, L, Cout, K, pad)
	}
	if len(x) != B*Cin*L || len(weight) != Cout*Cin*K || (bias != nil && len(bias) != Cout) {
		return nil, 0, fmt.Errorf("reference: conv1d: len(x)=%d len(weight)=%d len(bias)=%d, want %d, %d, %d or nil", len(x), len(weight), len(bias), B*Cin*L, Cout*Cin*K, Cout)
	}
	out := make([]float64, B*Cout*lout)
	for b := range B {
		for co := range Cout {
			for t := range lout {
				s := 0.0
				if bias != nil {
					s = bias[co]
				}
				for ci := range Cin {
					for k := range K {
						j := t + k - pad
						if j >= 0 && j < L {
							s += weight[(co*Cin+ci)*K+k] * x[(b*Cin+ci)*L+j]
						}
					}
				}
				out[(b*Cout+co)*lout+t] = s
			}
		}
	}
	return out, lout, nil
}

// DepthwiseConv1D returns torch's Conv1d(C, C, K, padding=pad, groups=C) applied to x [B, C, L]:
// out[b,c,t] = bias[c] + Σ_k weight[c,k]·x[b,c,t+k−pad] (zeros outside [0, L)), weight [C, K],
// bias [C] or nil, out [B, C, Lout], Lout = L + 2·pad − K + 1 ≥ 1.
func DepthwiseConv1D(x, weight, bias []float64, B, C, L, K, pad int) ([]float64, int, error) {
	lout := L + 2*pad - K + 1
	if B < 0 || C < 1 || L < 1 || K < 1 || pad < 0 || lout < 1 {
		return nil, 0, fmt.Errorf("reference: depthwise_conv1d: B=%d C=%d L=%d K=%d pad=%d: want sizes ≥ 1, pad ≥ 0 and L+2·pad−K+1 ≥ 1", B, C, L, K, pad)
	}
	if len(x) != B*C*L || len(weight) != C*K || (bias != nil && len(bias) != C) {
		return nil, 0, fmt.Errorf("reference: depthwise_conv1d: len(x)=%d len(weight)=%d len(bias)=%d, want %d, %d, %d or nil", len(x), len(weight), len(bias), B*C*L, C*K, C)
	}
	out := make([]float64, B*C*lout)
	for b := range B {
		for c := range C {
			for t := range lout {
				s := 0.0
				if bias != nil {
					s = bias[c]
				}
				for k := range K {
					j := t + k - pad
					if j >= 0 && j < L {
						s += weight[c*K+k] * x[(b*C+c)*L+j]
					}
				}
				out[(b*C+c)*lout+t] = s
			}
		}
	}
	return out, lout, nil
}

// Transpose12 returns x [B, P, Q] as [B, Q, P].
func Transpose12(x []float64, B, P, Q int) []float64 {
	out := make([]float64, len(x))
	for b := range B {
		for p := range P {
			for q := range Q {
				out[(b*Q+q)*P+p] = x[(b*P+p)*Q+q]
			}
		}
	}
	return out
}
