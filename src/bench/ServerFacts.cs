// src/bench/ServerFacts.cs: what bench.cs reads of a server process from /proc (resident memory, threads), and
// pinning a process's threads to cores (sched_setaffinity), so that a server and its load each get a known share of
// the machine.

using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace KV;

/// <summary>The server's resident memory and thread count, from /proc; and pinning a process to cores.</summary>
static class ServerFacts
{
    /// <summary>
    /// Every thread of the process, now and later, on these cores (a list as taskset takes it: 0, 0-1, 0,2-3): each
    /// thread's mask is its own, and a thread a thread makes inherits it. A thread that ends meanwhile (a server with
    /// a thread a client, whose clients just left) is simply not there to pin.
    /// </summary>
    public static void Pin(int pid, string cpus)
    {
        ulong mask = 0;
        foreach (var part in cpus.Split(','))
        {
            var range = part.Split('-');
            if (range.Length > 2 || !int.TryParse(range[0], out var first)
                || !int.TryParse(range[^1], out var last) || first < 0 || last < first || last > 63)
                throw new IOException($"'{cpus}' is not a list of cores (0, 0-1, 0,2-3)");
            for (var core = first; core <= last; core++) mask |= 1UL << core;
        }
        var pinned = 0;
        foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            if (int.TryParse(Path.GetFileName(task), out var thread)
                && sched_setaffinity(thread, sizeof(ulong), ref mask) == 0) pinned++;
        if (pinned == 0) throw new IOException($"could not pin process {pid} to cores {cpus}: " +
            $"{new System.ComponentModel.Win32Exception(Marshal.GetLastPInvokeError()).Message}");
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int sched_setaffinity(int thread, nint size, ref ulong mask);

    /// <summary>
    /// How often the process's threads have given up a core, by choice or not, summed over its threads.
    /// </summary>
    public static long ContextSwitches(int pid) =>
        Directory.EnumerateDirectories($"/proc/{pid}/task").Sum(task =>
        {
            try
            {
                var status = File.ReadAllText(Path.Combine(task, "status"));
                return Field(status, "voluntary_ctxt_switches") + Field(status, "nonvoluntary_ctxt_switches");
            }
            catch (IOException)
            {
                return 0; // the thread has ended
            }
        });

    public static string Read(int pid)
        => $"server pid {pid}: RSS {ResidentBytes(pid) / 1048576.0:0.0} MB, threads {Threads(pid)}";

    public static long ResidentBytes(int pid) => Field(Status(pid), "VmRSS") * 1024;
    public static int Threads(int pid) => (int)Field(Status(pid), "Threads");

    private static string Status(int pid) => File.ReadAllText($"/proc/{pid}/status");

    /// <summary>A number from a /proc status file: the line that begins with the field's name.</summary>
    private static long Field(string status, string name) =>
        long.Parse(Regex.Match(status, $@"(?m)^{name}:\s+(\d+)").Groups[1].Value);
}
