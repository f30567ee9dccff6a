package blob_test

import (
	"fmt"

	"github.com/gocourse/gateway/07-object-storage/blob"
)

func ExampleSum() {
	fmt.Println(blob.Sum([]byte("hello\n")))
	// Output: 5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03
}
