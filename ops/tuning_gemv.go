package ops

import "github.com/vkseq/vkseq/gpu"

// gemvPlan is the shape of Linear's few-rows kernel (linear_gemv): the workgroup size, the rows
// of x (MR) and the weight rows (NR) per invocation.
type gemvPlan struct{ Local, MR, NR int }

// gemvForce, when its fields are not zero, replaces gemvPlanFor's MR and NR (explore tests).
var gemvForce gemvPlan

// gemvPlanFor gives each invocation MR rows of x (a weight row is read once per block of MR
// rows) and, on CPU devices, NR weight rows: lavapipe loads x lane by lane like the weight, so
// one load of x serving NR rows cuts the loads per weight element. GPUs take one weight row per
// invocation (NR = 1).
func gemvPlanFor(info gpu.DeviceInfo, m int) gemvPlan {
	p := gemvPlan{Local: linearLocal, MR: 1, NR: 1}
	if m > 1 {
		p.MR = 4
	}
	if cpuTiles(info) {
		p.NR = 8
		if m > 1 {
			p.NR = 4
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
