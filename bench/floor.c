/* The fork+exec floor of the start rows: one more process layer and nothing else. It forks,
 * execs argv[1..] in the child and waits, as the runner does around the program, so the runner's
 * own work is its start time over this one's. Built static (`cc -static`), like the runner. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    pid_t pid = fork();
    if (pid < 0) { perror("floor: fork"); return 1; }
    if (pid == 0) { execv(argv[1], argv + 1); _exit(127); }
    int status;
    if (waitpid(pid, &status, 0) < 0) { perror("floor: waitpid"); return 1; }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
