// Linux calls that Glibc's Swift overlay does not import: epoll, eventfd,
// accept4, pipe2, crypt(3) and a sigaction self-pipe. Thin wrappers only;
// every policy lives in Swift. (Timers use epoll_wait's timeout; signals use
// the self-pipe rather than signalfd, see mg_route_signal_to_fd.)
// _GNU_SOURCE is defined in the .c file, never here: it clashes with the
// OpenSSL module over fd_set.
#ifndef CLINUX_H
#define CLINUX_H

#include <stdint.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

int mg_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
int mg_pipe2(int fds[2], int flags);

/// crypt_rn into a caller-owned buffer; returns 0 and writes a NUL-terminated
/// hash into out, or -1 (errno set) when the setting or phrase is refused.
int mg_crypt(const char *phrase, const char *setting, char *out, int out_size);
/// crypt_gensalt_rn for a prefix such as "$y$" or "$6$" (count 0 = default).
int mg_crypt_gensalt(const char *prefix, unsigned long count, char *out, int out_size);

/// Ignore SIGPIPE process-wide.
int mg_ignore_sigpipe(void);
/// Route a signal to a self-pipe: a sigaction handler writes the signal
/// number as one byte to write_fd (non-blocking). Works whatever the signal
/// masks of the process's threads are, which signalfd does not.
int mg_route_signal_to_fd(int signo, int write_fd);
/// Restore the default action for a signal routed earlier.
int mg_restore_signal(int signo);

static const int MG_EPOLLIN = EPOLLIN;
static const int MG_EPOLLOUT = EPOLLOUT;
static const int MG_EPOLLERR = EPOLLERR;
static const int MG_EPOLLHUP = EPOLLHUP;
static const int MG_EPOLLRDHUP = EPOLLRDHUP;
static const int MG_SOCK_NONBLOCK = SOCK_NONBLOCK;
static const int MG_SOCK_CLOEXEC = SOCK_CLOEXEC;

#endif
