// An RFC 862 echo server in Node.js, as an example of validating a server not written in
// Python:   pytest -n auto --impl-cmd "node examples/node/echo.js {host} {port}"
"use strict";
const net = require("net");

const [host = "127.0.0.1", port = "2007"] = process.argv.slice(2);

const server = net.createServer((socket) => {
  socket.on("error", () => socket.destroy()); // a reset client must not take the server down
  socket.pipe(socket); // pipe() honours backpressure, and ends our side after the client's EOF
});
server.listen({ host, port: Number(port) }); // Node sets SO_REUSEADDR on listening sockets

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => process.exit(0));
}
