package ops

import "github.com/vkseq/vkseq/gpu"

// gemvPlan is the shape of Linear's few-rows kernel (linear_gemv): the workgroup size, the rows
// of x (MR) and the weight rows (NR) per invocation.
type gemvPlan struct{ Local, MR, NR int }

const (
	gemvCPULocal  = 8 // lavapipe's SIMD width
	gemvMinGroups = 4
)

// gemvForce, when its fields are not zero, replaces gemvPlanFor's MR and NR (explore tests).
var gemvForce gemvPlan

// gemvPlanFor gives each invocation MR rows of x (a weight row is read once per block of MR
// rows) and, on CPU devices, NR weight rows: lavapipe loads x lane by lane like the weight, so
// one load of x serving NR rows cuts the loads per weight element. GPUs take one weight row per
// invocation (NR = 1). Measured on lavapipe, M = 1, K = 768, CPU time per call (load ~9):
// N = 3072 f16 NR 1/4/8/16: 5.1/2.9/2.6/2.0 ms, f32 NR 8/16: 3.2/3.3 ms; N = 50280 f16 NR
// 4/8/16: 49/37/32 ms.
//
// Lavapipe runs a workgroup on one thread, every invocation of it even past N, so CPU workgroups
// are one SIMD batch (8 invocations) and NR shrinks until the n weight rows make at least
// gemvMinGroups workgroups (the small projections of a decode step: N = 16, 48), for both threads.
func gemvPlanFor(info gpu.DeviceInfo, dt gpu.DType, m, n int) gemvPlan {
	p := gemvPlan{Local: linearLocal, MR: 1, NR: 1}
	if m > 1 {
		p.MR = 4
	}
	if cpuTiles(info) {
		p.Local = gemvCPULocal
		p.NR = 8
		if m > 1 {
			p.NR = 4
		} else if dt == gpu.F16 {
			p.NR = 16
		}
		for p.NR > 1 && ceilDiv(n, p.Local*p.NR) < gemvMinGroups {
			p.NR /= 2
		}
	}
	if gemvForce.MR > 0 {
		p.MR = gemvForce.MR
	}
	if gemvForce.NR > 0 {
		p.NR = gemvForce.NR
	}
	return p
}
