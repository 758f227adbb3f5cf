// src/server/Stats.cs: how the server is doing, as `name value` pairs: what `stats` answers on KV's protocol and what
// RESP's INFO reads its numbers from. One list, so that both protocols tell the same story.
//
// Everything here is read when asked, never kept up to date for nobody: the counters are ServerActivity's, the
// rest (threads, pool queue, memory) comes from the runtime at the moment of the question.

using System.Diagnostics;

namespace KV;

public static class ServerStats
{
    /// <summary>Every figure, in the order `stats` prints them.</summary>
    public static IReadOnlyList<Stat> Read(IServerFacts server, KeyValueStore store)
    {
        var options = server.Options;
        var activity = server.Activity;
        ThreadPool.GetMaxThreads(out var poolMax, out _);
        using var process = Process.GetCurrentProcess();
        return
        [
            new("threading", options.Threading.Name()),
            new("clients", server.ConnectedClients),
            new("max_clients", options.MaxClients),
            new("monitors", activity.Monitors.Count),
            new("process_threads", process.Threads.Count),
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
            new("max_memory", options.MaxMemory),
            new("client_memory", server.ClientMemory),
            new("max_client_memory", options.MaxClientMemory),
            new("rss_bytes", Environment.WorkingSet),
            new("gc_heap_bytes", GC.GetTotalMemory(forceFullCollection: false)),
            new("uptime_seconds", (long)server.Uptime.TotalSeconds),
        ];
    }
}
