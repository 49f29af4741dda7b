// An echo server in Go as the net package's documentation writes a server: net.Listen, an
// Accept loop, a goroutine per connection; the handler copies the connection to itself
// (io.Copy) and closes it at EOF.   Usage: go_echo HOST PORT
package main

import (
	"io"
	"log"
	"net"
	"os"
)

func main() {
	ln, err := net.Listen("tcp", net.JoinHostPort(os.Args[1], os.Args[2]))
	if err != nil {
		log.Fatal(err)
	}
	for {
		conn, err := ln.Accept()
		if err != nil {
			log.Print(err)
			continue
		}
		go func(c net.Conn) {
			defer c.Close()
			io.Copy(c, c)
		}(conn)
	}
}
