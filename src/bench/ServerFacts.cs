// src/bench/ServerFacts.cs: what bench.cs reads of a server process from /proc (resident memory, threads), and
// pinning a process to cores, so that a server and its load each get a known share of the machine.

using System.Diagnostics;
using System.Text.RegularExpressions;

namespace KV;

/// <summary>The server's resident memory and thread count, from /proc; and pinning a process to cores.</summary>
static class ServerFacts
{
    /// <summary>
    /// Every thread of the process, now and later, on these cores (`taskset -a`: a thread's mask is its own).
    /// </summary>
    public static void Pin(int pid, string cpus)
    {
        // A thread that ends while taskset walks the list fails the walk (a server with a thread a client, say):
        // walk again.
        for (var attempt = 1; ; attempt++)
        {
            using var taskset = Process.Start(new ProcessStartInfo("taskset", ["-a", "-cp", cpus, pid.ToString()])
                { RedirectStandardOutput = true, RedirectStandardError = true })!;
            taskset.WaitForExit();
            if (taskset.ExitCode == 0) return;
            if (attempt == 5) throw new IOException($"taskset could not pin process {pid} to cores {cpus}: " +
                $"{taskset.StandardError.ReadToEnd().Trim()}");
            Thread.Sleep(200);
        }
    }

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
