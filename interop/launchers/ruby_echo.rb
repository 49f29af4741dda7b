# An echo server in Ruby as the socket library's documentation writes one: TCPServer, and
# Thread.start per accepted client; the thread echoes what readpartial returns until EOF,
# then closes.   Usage: ruby ruby_echo.rb HOST PORT
require "socket"

host, port = ARGV
server = TCPServer.new(host, Integer(port))
loop do
  Thread.start(server.accept) do |client|
    begin
      loop { client.write(client.readpartial(65536)) }
    rescue EOFError, SystemCallError
    ensure
      client.close
    end
  end
end
