%% An echo server in Erlang as gen_tcp's documentation and "Programming Erlang" write one:
%% gen_tcp:listen in passive mode (binary, {active, false}), and the parallel accept loop --
%% each process accepts one connection, spawns the next acceptor, then serves its client with
%% a gen_tcp:recv/send loop until {error, closed}.  {exit_on_close, false}, as gen_tcp's docs
%% say for a peer that shuts down only its write side: the socket stays open for what is still
%% to be sent after the client's EOF, and gen_tcp:close then sends it before closing.
%% Usage: escript erlang_echo.escript HOST PORT
-mode(compile).

main([Host, Port]) ->
    {ok, Addr} = inet:parse_address(Host),
    Family = case tuple_size(Addr) of 8 -> [inet6]; 4 -> [] end,
    {ok, Listen} = gen_tcp:listen(list_to_integer(Port),
                                  Family ++ [binary, {ip, Addr}, {active, false}, {reuseaddr, true},
                                             {exit_on_close, false}]),
    spawn(fun() -> acceptor(Listen) end),
    receive after infinity -> ok end.  % the listening socket lives as long as its owner

acceptor(Listen) ->
    case gen_tcp:accept(Listen) of
        {ok, Socket} ->
            spawn(fun() -> acceptor(Listen) end),
            echo(Socket);
        {error, _} ->
            timer:sleep(100),  % out of descriptors (emfile): try again shortly
            acceptor(Listen)
    end.

echo(Socket) ->
    case gen_tcp:recv(Socket, 0) of
        {ok, Data} ->
            case gen_tcp:send(Socket, Data) of
                ok -> echo(Socket);
                {error, _} -> gen_tcp:close(Socket)
            end;
        {error, _} ->  % closed: the client's EOF (or a reset)
            gen_tcp:close(Socket)
    end.
