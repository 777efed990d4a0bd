package gpu

/*
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// Graph is a command buffer recorded once and submitted many times: the commands of a decode step
// (every dispatch of a whole model, with their descriptor sets and push constants) replayed once per
// token, so that the host neither records nor allocates per token. It owns its command buffer,
// descriptor sets and the temporaries made while recording (Stream.Temp); Close frees them.
//
// A replay runs exactly the recorded commands on exactly the recorded tensors: whatever changes
// between replays must live in tensors, written by earlier commands on the device (sampled ids)
// or by the host between replays (a step counter in a NewHostTensor, written with WriteInt32,
// which allocates nothing). Results are read after Wait (ReadInt32Into on a host tensor allocates
// nothing). Host reads and writes of tensors must not overlap a replay in flight.
//
// Recording refuses what a replay could not repeat: the recording stream cannot be submitted or
// waited on, and host reads and writes of the device's tensors fail (with ErrInvalid) while a
// graph is being recorded on it. Freeing memory the graph binds (closing a tensor it binds, or the
// tensor a view it binds was made from; closing a view alone frees nothing) makes it stale: Submit
// then fails with an error wrapping ErrStale, and the graph must be recorded again.
//
// A Graph is not safe for concurrent use.
type Graph struct {
	s       *Stream
	tensors []*Tensor // the owners of the memory the recording binds, once each: checked before each replay
	seen    map[*Tensor]struct{}
	pending bool
	closed  bool
}

// Record records the commands fn records on s (a stream made for the graph; ops take it like any
// stream) into a Graph, without running them. An error of fn is returned and nothing is kept.
// fn must not submit or wait on s, nor read or write tensors from the host (both fail). Recording
// nothing gives a graph whose replays do nothing on the device.
func (d *Device) Record(fn func(s *Stream) error) (*Graph, error) {
	s, err := d.NewStream()
	if err != nil {
		return nil, err
	}
	g := &Graph{s: s, seen: map[*Tensor]struct{}{}}
	s.graph = g
	d.recording.Add(1)
	err = fn(s)
	d.recording.Add(-1)
	if err == nil {
		err = s.begin() // a graph that recorded nothing still ends a valid command buffer
	}
	if err == nil {
		// Make every result visible to the host (and to later submissions), as Stream.Submit does.
		C.vks_barrier(d.fast, unsafe.Pointer(s.cmd), stageAny, stageAny|stageHost, accessAnyWrite, accessAnyRead|accessAnyWrite)
		err = check("vkEndCommandBuffer", vk.EndCommandBuffer(s.cmd))
	}
	g.seen = nil
	if err != nil {
		s.graph = nil
		s.Close()
		return nil, fmt.Errorf("recording a graph: %w", err)
	}
	s.state = sealed
	return g, nil
}

// note remembers the owners of the memory of tensors bound by the recording.
func (g *Graph) note(ts ...*Tensor) {
	for _, t := range ts {
		o := t.owning()
		if _, ok := g.seen[o]; !ok {
			g.seen[o] = struct{}{}
			g.tensors = append(g.tensors, o)
		}
	}
}

// Submit starts one replay of the recorded commands; the host does not wait. It allocates no Go
// memory. It fails with an error wrapping ErrStale when a tensor the graph binds was closed, and
// with ErrInvalid when the previous replay was not waited for.
func (g *Graph) Submit() error {
	if g.closed {
		return fmt.Errorf("%w: graph", ErrClosed)
	}
	if err := g.s.d.use(); err != nil {
		return err
	}
	if g.pending {
		return fmt.Errorf("%w: the graph was already submitted; Wait first", ErrInvalid)
	}
	for _, t := range g.tensors {
		if !t.alive() {
			return fmt.Errorf("%w: %v was closed after recording", ErrStale, t)
		}
	}
	if err := g.s.d.submit(g.s.cmd, g.s.fence); err != nil {
		return err
	}
	g.pending = true
	return nil
}

// Wait waits for the replay in flight, if any. It allocates no Go memory.
func (g *Graph) Wait() error {
	if g.closed {
		return fmt.Errorf("%w: graph", ErrClosed)
	}
	if !g.pending {
		return nil
	}
	if err := g.s.d.use(); err != nil {
		return err
	}
	g.pending = false
	return g.s.d.waitFence(g.s.fence)
}

// Run submits one replay and waits for it.
func (g *Graph) Run() error {
	if err := g.Submit(); err != nil {
		return err
	}
	return g.Wait()
}

// Tensors is the number of distinct tensors whose memory the recording binds (views count as the
// tensor they were made from).
func (g *Graph) Tensors() int { return len(g.tensors) }

// Close waits for a replay in flight and frees the graph's command buffer, descriptor sets and
// temporaries. It is idempotent.
func (g *Graph) Close() error {
	if g == nil || g.closed {
		return nil
	}
	g.closed = true
	var err error
	if g.pending && g.s.d.use() == nil {
		err = g.s.d.waitFence(g.s.fence)
	}
	g.pending = false
	g.s.graph = nil
	g.tensors = nil
	if cerr := g.s.Close(); err == nil {
		err = cerr
	}
	return err
}
