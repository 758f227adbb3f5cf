// src/resp/RespInfo.cs: what RESP's INFO answers: KV's own facts, in Redis's form (`# Section`, then
// `name:value` lines), read from the server's facts and the store. KV never claims to be Redis: there is no
// `redis_version` field.

using System.Buffers;
using System.Net;
using System.Text;

namespace KV;

public static class RespInfo
{
    /// <summary>INFO [section]: the sections asked for (every one for none, `all` or `everything`), as one bulk string.</summary>
    public static void Run(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var wanted = args.Count == 1 ? "default" : args.Text(1).ToLowerInvariant();
        var text = new StringBuilder();
        foreach (var (name, fields) in Sections(session.Server, session.Store).Where(s => wanted is "default" or "all" or "everything" || s.Name == wanted))
        {
            if (text.Length > 0) text.Append("\r\n");
            text.Append("# ").Append(char.ToUpperInvariant(name[0])).Append(name[1..]).Append("\r\n");
            foreach (var (key, value) in fields) text.Append(key).Append(':').Append(value).Append("\r\n");
        }
        RespReply.Bulk(output, text.ToString());
    }

    /// <summary>The facts, by section.</summary>
    public static IReadOnlyList<(string Name, (string Key, string Value)[] Fields)> Sections(IServerFacts server, KeyValueStore store)
    {
        var keys = store.Count;
        var heap = GC.GetGCMemoryInfo();
        var allocated = GC.GetTotalMemory(forceFullCollection: false);
        var options = server.Options;
        return
        [
            ("server", [
                ("server_name", "kv"), ("protocols", "kv,resp2"), ("process_id", Environment.ProcessId.ToString()),
                ("tcp_port", ((IPEndPoint)server.Endpoint).Port.ToString()), ("resp_port", server.RespEndpoint is IPEndPoint resp ? resp.Port.ToString() : ""),
                ("uptime_in_seconds", ((long)server.Uptime.TotalSeconds).ToString()), ("dotnet_version", Environment.Version.ToString()),
            ]),
            ("clients", [("connected_clients", server.ConnectedClients.ToString()), ("maxclients", options.MaxClients.ToString())]),
            ("memory", [
                ("used_memory", store.AccountedBytes.ToString()), ("maxmemory", options.MaxMemory.ToString()), ("maxmemory_policy", "noeviction"),
                ("clients_memory", server.ClientMemory.ToString()), ("maxmemory_clients", options.MaxClientMemory.ToString()),
                // Before the first collection the GC's figures are all zero: the heap is then what has been allocated.
                ("dotnet_heap_size", (heap.Index == 0 ? allocated : heap.HeapSizeBytes).ToString()),
                ("dotnet_committed", (heap.Index == 0 ? allocated : heap.TotalCommittedBytes).ToString()),
                ("used_memory_rss", Environment.WorkingSet.ToString()),
                ("dotnet_allocated_now", allocated.ToString()),
            ]),
            ("keyspace", keys == 0 ? [] : [("db0", $"keys={keys},expires=0,avg_ttl=0")]),
        ];
    }
}
