package ops

import (
	"runtime"

	"github.com/vkseq/vkseq/gpu"
)

// The prefill entry points GLA and DeltaRule choose between their chunked and recurrent forms
// under FormAuto. The choice depends on the device class and on how many workgroups the
// recurrent form has to spread over the device's threads.
//
// GPUs: chunked. On the H200 (docs/h200-2026-12-04/bench.json) the chunked form was faster at
// every GLA shape measured (H=4 T=512: 11.0 ms against 21.6; T=2048: 4.0 against 20.2; H=32
// T=512: 3.5 against 5.4) and at the delta rule's peer shape (H=32 K=V=128 T=512: 19.7 against
// 27.2 ms); the recurrent form led only at the delta rule's H=4 K=V=64 T=512 (6.1 against 6.9 ms)
// and lost at T=2048 (24.6 against 22.6), and its time grows with T, so GPUs keep chunked.
//
// CPU devices (lavapipe): the recurrent form does the recurrence's arithmetic once, lane by lane
// with the state in registers, where the chunked form does it plus the intra-chunk products and
// pays a scratch round trip per pass; but the recurrent form is parallel only over sequences,
// heads and column tiles, so with few of them it leaves threads of a many-core CPU idle while the
// chunked form spreads every chunk. Measured on this machine's lavapipe (2 cores, 8-lane SIMD,
// one workgroup of 8 lanes per thread; "groups" = the recurrent kernel's workgroups):
//
//	op          shape (B=1)              chunked ms  recurrent ms  groups  load average
//	gla         T512  H32 K=V=64           42.7        18.1          32     2 (quiet run)
//	gla         B4 T32 H32 K=V=64          14.5         5.2         128     2 (quiet run)
//	gla         T8192 H4  K=V=64          261.7       125.6           2     ~2
//	gla         T4096 H4  K=V=64          173.3        82.4           2     6.7
//	gla         T4096 H2  K=V=64           50.0        55.3 (min 17.2) 1    6.7
//	gla         T4096 H1  K=V=64           22.9        13.7           1     6.7
//	delta_rule  T512  H32 K=V=128         170.3        92.4          16     2 (quiet run)
//	delta_rule  T1024 H4  K=V=128          47.4        23.5           2     2 (quiet run)
//	delta_rule  T8192 H4  K=V=64          878.5        99.5           2     ~2
//	delta_rule  T4096 H1  K=V=64           37.1        15.0           2     8.6
//	delta_rule  T2048 H1  K=V=128          41.2        21.3           2     8.6
//
// The recurrent form won at every shape, by about 1.7× (GLA) and 2-2.5× (delta rule) even with a
// single workgroup on two threads, so at equal occupancy its advantage is about 3× (GLA) and 4×
// (delta rule). FormAuto on a CPU device takes it unless the chunked form's use of the idle
// threads would outweigh that: recurrent when groups × advantage ≥ threads (formCrossover), which
// on this 2-core machine is every shape.

// cpuThreads is the number of threads a CPU device runs workgroups on (lavapipe: one per core, at
// most 16 in Mesa 22).
func cpuThreads() int { return min(max(runtime.NumCPU(), 1), 16) }

// preferRecurrent reports whether FormAuto takes the recurrent form of a linear-attention op
// (GLA, DeltaRule) on a device: groups is the number of workgroups the recurrent kernel would
// dispatch, delta whether the op is the delta rule.
func preferRecurrent(info gpu.DeviceInfo, groups int, delta bool) bool {
	if !cpuTiles(info) { // GPUs, and CPU devices in the tests that run GPU shapes
		return false
	}
	return formCrossover(groups, cpuThreads(), delta)
}

// formCrossover reports whether the recurrent form, with groups workgroups on a CPU device of
// threads threads, beats the chunked form: its advantage at equal occupancy (about 3× for GLA, 4×
// for the delta rule, table above) against the threads/groups by which the chunked form's
// occupancy exceeds it.
func formCrossover(groups, threads int, delta bool) bool {
	adv := 3 // GLA: chunked ÷ recurrent at equal occupancy
	if delta {
		adv = 4
	}
	return groups*adv >= threads
}

// recStream reports whether DeltaRuleRecurrent and GLARecurrent stream the state through memory
// per token (shaders/include/delta_rec.glsl and gla_rec.glsl, STREAM) instead of holding a
// register tile across the tokens: on CPU devices for at most recStreamMaxT tokens, where loading
// and storing the tile costs more than reading and writing the state per token (the delta rule
// reads it twice). GLA at gla-340m's decode shape (H=4 K=128 V=256, one token, 24 calls, GPU
// time on lavapipe): the register tile 12-18 ms, streamed with 16 columns per lane 5.4-7 ms.
func recStream(info gpu.DeviceInfo, T int) bool {
	return cpuTiles(info) && T <= recStreamMaxT
}

// recStreamMaxT is the most tokens per call for which the streaming form is taken.
const recStreamMaxT = 8

// recStreamTV is the number of state columns per invocation of the streaming form: wide enough
// that each invocation's k and q loads are amortised over many columns, narrow enough to give
// every thread of the device several workgroups.
func recStreamTV(info gpu.DeviceInfo, rows, V int) int {
	vp := ceilDiv(V, 4) * 4
	tv := 16
	for tv > 4 && rows*ceilDiv(vp, tv) < 8*glaTileFor(info, 4, 4).LX {
		tv /= 2
	}
	return min(tv, vp)
}
