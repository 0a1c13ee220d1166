package peer_test

import (
	"bytes"
	"fmt"

	"github.com/yamuxgo/yamux/peer"
)

func Example() {
	// A fixed seed for the example; real identities come from
	// GenerateEd25519Key or LoadOrGeneratePrivateKey.
	k, err := peer.NewEd25519KeyFromSeed(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		panic(err)
	}
	id := k.ID()
	fmt.Println(id)
	fmt.Println(id.CIDString())

	// Both forms parse back to the same ID, and the ID embeds the key.
	fromCID, _ := peer.Decode(id.CIDString())
	key, _ := fromCID.ExtractPublicKey()
	fmt.Println(fromCID == id, key.Equal(k.Public()))
	// Output:
	// 12D3KooWK99VoVxNE7XzyBwXEzW7xhK7Gpv85r9F3V3fyKSUKPH5
	// bafzaajaiaejcbcui4poxicprsx6vfwznhs5f24wkm4e36hmucin7g5eiag2a6324
	// true true
}
