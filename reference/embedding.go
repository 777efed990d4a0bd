package reference

import "fmt"

// Embedding returns out [N, D] with out[n] = table[ids[n]] for table [V, D]; an id outside
// [0, V) is an error.
func Embedding(ids []int32, table []float64, V, D int) ([]float64, error) {
	if V < 1 || D < 1 || len(table) != V*D {
		return nil, fmt.Errorf("reference: embedding: len(table) = %d, V = %d, D = %d: want V, D ≥ 1 and V*D elements", len(table), V, D)
	}
	out := make([]float64, len(ids)*D)
	for n, id := range ids {
		if id < 0 || int(id) >= V {
			return nil, fmt.Errorf("reference: embedding: ids[%d] = %d, want 0 ≤ id < %d", n, id, V)
		}
		copy(out[n*D:(n+1)*D], table[int(id)*D:(int(id)+1)*D])
	}
	return out, nil
}
