/* An echo server on libuv in the pattern of the libuv guide's TCP echo server (uvbook,
 * "Networking"): uv_tcp_bind and uv_listen, uv_accept and uv_read_start per connection;
 * each read is written back with uv_write (the write request owns the buffer), and the
 * handle is closed with uv_close on EOF or error.   Usage: libuv_echo HOST PORT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

typedef struct {
    uv_write_t req;
    uv_buf_t buf;
} write_req_t;

static uv_loop_t *loop;

static void alloc_buffer(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
    (void)handle;
    buf->base = malloc(suggested);
    buf->len = suggested;
}

static void on_close(uv_handle_t *handle) { free(handle); }

static void on_write(uv_write_t *req, int status) {
    if (status)
        fprintf(stderr, "write: %s\n", uv_strerror(status));
    write_req_t *wr = (write_req_t *)req;
    free(wr->buf.base);
    free(wr);
}

static void on_read(uv_stream_t *client, ssize_t nread, const uv_buf_t *buf) {
    if (nread > 0) {
        write_req_t *wr = malloc(sizeof *wr);
        wr->buf = uv_buf_init(buf->base, nread);
        uv_write(&wr->req, client, &wr->buf, 1, on_write);
        return;
    }
    if (nread < 0) {
        if (nread != UV_EOF)
            fprintf(stderr, "read: %s\n", uv_err_name(nread));
        uv_close((uv_handle_t *)client, on_close);
    }
    free(buf->base);
}

static void on_connection(uv_stream_t *server, int status) {
    if (status < 0) {
        fprintf(stderr, "connection: %s\n", uv_strerror(status));
        return;
    }
    uv_tcp_t *client = malloc(sizeof *client);
    uv_tcp_init(loop, client);
    if (uv_accept(server, (uv_stream_t *)client) == 0)
        uv_read_start((uv_stream_t *)client, alloc_buffer, on_read);
    else
        uv_close((uv_handle_t *)client, on_close);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s HOST PORT\n", argv[0]);
        return 2;
    }
    loop = uv_default_loop();
    struct sockaddr_storage addr;
    int port = atoi(argv[2]);
    int r = strchr(argv[1], ':') ? uv_ip6_addr(argv[1], port, (struct sockaddr_in6 *)&addr)
                                 : uv_ip4_addr(argv[1], port, (struct sockaddr_in *)&addr);
    if (r) {
        fprintf(stderr, "bad address %s: %s\n", argv[1], uv_strerror(r));
        return 2;
    }
    uv_tcp_t server;
    uv_tcp_init(loop, &server);
    uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0);
    r = uv_listen((uv_stream_t *)&server, 128, on_connection);
    if (r) {
        fprintf(stderr, "listen: %s\n", uv_strerror(r));
        return 1;
    }
    return uv_run(loop, UV_RUN_DEFAULT);
}
