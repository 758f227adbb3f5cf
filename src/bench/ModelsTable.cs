// src/bench/ModelsTable.cs: `dotnet bench.cs -- --models`, the table a teacher projects. KV is started in each
// threading model in turn (a thread each, the pool, an event loop a core), and Redis beside them when
// redis-server is installed, each on a free port of its own, and each meets the same load: one client, fifty, a
// thousand; fifty with the server pinned to one core and the load to another; the server's threads and memory
// under load; and the memory an idle connection costs. Rounds alternate the servers; the table gives medians.
// --quick fits a class slot: the two pinned cases, short, after a warm-up, and a thousand idle connections.

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace KV;

static class ModelsTable
{
    private sealed record Case(string Name, int Clients, int Pipeline, bool Pinned);

    /// <summary>The cases of --quick: the two a class compares, each server on its own core.</summary>
    private static readonly string[] QuickCases = ["50 clients, pinned", "50 clients, depth 16, pinned", "50 clients"];

    private static readonly Case[] Cases =
    [
        new("1 client", 1, 1, false),
        new("50 clients", 50, 1, false),
        new("1,000 clients", 1000, 1, false),
        new("50 clients, pinned", 50, 1, true),
        new("50 clients, depth 16, pinned", 50, 16, true),
    ];

    /// <summary>One server under test: how to start it, and the protocol it speaks.</summary>
    internal sealed record Contender(string Name, WireDialect Dialect, Func<Task<Process>> Start, Func<Process,
        Task<int>> PortOf);

    public static async Task<int> RunAsync(BenchOptions options)
    {
        var root = Directory.GetCurrentDirectory();
        if (!File.Exists(Path.Combine(root, "KVServer.cs")))
        {
            Console.WriteLine("ERROR: run --models from the repository's root, where KVServer.cs is");
            return 2;
        }
        Progress("building KVServer.cs");
        var dll = await BuildServerAsync(root);
        var contenders = ThreadingModelNames.Select(model => KV(dll, model)).ToList();
        if (RedisVersion() is { } version) contenders.Add(Redis(version));
        var idle = options.Idle > 0 ? options.Idle : 10_000;
        var pinning = Environment.ProcessorCount >= 2;
        var all = $"0-{Environment.ProcessorCount - 1}";

        // Each cell's measurements over the rounds: (contender, row) to values.
        var cells = new Dictionary<(string, string), List<double>>();
        void Add(string contender, string row, double value)
        {
            if (!cells.TryGetValue((contender, row), out var values)) cells[(contender, row)] = values = [];
            values.Add(value);
        }

        for (var round = 1; round <= options.Rounds; round++)
            foreach (var contender in contenders)
            {
                var step = $"round {round}/{options.Rounds}, {contender.Name}";
                Progress($"{step}: starting, filling {options.Keys:N0} keys");
                using var server = await contender.Start();
                try
                {
                    var port = await contender.PortOf(server);
                    var at = options with { Port = port, Redis = contender.Dialect == WireDialect.Redis, Quiet = true,
                        Idle = 0 };
                    await Load.PrefillAsync(at, contender.Dialect);
                    // Before any load, so that the memory they add is theirs, not a heap the load has already grown.
                    Progress($"{step}: {idle:N0} idle connections");
                    var (idleThreads, bytesEach) = await IdleAsync(at, server.Id, idle);
                    Add(contender.Name, $"{idle:N0} idle connections: KB each", bytesEach / 1024.0);
                    Add(contender.Name, $"{idle:N0} idle connections: server threads", idleThreads);
                    // Cases this short would measure the JIT at work: --quick warms each server up first, unrecorded.
                    if (options.Quick) await Load.RunAsync(at with { Clients = 50, Seconds = 1 }, contender.Dialect);
                    // --quick: the pinned cases where there are two cores to pin to, else 50 clients unpinned.
                    var cases = Cases.Where(c => pinning || !c.Pinned)
                        .Where(c => !options.Quick || QuickCases.Contains(c.Name) && (c.Pinned || !pinning));
                    foreach (var @case in cases)
                    {
                        Progress($"{step}: {@case.Name}");
                        if (@case.Pinned)
                        {
                            ServerFacts.Pin(server.Id, "0");
                            ServerFacts.Pin(Environment.ProcessId, "1");
                        }
                        var sampled = @case is { Clients: 50, Pinned: false } ? SampleHalfwayAsync(server.Id,
                            options.Seconds) : null;
                        var switches = @case is { Pinned: true, Pipeline: 1 } ? SwitchesMidRunAsync(server.Id,
                            options.Seconds) : null;
                        var result = await Load.RunAsync(at with { Clients = @case.Clients, Pipeline = @case.Pipeline },
                            contender.Dialect);
                        var opsPerSecond = result.Requests / result.Elapsed.TotalSeconds;
                        if (@case.Pinned)
                        {
                            ServerFacts.Pin(server.Id, all);
                            ServerFacts.Pin(Environment.ProcessId, all);
                        }
                        if (result.Errors > 0) throw new IOException($"{contender.Name} answered {result.Errors} " +
                            $"requests with an error");
                        Add(contender.Name, $"{@case.Name}: ops/s", opsPerSecond);
                        Add(contender.Name, $"{@case.Name}: p50 / p99 ms", result.Percentile(0.50));
                        Add(contender.Name, $"{@case.Name}: p99", result.Percentile(0.99));
                        if (switches is not null) Add(contender.Name, $"{@case.Name}: thread switches a request",
                            await switches / (opsPerSecond * options.Seconds / 2));
                        if (sampled is not null)
                        {
                            var (threads, rss) = await sampled;
                            Add(contender.Name, "50 clients: server threads", threads);
                            Add(contender.Name, "50 clients: server RSS MB", rss / 1048576.0);
                        }
                    }
                }
                finally
                {
                    server.Kill(entireProcessTree: true);
                    await server.WaitForExitAsync();
                }
            }
        Progress(null);
        Console.WriteLine(Table(contenders.Select(c => c.Name).ToList(), cells, options));
        return 0;
    }

    /// <summary>
    /// The table: a row a measure, a column a server; ops/s also as a ratio to Redis's when Redis ran.
    /// </summary>
    private static string Table(List<string> names, Dictionary<(string, string), List<double>> cells,
        BenchOptions options)
    {
        double? Median(string name, string row) =>
            cells.TryGetValue((name, row), out var values) ? values.Order().ElementAt(values.Count / 2) : null;
        var redis = names.FirstOrDefault(name => name.StartsWith("Redis"));
        var text = new StringBuilder();
        text.AppendLine($"| {options.ValueSize}-byte values, {options.Keys:N0} keys, {options.GetRatio:P0} gets, " +
            $"{options.Seconds:0.#} s a case, median of {options.Rounds} | {string.Join(" | ", names)} |");
        text.AppendLine($"|---|{string.Concat(names.Select(_ => "---:|"))}");
        // The load's rows in the order they ran, then the idle connections' (measured first, shown last).
        var rows = cells.Keys.Select(key => key.Item2).Distinct().Where(row => !row.EndsWith(": p99"))
            .OrderBy(row => row.Contains(" idle connections")).ToList();
        foreach (var row in rows)
        {
            var values = names.Select(name =>
            {
                if (Median(name, row) is not { } value) return "-";
                if (row.EndsWith("ops/s"))
                {
                    var ratio = redis is not null && name != redis && Median(redis,
                        row) is { } theirs ? $" ({value / theirs:0.00}x)" : "";
                    return $"{value:N0}{ratio}";
                }
                if (row.EndsWith("p50 / p99 ms")) return $"{value:0.00} / " +
                    $"{Median(name, row.Replace("p50 / p99 ms", "p99")):0.00}";
                return row.EndsWith("threads") ? $"{value:N0}" : row.EndsWith("a request")
                    ? $"{value:0.00}" : $"{value:0.0}";
            });
            text.AppendLine($"| {row} | {string.Join(" | ", values)} |");
        }
        var cores = Environment.ProcessorCount;
        text.Append($"{cores} cores, {Environment.OSVersion}, .NET {Environment.Version}; pinned: server on core 0, " +
            $"load on core 1.");
        return text.ToString();
    }

    /// <summary>The server's --threading models, from a thread a client to event loops (docs/threading.md).</summary>
    public static readonly string[] ThreadingModelNames = ["per-client", "pool", "loops"];

    private static Contender KV(string dll, string model) => new($"KV {model}", WireDialect.KV,
        () => Task.FromResult(Launch("dotnet", dll, "0", "--bind", "127.0.0.1", "--threading", model,
            "--max-clients", "100000")),
        async server =>
        {
            // The start line names the port; every later line (a line a connection) is read and dropped.
            while (await server.StandardOutput.ReadLineAsync() is { } line)
                if (Regex.Match(line, @"^KV server listening on \S+:(\d+) ") is { Success: true } match)
                {
                    _ = server.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
                    return int.Parse(match.Groups[1].Value);
                }
            throw new IOException($"KVServer ({model}) ended before it listened: " +
                $"{await server.StandardError.ReadToEndAsync()}");
        });

    internal static Contender Redis(string version)
    {
        var port = FreePort();
        return new($"Redis {version}", WireDialect.Redis,
            () => Task.FromResult(Launch("redis-server", "--port", port.ToString(), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no",
                "--maxclients", "100000", "--loglevel", "warning")),
            async server =>
            {
                _ = server.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
                for (var tries = 0; tries < 100; tries++)
                {
                    using var probe = new Socket(SocketType.Stream, ProtocolType.Tcp);
                    try
                    {
                        await probe.ConnectAsync(IPAddress.Loopback, port);
                        return port;
                    }
                    catch (SocketException)
                    {
                        await Task.Delay(50);
                    }
                }
                throw new IOException($"redis-server did not listen on port {port}");
            });
    }

    internal static Process Launch(string program, params string[] arguments) =>
        Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true,
            RedirectStandardError = true })!;

    internal static async Task<string> BuildServerAsync(string root)
    {
        var build = new ProcessStartInfo("dotnet", ["build", "KVServer.cs", "-t:Build", "-getProperty:TargetPath",
            "-nologo"])
            { WorkingDirectory = root, RedirectStandardOutput = true };
        using var process = Process.Start(build)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        var dll = output.Trim().Split('\n').Last().Trim();
        return process.ExitCode == 0 && File.Exists(dll)
            ? dll : throw new IOException($"could not build KVServer.cs:\n{output}");
    }

    internal static string? RedisVersion()
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("redis-server",
                ["--version"]) { RedirectStandardOutput = true })!;
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return Regex.Match(output, @"v=(\S+)") is { Success: true } match ? match.Groups[1].Value : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // not installed
        }
    }

    internal static int FreePort()
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>
    /// The server's thread switches in the middle half of a run, counted while its threads live (a thread a client
    /// ends with its client, and its count with it).
    /// </summary>
    private static async Task<long> SwitchesMidRunAsync(int pid, double seconds)
    {
        await Task.Delay(TimeSpan.FromSeconds(seconds / 4));
        var before = ServerFacts.ContextSwitches(pid);
        await Task.Delay(TimeSpan.FromSeconds(seconds / 2));
        return ServerFacts.ContextSwitches(pid) - before;
    }

    /// <summary>The server's threads and resident bytes halfway through a run: under load, not after it.</summary>
    private static async Task<(int Threads, long Rss)> SampleHalfwayAsync(int pid, double seconds)
    {
        await Task.Delay(TimeSpan.FromSeconds(seconds / 2));
        return (ServerFacts.Threads(pid), ServerFacts.ResidentBytes(pid));
    }

    /// <summary>
    /// Opens `count` connections that send nothing, once the server has settled: the resident memory they add,
    /// divided among them, and the server's threads while they are open.
    /// </summary>
    private static async Task<(int Threads, double BytesEach)> IdleAsync(BenchOptions at, int pid, int count)
    {
        GC.Collect();
        await Task.Delay(1000);
        var before = ServerFacts.ResidentBytes(pid);
        var sockets = new List<Socket>(count);
        try
        {
            for (var i = 0; i < count; i++) sockets.Add(await Load.ConnectAsync(at));
            // Every connection has been accepted and served once when a last one's ping comes back.
            await using (var last = await LoadConnection.OpenAsync(at, at.Redis ? WireDialect.Redis : WireDialect.KV))
            {
                Wire.Get(last.Batch, at.Redis ? WireDialect.Redis : WireDialect.KV, 0);
                await last.SendBatchAsync(1, null);
            }
            await Task.Delay(1000);
            return (ServerFacts.Threads(pid), (ServerFacts.ResidentBytes(pid) - before) / (double)count);
        }
        finally
        {
            foreach (var socket in sockets) socket.Dispose();
        }
    }

    /// <summary>One progress line on standard error, rewritten in place; null wipes it.</summary>
    private static void Progress(string? step)
    {
        if (Console.IsErrorRedirected) return;
        var line = step is null ? "" : $"models: {step}";
        Console.Error.Write($"\r{line,-79}"[..80] + (step is null ? "\r" : ""));
    }
}
