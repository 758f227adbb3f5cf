// src/bench/PerfStat.cs: a server's profile under load, counted by Linux's `perf stat` while a --models case runs:
// the CPU it spent, its system calls (all of them, and epoll_wait apart) and so what a request costs it. Without perf
// (or without the right to count another process) the rows are simply absent.

using System.Diagnostics;
using System.Globalization;

namespace KV;

static class PerfStat
{
    /// <summary>What perf counted: CPU milliseconds and events, by perf's names for them.</summary>
    public sealed record Counts(double CpuMilliseconds, long SystemCalls, long EpollWaits);

    public static bool Installed { get; } = ModelsTable.Ask("perf", "--version") is not null;

    /// <summary>Counts the process's threads for `seconds`; null when perf cannot count them.</summary>
    public static async Task<Counts?> CountAsync(int pid, double seconds)
    {
        var start = new ProcessStartInfo("perf", ["stat", "-x", ",", "-e",
            "task-clock,raw_syscalls:sys_enter,syscalls:sys_enter_epoll_wait", "-p", pid.ToString(), "--", "sleep",
            seconds.ToString("0.###", CultureInfo.InvariantCulture)])
            { RedirectStandardOutput = true, RedirectStandardError = true };
        using var perf = Process.Start(start)!;
        var output = await perf.StandardError.ReadToEndAsync();
        await perf.WaitForExitAsync();
        // One line an event: value,unit,event,... (a value perf could not count is "<not counted>" or the like).
        var values = output.Split('\n').Select(line => line.Split(','))
            .Where(fields => fields.Length > 2 && double.TryParse(fields[0], CultureInfo.InvariantCulture, out _))
            .ToDictionary(fields => fields[2], fields => double.Parse(fields[0], CultureInfo.InvariantCulture));
        return perf.ExitCode == 0 && values.TryGetValue("task-clock", out var cpu)
            && values.TryGetValue("raw_syscalls:sys_enter", out var calls)
            && values.TryGetValue("syscalls:sys_enter_epoll_wait", out var waits)
            ? new Counts(cpu, (long)calls, (long)waits) : null;
    }
}
