package gpu

// #include <stdint.h>
import "C"

import (
	"fmt"
	"sync"
)

// ValidationMessage is one message of VK_LAYER_KHRONOS_validation (warning or error severity).
type ValidationMessage struct {
	Error bool   // severity error (else warning)
	ID    string // the message id name, e.g. "VUID-vkCmdDispatch-None-02697"
	Text  string
}

// String formats the message with its severity and id.
func (m ValidationMessage) String() string {
	sev := "warning"
	if m.Error {
		sev = "error"
	}
	return fmt.Sprintf("validation %s %s: %s", sev, m.ID, m.Text)
}

// The messenger callback may run on any thread the driver uses, so the log is global and locked.
var validationLog struct {
	sync.Mutex
	msgs  []ValidationMessage
	total int
}

//export vkseqValidationMessage
func vkseqValidationMessage(severity C.uint32_t, id, msg *C.char) {
	m := ValidationMessage{Error: severity >= 0x1000, ID: C.GoString(id), Text: C.GoString(msg)}
	validationLog.Lock()
	defer validationLog.Unlock()
	validationLog.total++
	if len(validationLog.msgs) < 1000 {
		validationLog.msgs = append(validationLog.msgs, m)
	}
}

// ValidationMessages returns and clears the validation messages collected so far in this process
// (at most the first 1000 since the last call), and how many there were in all.
// Messages arrive only from devices opened with validation (VKSEQ_VALIDATE=1 or WithValidation).
func ValidationMessages() ([]ValidationMessage, int) {
	validationLog.Lock()
	defer validationLog.Unlock()
	msgs, total := validationLog.msgs, validationLog.total
	validationLog.msgs, validationLog.total = nil, 0
	return msgs, total
}
