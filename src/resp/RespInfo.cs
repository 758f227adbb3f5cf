// src/resp/RespInfo.cs: what RESP's INFO answers: KV's own facts, in Redis's form (`# Section`, then
// `name:value` lines), read from the server's facts and the store. `redis_version` is a compatibility level, the
// Redis version whose commands KV speaks, which clients (RQ, redis-py's feature checks) read before anything else;
// `server_name` and `kv_version` say what the server really is.

using System.Buffers;
using System.Net;
using System.Text;

namespace KV;

public static class RespInfo
{
    /// <summary>The Redis release whose commands and replies KV's RESP port follows (INFO, HELLO).</summary>
    public const string RedisVersion = "7.0.0";

    /// <summary>KV's own version.</summary>
    public const string KvVersion = "1.0.0";

    /// <summary>
    /// INFO [section ...]: the sections asked for (every one for none, `default`, `all` or `everything`), as one bulk
    /// string.
    /// </summary>
    public static void Run(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var wanted = args.Count == 1 ? ["default"] : Enumerable.Range(1,
            args.Count - 1).Select(i => args.Text(i).ToLowerInvariant()).ToHashSet();
        var every = wanted.Overlaps(["default", "all", "everything"]);
        var text = new StringBuilder();
        var sections = Sections(session.Server, session.Store).Where(s => every || wanted.Contains(s.Name));
        foreach (var (name, fields) in sections)
        {
            if (text.Length > 0) text.Append("\r\n");
            text.Append("# ").Append(char.ToUpperInvariant(name[0])).Append(name[1..]).Append("\r\n");
            foreach (var (key, value) in fields) text.Append(key).Append(':').Append(value).Append("\r\n");
        }
        RespReply.Bulk(output, text.ToString());
    }

    /// <summary>The CPU time the process has used, in seconds, as Redis's `cpu` section gives it.</summary>
    private static (string, string)[] CpuFields()
    {
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        static string Seconds(TimeSpan time) => time.TotalSeconds.ToString("0.000000",
            System.Globalization.CultureInfo.InvariantCulture);
        return [("used_cpu_sys", Seconds(process.PrivilegedProcessorTime)), ("used_cpu_user",
            Seconds(process.UserProcessorTime))];
    }

    /// <summary>
    /// The facts, by section: `stats`'s figures under Redis's names where Redis has one, for the tools that read them.
    /// </summary>
    public static IReadOnlyList<(string Name, (string Key, string Value)[] Fields)> Sections(IServerFacts server,
        KeyValueStore store)
    {
        var stats = ServerStats.Read(server, store).ToDictionary(s => s.Name, s => s.Value);
        var heap = GC.GetGCMemoryInfo();
        var allocated = GC.GetTotalMemory(forceFullCollection: false);
        var keys = stats["keys"];
        var (expiring, averageTtl) = store.Expiring;
        return
        [
            ("server", [
                ("redis_version", RedisVersion), ("server_name", "kv"), ("kv_version", KvVersion),
                ("protocols", "kv,resp2"), ("process_id", Environment.ProcessId.ToString()),
                ("tcp_port", ((IPEndPoint)server.Endpoint).Port.ToString()), ("resp_port",
                    server.EndpointOf(RespRegistration.Listener) is IPEndPoint resp ? resp.Port.ToString() : ""),
                ("uptime_in_seconds", stats["uptime_seconds"]), ("dotnet_version", Environment.Version.ToString()),
            ]),
            // Clients wait only in a feature's blocking command (BLPOP): 0 when no feature registered the figure.
            ("clients", [("connected_clients", stats["clients"]),
                ("blocked_clients", stats.GetValueOrDefault("blocked_clients", "0")), ("maxclients",
                stats["max_clients"]), ("monitors", stats["monitors"])]),
            ("threads", [
                ("threading_model", stats["threading"]), ("process_threads", stats["process_threads"]), ("pool_threads",
                    stats["pool_threads"]),
                ("pool_threads_max", stats["pool_threads_max"]), ("pool_queued", stats["pool_queued"]),
            ]),
            ("memory", [
                ("used_memory", stats["stored_bytes"]), ("maxmemory", stats["max_memory"]), ("maxmemory_policy",
                    stats.GetValueOrDefault("max_memory_policy", "noeviction")),
                ("clients_memory", stats["client_memory"]), ("maxmemory_clients", stats["max_client_memory"]),
                // Scripts are a feature: 0 when it did not register its figures.
                ("number_of_cached_scripts", stats.GetValueOrDefault("scripts_cached", "0")),
                ("used_memory_lua", stats.GetValueOrDefault("scripts_memory", "0")),
                // Before the first collection the GC's figures are all zero: the heap is then what has been allocated.
                ("dotnet_heap_size", (heap.Index == 0 ? allocated : heap.HeapSizeBytes).ToString()),
                ("dotnet_committed", (heap.Index == 0 ? allocated : heap.TotalCommittedBytes).ToString()),
                ("used_memory_rss", stats["rss_bytes"]),
                ("dotnet_allocated_now", allocated.ToString()),
            ]),
            ("cpu", CpuFields()),
            // KV saves nothing, so nothing is ever loading or saving (`redis-cli --stat` reads these three).
            ("persistence", [("loading", "0"), ("bgsave_in_progress", "0"), ("aof_rewrite_in_progress", "0")]),
            ("stats", [
                ("total_connections_received", stats["connections_accepted"]), ("total_commands_processed",
                    stats["requests"]),
                ("instantaneous_ops_per_sec", stats["requests_last_second"]), ("rejected_connections",
                    stats["connections_refused"]),
                ("evicted_keys", stats.GetValueOrDefault("evicted_keys", "0")),
                ("evicted_clients", server.ClientEvictions.ToString()),
                ("connections_closed_by_limit", stats["connections_closed_by_limit"]),
                ("pubsub_channels", stats.GetValueOrDefault("pubsub_channels", "0")),
                ("pubsub_patterns", stats.GetValueOrDefault("pubsub_patterns", "0")),
                ("messages_published", stats["messages_published"]), ("subscribers_dropped",
                    stats["subscribers_dropped"]),
            ]),
            ("keyspace", keys == "0" ? [] : [("db0", $"keys={keys},expires={expiring},avg_ttl={averageTtl}")]),
        ];
    }
}
