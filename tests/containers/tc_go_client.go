// tc_go_client.go PORT N - N chat calls with Go's net/http to the plain
// tc_http server: a runtime that makes its own system calls, so the shim
// (loaded: the binary is linked with cgo, hence dynamically) can read
// nothing and must say so once (REC_EVENT_UNREADABLE, reason "go").
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
)

func main() {
	port, n := os.Args[1], 0
	n, _ = strconv.Atoi(os.Args[2])
	for i := 0; i < n; i++ {
		body := fmt.Sprintf(`{"model":"go-model","messages":[{"role":"user","content":"q%d"}]}`, i)
		resp, err := http.Post("http://127.0.0.1:"+port+"/v1/chat/completions",
			"application/json", strings.NewReader(body))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(string(b))
	}
}
