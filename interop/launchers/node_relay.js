// A TCP relay in Node.js the way it is usually written: for each client, connect to the
// upstream and pipe() both ways; an error on either side (a reset, a refused upstream)
// destroys both, so that it cannot take the process down.
// Usage: node node_relay.js HOST PORT UPSTREAM_HOST UPSTREAM_PORT
"use strict";
const net = require("net");

const [host, port, upstreamHost, upstreamPort] = process.argv.slice(2);

net.createServer((client) => {
  const upstream = net.createConnection({ host: upstreamHost, port: Number(upstreamPort) });
  client.pipe(upstream);
  upstream.pipe(client);
  client.on("error", () => upstream.destroy());
  upstream.on("error", () => client.destroy());
  client.on("close", () => upstream.destroy());
  upstream.on("close", () => client.destroy());
}).listen({ host, port: Number(port) });
