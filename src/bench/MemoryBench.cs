// src/bench/MemoryBench.cs: `dotnet bench.cs -- --memory [--elements N] [--unlike] [--rounds R]`: what a million
// elements cost in one list, hash, set and sorted set, KV against Redis. For each kind and round, a fresh KV (its
// RESP port) and a fresh Redis, one after the other, are filled by the same client: RPUSH, HSET (value `v`), SADD or
// ZADD (score N) of `element:N` (or, with --unlike, 14 random hex digits, which share no prefix), a thousand
// elements a command, fifty commands in flight. The figure is the growth of the server's resident size (VmRSS) from
// a second after FLUSHALL to two seconds after the last reply, divided by the elements: the bytes a machine really
// gives, the server's fixed costs of a first burst included.

using System.Diagnostics;
using System.Net.Sockets;

namespace KV;

static class MemoryBench
{
    private static readonly string[] Kinds = ["list", "hash", "set", "zset"];
    private const int ElementsACommand = 1000;
    private const int CommandsInFlight = 50;

    public static async Task<int> RunAsync(BenchOptions options)
    {
        var root = Directory.GetCurrentDirectory();
        if (!File.Exists(Path.Combine(root, "KVServer.cs")))
        {
            Console.WriteLine("ERROR: run --memory from the repository's root, where KVServer.cs is");
            return 2;
        }
        var dll = await ModelsTable.BuildServerAsync(root);
        var redis = ModelsTable.RedisVersion();
        Console.WriteLine($"memory: {options.Elements:N0} elements ({(options.Unlike ? "random, unlike" :
            "element:N")}) in one key, resident growth a element, fresh servers, {options.Rounds} round(s)");
        var theirName = redis is null ? "Redis (not installed)" : $"Redis {redis}";
        Console.WriteLine($"| kind | KV | {theirName} | KV / Redis |");
        Console.WriteLine("|---|---:|---:|---:|");
        foreach (var kind in Kinds)
        {
            var kv = new List<double>();
            var theirs = new List<double>();
            for (var round = 0; round < options.Rounds; round++)
            {
                kv.Add(await MeasureAsync(Start(ModelsTable.KV(dll, "pool")), kind, options));
                if (redis is not null) theirs.Add(await MeasureAsync(Start(ModelsTable.Redis(redis)), kind, options));
            }
            var ratio = theirs.Count > 0 ? $"{Median(kv) / Median(theirs):0.00}" : "-";
            Console.WriteLine($"| {kind} | {Shown(kv)} | {(theirs.Count > 0 ? Shown(theirs) : "-")} | {ratio} |");
        }
        return 0;
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    private static string Shown(List<double> values) => values.Count == 1 ? $"{values[0]:0.0} B"
        : $"{Median(values):0.0} B ({values.Min():0.0}-{values.Max():0.0})";

    /// <summary>A server as --models starts it (KV in its default model), and its RESP port once it listens.</summary>
    private static async Task<(Process Server, int Port)> Start(ModelsTable.Contender contender)
    {
        var server = await contender.Start(null);
        return (server, (await contender.PortsOf(server)).RespPort);
    }

    /// <summary>The bytes an element of this kind added to the fresh server's resident size; the server is stopped.
    /// </summary>
    private static async Task<double> MeasureAsync(Task<(Process Server, int Port)> starting, string kind,
        BenchOptions options)
    {
        var (server, port) = await starting;
        try
        {
            using var socket = await Load.ConnectAsync(options with { Host = "127.0.0.1", Port = port });
            await AskAsync(socket, [Wire.Resp("FLUSHALL")]);
            await Task.Delay(TimeSpan.FromSeconds(1));
            var before = ServerFacts.ResidentBytes(server.Id);
            var random = new Random(1);
            var batch = new List<byte[]>();
            for (var first = 0; first < options.Elements; first += ElementsACommand)
            {
                var elements = Enumerable.Range(first, Math.Min(ElementsACommand, options.Elements - first))
                    .Select(n => options.Unlike ? Convert.ToHexStringLower(RandomBytes(random)) : $"element:{n}");
                batch.Add(kind switch
                {
                    "list" => Wire.Resp(["RPUSH", "k", .. elements]),
                    "hash" => Wire.Resp(["HSET", "k", .. elements.SelectMany(e => new[] { e, "v" })]),
                    "set" => Wire.Resp(["SADD", "k", .. elements]),
                    _ => Wire.Resp(["ZADD", "k", .. elements.Select((e, i) => new[] { $"{first + i}", e })
                        .SelectMany(pair => pair)]),
                });
                if (batch.Count == CommandsInFlight) await AskAsync(socket, batch);
            }
            await AskAsync(socket, batch);
            await Task.Delay(TimeSpan.FromSeconds(2));
            return (ServerFacts.ResidentBytes(server.Id) - before) / (double)options.Elements;
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }
    }

    private static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[7];
        random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>Sends the commands and reads a one-line reply to each (every command here has one); clears them.
    /// </summary>
    private static async Task AskAsync(Socket socket, List<byte[]> commands)
    {
        foreach (var command in commands) await socket.SendAsync(command);
        var replies = new byte[4096];
        for (var lines = 0; lines < commands.Count;)
        {
            var read = await socket.ReceiveAsync(replies);
            if (read == 0) throw new IOException("the server closed the connection");
            lines += replies.AsSpan(0, read).Count((byte)'\n');
        }
        commands.Clear();
    }
}
