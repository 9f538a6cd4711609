// The probes, by name: the `covenant observe` subcommands, their doc pages under docs/probes/
// and their test files share these names.
export interface ProbeInfo {
  name: string;
  summary: string;
  /** kernel or system files it reads */
  sources: string[];
}

export const probes: ProbeInfo[] = [
  { name: "tcp", summary: "TCP sockets of both address families, decoded from the kernel's tables", sources: ["/proc/net/tcp", "/proc/net/tcp6", "sock-diag on the live /proc"] },
  { name: "udp", summary: "UDP sockets of both address families, bound (unconnected) and connected, decoded from the kernel's tables", sources: ["/proc/net/udp", "/proc/net/udp6"] },
  { name: "sock-diag", summary: "TCP sockets of the live host from the kernel's sock_diag netlink interface, as `ss` reads them; what `tcp` uses on the live /proc", sources: ["NETLINK_SOCK_DIAG (native addon)"] },
  { name: "processes", summary: "processes, their users, command lines and start times; socket owners", sources: ["/proc/[pid]/stat", "/proc/[pid]/status", "/proc/[pid]/cmdline", "/proc/[pid]/fd"] },
  { name: "locks", summary: "file locks and who holds them, resolved to paths by device and inode", sources: ["/proc/locks"] },
  { name: "file-nr", summary: "system-wide file handles: allocated, maximum, share in use", sources: ["/proc/sys/fs/file-nr"] },
  { name: "loadavg", summary: "1, 5 and 15-minute load averages, running and total tasks", sources: ["/proc/loadavg"] },
  { name: "meminfo", summary: "memory counters in bytes, MemTotal and MemAvailable", sources: ["/proc/meminfo"] },
  { name: "sysctl", summary: "any kernel parameter by its dotted name", sources: ["/proc/sys/..."] },
  { name: "sysctl-d", summary: "kernel parameters as set at boot: each file and line that sets a key, in sysctl.d(5) order, and the one that wins", sources: ["/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d", "/etc/sysctl.conf"] },
  { name: "modules", summary: "loaded kernel modules, their users and state, as lsmod prints them", sources: ["/proc/modules"] },
  { name: "modprobe-d", summary: "modprobe's rules (install, remove, blacklist, alias, options, softdep) as kmod reads them, and the modules listed to load at boot", sources: ["/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d", "/usr/lib/modprobe.d", "/lib/modprobe.d", "modules-load.d", "/etc/modules", "/proc/cmdline"] },
  { name: "config-files", summary: "settings of configuration files as their programs read them (sshd with Include and Match, login.defs, sysctl.d, key = value), each with its line and where its value lies", sources: ["the files a `config` promise names", "sshd `Include`d files"] },
  { name: "mountinfo", summary: "mount points, sources, file system types and mount options", sources: ["/proc/self/mountinfo"] },
  { name: "lines", summary: "a text file as its lines, with each line's byte range and the content's sha256; read without following a link, up to a size limit", sources: ["file content (O_NOFOLLOW)"] },
  { name: "files", summary: "file type, mode, owner, group, size, times, link target; streaming sha256/sha512", sources: ["lstat(2)", "file content"] },
  { name: "crontab", summary: "cron's jobs as cron runs them: /etc/crontab, /etc/cron.d, users' crontabs (owned by their user), run-parts directories; schedules in a normal form", sources: ["/etc/crontab", "/etc/cron.d/*", "/var/spool/cron/crontabs/*", "/var/spool/cron/*", "/etc/cron.{hourly,daily,weekly,monthly}"] },
  { name: "systemd-timers", summary: "systemd timers from their unit files (precedence, drop-ins, masks, `.wants` links): triggers, the service's command and user; systemd need not run", sources: ["/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"] },
  { name: "dpkg", summary: "Debian packages: name, architecture, version and status, from dpkg's database read directly (no dpkg run)", sources: ["/var/lib/dpkg/status", "/var/lib/dpkg/updates/*"] },
  { name: "rpm", summary: "RPM packages: name, epoch, version, release and architecture, through `rpm -qa`; `unavailable` where rpm is not installed", sources: ["rpm -qa --qf ..."] },
  { name: "packages", summary: "installed packages whichever database the host keeps (dpkg's, else rpm's), with the ordering its versions compare by", sources: ["/var/lib/dpkg/status", "rpm -qa"] },
  { name: "services", summary: "systemd unit state through `systemctl show`; `unavailable` when systemd is not running", sources: ["systemctl show"] },
  { name: "accounts", summary: "local users and groups, group membership, uid 0 accounts; the uid range of accounts for people", sources: ["/etc/passwd", "/etc/group", "/etc/login.defs"] },
  { name: "shadow", summary: "each account's password state (empty, locked, hashed and the scheme; never the hash) and aging", sources: ["/etc/shadow"] },
  { name: "connections", summary: "TCP sockets, and UDP ones for `listener { protocol = udp }`, with the process and user that own them (tcp/udp + processes + accounts)", sources: ["/proc/net/tcp", "/proc/net/tcp6", "sock-diag on the live /proc", "/proc/net/udp", "/proc/net/udp6", "/proc/[pid]/fd", "/etc/passwd"] },
];
