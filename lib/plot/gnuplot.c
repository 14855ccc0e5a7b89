/* Runs gnuplot as a child process, capturing its stderr for the error. */
#include "plot/plot.h"

#include "core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Searches PATH ourselves: a missing program is then a clear ES_EMISSING
 * rather than an exit status 127 from the child. */
static int find_gnuplot(char *path, size_t size)
{
    const char *env = getenv("PATH");
    if (!env)
        env = "/usr/local/bin:/usr/bin:/bin";
    const char *p = env;
    while (1) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0)
            snprintf(path, size, "./gnuplot");
        else
            snprintf(path, size, "%.*s/gnuplot", (int)n, p);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0)
            return ES_OK;
        if (!end)
            break;
        p = end + 1;
    }
    return es_error(ES_EMISSING, "gnuplot is not installed: apt-get install gnuplot-nox");
}

int plot_gnuplot_run(const char *dir, const char *script)
{
    char exe[PATH_MAX + 16];
    int rc = find_gnuplot(exe, sizeof exe);
    if (rc)
        return rc;
    int fds[2];
    if (pipe(fds) != 0)
        return es_error(ES_EIO, "cannot run gnuplot: pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return es_error(ES_EIO, "cannot run gnuplot: fork: %s", strerror(errno));
    }
    if (pid == 0) {
        /* the child: only async-signal-safe calls until exec */
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, STDIN_FILENO);
            dup2(devnull, STDOUT_FILENO);
        }
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        if (chdir(dir) != 0) {
            static const char msg[] = "cannot enter the figures folder\n";
            (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
            _exit(126);
        }
        char *argv[] = {"gnuplot", (char *)script, NULL};
        execv(exe, argv);
        _exit(127);
    }
    close(fds[1]);
    /* keep the first 4 KB of stderr: gnuplot's first error is what matters */
    char err[4096];
    size_t len = 0;
    char chunk[1024];
    ssize_t got;
    while ((got = read(fds[0], chunk, sizeof chunk)) != 0) {
        if (got < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        size_t take = (size_t)got < sizeof err - 1 - len ? (size_t)got : sizeof err - 1 - len;
        memcpy(err + len, chunk, take);
        len += take;
    }
    err[len] = '\0';
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return es_error(ES_EIO, "gnuplot %s/%s: waitpid: %s", dir, script, strerror(errno));
    /* trim the trailing newlines so the message ends cleanly */
    while (len > 0 && (err[len - 1] == '\n' || err[len - 1] == ' '))
        err[--len] = '\0';
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return ES_OK;
    if (WIFEXITED(status))
        return es_error(ES_EIO, "gnuplot failed on %s/%s (exit status %d): %s", dir, script, WEXITSTATUS(status),
                        len ? err : "(no message)");
    return es_error(ES_EIO, "gnuplot was killed by signal %d on %s/%s: %s", WTERMSIG(status), dir, script,
                    len ? err : "(no message)");
}
