// src/bench/ServerFacts.cs: what bench.cs reads of a server process from /proc (resident memory, threads), and
// pinning a process to cores, so that a server and its load each get a known share of the machine.

using System.Diagnostics;
using System.Text.RegularExpressions;

namespace KV;

/// <summary>The server's resident memory and thread count, from /proc; and pinning a process to cores.</summary>
static class ServerFacts
{
    /// <summary>Every thread of the process, now and later, on these cores (`taskset -a`: a thread's mask is its own).</summary>
    public static void Pin(int pid, string cpus)
    {
        using var taskset = Process.Start(new ProcessStartInfo("taskset", ["-a", "-cp", cpus, pid.ToString()]) { RedirectStandardOutput = true })!;
        taskset.WaitForExit();
        if (taskset.ExitCode != 0) throw new IOException($"taskset could not pin process {pid} to cores {cpus}");
    }

    public static string Read(int pid) => $"server pid {pid}: RSS {ResidentBytes(pid) / 1048576.0:0.0} MB, threads {Threads(pid)}";

    public static long ResidentBytes(int pid) => Field(pid, "VmRSS") * 1024;
    public static int Threads(int pid) => (int)Field(pid, "Threads");

    private static long Field(int pid, string name) =>
        long.Parse(Regex.Match(File.ReadAllText($"/proc/{pid}/status"), $@"{name}:\s+(\d+)").Groups[1].Value);
}
