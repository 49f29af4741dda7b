# An echo server in Perl with IO::Socket::INET, forking a child per client as perlipc's
# "Internet TCP Clients and Servers" does (children reaped with waitpid in a SIGCHLD
# handler); the child echoes with sysread/syswrite until EOF.
# Usage: perl perl_echo.pl HOST PORT
use strict;
use warnings;
use IO::Socket::INET;
use POSIX ":sys_wait_h";

my ($host, $port) = @ARGV;
my $server = IO::Socket::INET->new(LocalAddr => $host, LocalPort => $port, Proto => "tcp",
                                   Listen => SOMAXCONN, ReuseAddr => 1)
    or die "listen: $@";
$SIG{CHLD} = sub { while (waitpid(-1, WNOHANG) > 0) {} };

while (1) {
    my $client = $server->accept or next;   # accept is interrupted by SIGCHLD: retry
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        $server->close;
        my $buf;
        while (my $n = sysread($client, $buf, 65536)) {
            my $off = 0;
            while ($off < $n) {
                my $w = syswrite($client, $buf, $n - $off, $off);
                exit 0 unless defined $w;
                $off += $w;
            }
        }
        exit 0;
    }
    $client->close;
}
