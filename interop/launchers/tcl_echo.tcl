# An echo server in Tcl as socket(n) and fileevent(n) show one: socket -server with an
# accept command, the channel non-blocking and binary, a readable handler that writes back
# what read returns and closes at EOF; vwait runs the event loop.
# Usage: tclsh tcl_echo.tcl HOST PORT
proc accept {chan addr port} {
    fconfigure $chan -blocking 0 -translation binary -buffering none
    fileevent $chan readable [list echo $chan]
}
proc echo {chan} {
    set data [read $chan]
    if {[string length $data]} {
        puts -nonewline $chan $data
    }
    if {[eof $chan]} {
        close $chan
    }
}
lassign $argv host port
socket -server accept -myaddr $host $port
vwait forever
