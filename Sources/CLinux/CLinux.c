#define _GNU_SOURCE
#include "CLinux.h"
#include <crypt.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <stdlib.h>

int mg_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
    return accept4(fd, addr, len, flags);
}

int mg_pipe2(int fds[2], int flags) { return pipe2(fds, flags); }

int mg_crypt(const char *phrase, const char *setting, char *out, int out_size) {
    struct crypt_data *data = calloc(1, sizeof(struct crypt_data));
    if (data == NULL) { errno = ENOMEM; return -1; }
    char *result = crypt_rn(phrase, setting, data, sizeof(struct crypt_data));
    int rc = -1;
    if (result != NULL && result[0] != '*' && (int)strlen(result) < out_size) {
        strcpy(out, result);
        rc = 0;
    } else if (errno == 0) {
        errno = EINVAL;
    }
    explicit_bzero(data, sizeof(struct crypt_data));
    free(data);
    return rc;
}

int mg_crypt_gensalt(const char *prefix, unsigned long count, char *out, int out_size) {
    char *result = crypt_gensalt_rn(prefix, count, NULL, 0, out, out_size);
    return result == NULL ? -1 : 0;
}

int mg_ignore_sigpipe(void) {
    return signal(SIGPIPE, SIG_IGN) == SIG_ERR ? -1 : 0;
}

static volatile sig_atomic_t signal_pipe_fd = -1;

static void route_signal(int signo) {
    int saved = errno;
    unsigned char byte = (unsigned char)signo;
    if (signal_pipe_fd >= 0) (void)!write(signal_pipe_fd, &byte, 1);
    errno = saved;
}

int mg_route_signal_to_fd(int signo, int write_fd) {
    signal_pipe_fd = write_fd;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = route_signal;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    return sigaction(signo, &action, NULL);
}

int mg_restore_signal(int signo) {
    return signal(signo, SIG_DFL) == SIG_ERR ? -1 : 0;
}
