/* The hardening floor of the start rows: the fork+exec floor (floor.c) plus the kernel work of
 * the runner's sandbox and nothing else. Before the fork it builds the same Landlock ruleset;
 * the child makes the system calls the runner's child makes, in its order (docs/RUNNER.md:
 * session and parent-death signal, descriptors, resource limits, oom_score_adj, capability
 * bounding set, groups and ids, the other capability sets, no_new_privs, working directory,
 * Landlock, the seccomp program with its listener sent to the parent, the read-back of
 * /proc/self/status and the Landlock probe) and execs. No supervision: no output capture, no
 * limits enforced while the program runs, no report. So the runner's start over this one is
 * the runner's own work, and this one's over floor.c is what the enforcement itself costs.
 *
 * What it enforces comes from the runner at build time: bench/run writes the header that
 * HARDENING_FLOOR_CONFIG names from `runner policy --seccomp-bpf` (the program the child
 * installs), `runner policy --json` (the paths and the identity) and the resource limits an
 * interpreter reads inside the runner's sandbox:
 * FILTER[] the seccomp program, RULES[] {path, class}, LIMITS[] {resource, soft, hard},
 * SANDBOX_UID and SANDBOX_GID.
 * Built static (`cc -static`), like the runner. A failed step exits 120 + the step, before exec:
 * a floor that did not apply everything must not be timed. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Landlock ABI 6/7 as the runner handles it: every file system right (16), TCP bind and
 * connect, and both scopes. Spelled out because Debian 12's headers predate ABI 4. */
#define LL_EXECUTE (1ULL << 0)
#define LL_WRITE_FILE (1ULL << 1)
#define LL_READ_FILE (1ULL << 2)
#define LL_READ_DIR (1ULL << 3)
#define LL_TRUNCATE (1ULL << 14)
#define LL_IOCTL_DEV (1ULL << 15)
#define LL_ALL_FS ((1ULL << 16) - 1)
#define LL_FILE_RIGHTS (LL_EXECUTE | LL_WRITE_FILE | LL_READ_FILE | LL_TRUNCATE | LL_IOCTL_DEV)
#define LL_RULE_PATH_BENEATH 1
enum class { RO, RX, RW };
struct rule { const char *path; enum class class; };
struct limit { int resource; unsigned long long soft, hard; };
struct ruleset_attr { unsigned long long fs, net, scoped; };
struct path_beneath { unsigned long long access; int fd; } __attribute__((packed));

#include HARDENING_FLOOR_CONFIG /* FILTER, LIMITS, RULES, SANDBOX_UID, SANDBOX_GID */

static int channel[2];
static int ruleset;
static char **program;
extern char **environ;

static unsigned long long class_rights(enum class c) {
    unsigned long long read = LL_READ_FILE | LL_READ_DIR;
    return c == RO ? read : c == RX ? read | LL_EXECUTE : LL_ALL_FS & ~LL_EXECUTE;
}

/* One rule as the runner adds it: opened O_PATH, a file gets only the file rights. */
static int add_rule(const char *path, enum class c) {
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) return 0; /* the runner skips a profile path that does not exist */
    struct stat st;
    if (fstat(fd, &st)) return -1;
    struct path_beneath pb = {class_rights(c), fd};
    if (!S_ISDIR(st.st_mode)) pb.access &= LL_FILE_RIGHTS;
    int r = syscall(SYS_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH, &pb, 0);
    close(fd);
    return r;
}

/* The child, vfork-style like the runner's: only system calls, then exec. */
static int child(void) {
    char status[4096];
    if (setsid() < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() <= 1) return 120 + 1;
    signal(SIGPIPE, SIG_DFL);
    signal(SIGXFSZ, SIG_DFL);
    signal(SIGXCPU, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (syscall(SYS_close_range, 3, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */)) return 120 + 2;
    for (size_t i = 0; i < sizeof LIMITS / sizeof LIMITS[0]; i++) {
        struct rlimit now, set;
        if (prlimit(0, LIMITS[i].resource, NULL, &now)) return 120 + 3;
        set.rlim_cur = LIMITS[i].soft < now.rlim_max ? LIMITS[i].soft : now.rlim_max;
        set.rlim_max = LIMITS[i].hard < now.rlim_max ? LIMITS[i].hard : now.rlim_max;
        if (prlimit(0, LIMITS[i].resource, &set, NULL)) return 120 + 3;
    }
    int oom = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (oom < 0 || write(oom, "1000", 4) != 4) return 120 + 4;
    close(oom);
    int self = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (self < 0 || pread(self, status, sizeof status, 0) <= 0) return 120 + 5;
    for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
        if (prctl(PR_CAPBSET_DROP, cap)) return 120 + 5;
    if (setgroups(0, NULL) || setresgid(SANDBOX_GID, SANDBOX_GID, SANDBOX_GID) ||
        setresuid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID))
        return 120 + 6;
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() <= 1) return 120 + 1;
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2] = {{0}};
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) || syscall(SYS_capset, &header, data))
        return 120 + 5;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) return 120 + 7;
    if (chdir("/")) return 120 + 8;
    if (syscall(SYS_landlock_restrict_self, ruleset, 0)) return 120 + 9;
    struct sock_fprog prog = {sizeof FILTER / sizeof FILTER[0], (struct sock_filter *)FILTER};
    int listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
    if (listener < 0) return 120 + 10;
    char control[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {"L", 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                         .msg_controllen = sizeof control};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &listener, sizeof listener);
    if (sendmsg(channel[1], &msg, 0) != 1) return 120 + 10;
    close(listener);
    /* The read-back: the probe must be refused, then the status sent as the runner's record. */
    if (open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC) >= 0) return 120 + 11;
    ssize_t n = pread(self, status, sizeof status, 0);
    if (n <= 0 || write(channel[1], status, 83) != 83) return 120 + 11;
    execve(program[0], program, environ);
    return 127;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    program = argv + 1;
    struct ruleset_attr attr = {LL_ALL_FS, 3, 3};
    ruleset = syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
    if (ruleset < 0) { perror("hardening_floor: landlock_create_ruleset"); return 1; }
    int granted = 0;
    for (size_t i = 0; i < sizeof RULES / sizeof RULES[0]; i++) {
        if (add_rule(RULES[i].path, RULES[i].class)) { perror(RULES[i].path); return 1; }
        granted |= strcmp(RULES[i].path, program[0]) == 0;
    }
    /* The program is granted read and execute, once (the runner merges a path granted twice). */
    if (!granted && add_rule(program[0], RX)) { perror(program[0]); return 1; }
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, channel)) { perror("socketpair"); return 1; }
    pid_t pid = vfork();
    if (pid < 0) { perror("hardening_floor: vfork"); return 1; }
    if (pid == 0) _exit(child());
    close(channel[1]);
    char record[128];
    /* The listener (closed: nothing here answers it) and the read-back record. */
    recv(channel[0], record, sizeof record, 0);
    recv(channel[0], record, sizeof record, 0);
    int status;
    if (waitpid(pid, &status, 0) < 0) { perror("hardening_floor: waitpid"); return 1; }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
