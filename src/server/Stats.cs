// src/server/Stats.cs: how the server is doing, as `name value` pairs: what `stats` answers on KV's protocol and what
// RESP's INFO reads its numbers from. One list, so that both protocols tell the same story.
//
// Everything here is read when asked, never kept up to date for nobody: the counters are ServerActivity's, the
// rest (threads, pool queue, memory) comes from the runtime at the moment of the question.

using System.Diagnostics;

namespace KV;

public static class ServerStats
{
    private static readonly List<(Func<IServerFacts, KeyValueStore, IEnumerable<Stat>> Figures, string After)>
        features = [];

    /// <summary>
    /// A feature's own figures (src/pubsub's), shown after the figure named `after` (by default the clients' last);
    /// its module initializer calls this.
    /// </summary>
    public static void Register(Func<IServerFacts, KeyValueStore, IEnumerable<Stat>> figures, string after = "monitors")
    {
        lock (features) features.Add((figures, after));
    }

    /// <summary>Every figure, in the order `stats` prints them.</summary>
    public static IReadOnlyList<Stat> Read(IServerFacts server, KeyValueStore store)
    {
        var options = server.Options;
        var activity = server.Activity;
        ThreadPool.GetMaxThreads(out var poolMax, out _);
        List<Stat> all =
        [
            new("threading", options.Threading.Name),
            new("clients", server.ConnectedClients),
            new("max_clients", options.MaxClients),
            new("monitors", activity.Observers.Count),
            new("process_threads", ProcessThreads()),
            new("pool_threads", ThreadPool.ThreadCount),
            new("pool_threads_max", poolMax),
            new("pool_queued", ThreadPool.PendingWorkItemCount),
            new("requests", activity.Requests),
            new("requests_last_second", activity.RequestsLastSecond),
            new("connections_accepted", activity.Accepted),
            new("connections_refused", activity.Refused),
            new("connections_closed_by_limit", activity.ClosedByLimits + server.ClientEvictions),
            new("keys", store.Count),
            new("stored_bytes", store.AccountedBytes),
            new("max_memory", store.MaxBytes),
            new("client_memory", server.ClientMemory),
            new("max_client_memory", options.MaxClientMemory),
            new("rss_bytes", Environment.WorkingSet),
            new("gc_heap_bytes", GC.GetTotalMemory(forceFullCollection: false)),
            new("uptime_seconds", (long)server.Uptime.TotalSeconds),
        ];
        // Each feature's right after its anchor, the last registered first, so that those with one anchor end up in the
        // order registered.
        foreach (var (figures, after) in Enumerable.Reverse(features))
            all.InsertRange(all.FindIndex(figure => figure.Name == after) + 1, figures(server, store));
        return all;
    }

    /// <summary>
    /// The process's threads: on Linux one line of /proc/self/status, where .NET's Process.Threads would read a file
    /// for every thread (ten thousand of them, in the per-client model with ten thousand clients).
    /// </summary>
    private static long ProcessThreads()
    {
        const string Status = "/proc/self/status";
        if (File.Exists(Status))
            foreach (var line in File.ReadLines(Status))
                if (line.StartsWith("Threads:",
                    StringComparison.Ordinal) && long.TryParse(line.AsSpan("Threads:".Length).Trim(),
                    out var threads)) return threads;
        using var process = Process.GetCurrentProcess();
        return process.Threads.Count;
    }
}
