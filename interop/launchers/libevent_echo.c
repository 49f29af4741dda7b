/* An echo server on libevent 2.1 in the pattern of the libevent book's echo server
 * (Ref8, "Connection listeners"): evconnlistener_new_bind, a bufferevent per connection
 * whose read callback moves its input buffer to its output buffer, and whose event
 * callback frees it on EOF or error.   Usage: libevent_echo HOST PORT */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_read(struct bufferevent *bev, void *arg) {
    (void)arg;
    evbuffer_add_buffer(bufferevent_get_output(bev), bufferevent_get_input(bev));
}

static void on_event(struct bufferevent *bev, short what, void *arg) {
    (void)arg;
    if (what & BEV_EVENT_ERROR)
        perror("bufferevent");
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        bufferevent_free(bev);
}

static void on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg) {
    (void)sa; (void)salen; (void)arg;
    struct bufferevent *bev = bufferevent_socket_new(evconnlistener_get_base(lev), fd,
                                                     BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(bev, on_read, NULL, on_event, NULL);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void on_accept_error(struct evconnlistener *lev, void *arg) {
    (void)arg;
    int err = EVUTIL_SOCKET_ERROR();
    fprintf(stderr, "accept: %s; shutting down\n", evutil_socket_error_to_string(err));
    event_base_loopexit(evconnlistener_get_base(lev), NULL);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s HOST PORT\n", argv[0]);
        return 2;
    }
    char spec[128];
    snprintf(spec, sizeof spec, strchr(argv[1], ':') ? "[%s]:%s" : "%s:%s", argv[1], argv[2]);
    struct sockaddr_storage ss;
    int sslen = sizeof ss;
    if (evutil_parse_sockaddr_port(spec, (struct sockaddr *)&ss, &sslen) < 0) {
        fprintf(stderr, "bad address %s\n", spec);
        return 2;
    }
    struct event_base *base = event_base_new();
    struct evconnlistener *lev = evconnlistener_new_bind(
        base, on_accept, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, -1,
        (struct sockaddr *)&ss, sslen);
    if (!lev) {
        perror("listen");
        return 1;
    }
    evconnlistener_set_error_cb(lev, on_accept_error);
    event_base_dispatch(base);
    return 0;
}
