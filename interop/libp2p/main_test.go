package libp2p

import (
	"testing"

	"github.com/libp2p/go-libp2p/core/protocol"
	"go.uber.org/goleak"
)

type protocolID = protocol.ID

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
