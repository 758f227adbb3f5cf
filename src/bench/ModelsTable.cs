// src/bench/ModelsTable.cs: `dotnet bench.cs -- --models`, the table a teacher projects. KV is started in each
// threading model in turn (a thread each, the pool, an event loop a core), and Redis beside them when
// redis-server is installed, each on a free port of its own, and each meets the same load: 1 to 1,000 clients and
// 50 pipelined 16 deep with the server started on one core and the load on another, where perf counts what a
// request costs the server; 50 on both cores (a server started again), with its threads and memory; Redis's
// redis-benchmark against each RESP port (RedisBenchmark.cs); and the memory an idle connection costs. Rounds
// alternate the servers; the table gives medians and spreads (ModelsReport.cs), --svg draws them (ModelsCharts.cs),
// --save keeps every value. --quick fits a class slot: the pinned 50 clients, with and without depth 16, short,
// after a warm-up.

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace KV;

static class ModelsTable
{
    private sealed record Case(string Name, int Clients, int Pipeline, bool Pinned);

    /// <summary>The cases of --quick: the two a class compares, each server on its own core.</summary>
    private static readonly string[] QuickCases = ["50 clients, pinned", "50 clients, depth 16, pinned", "50 clients"];

    private static readonly Case[] Cases =
    [
        new("1 client, pinned", 1, 1, true),
        new("10 clients, pinned", 10, 1, true),
        new("50 clients, pinned", 50, 1, true),
        new("200 clients, pinned", 200, 1, true),
        new("1,000 clients, pinned", 1000, 1, true),
        new("50 clients, depth 16, pinned", 50, 16, true),
        new("50 clients", 50, 1, false),
    ];

    /// <summary>One server under test: how to start it, its dialect, and its ports (KV's own, and RESP).</summary>
    /// <remarks>Start takes the cores to start it on (taskset's list), or null for every core.</remarks>
    internal sealed record Contender(string Name, WireDialect Dialect, Func<string?, Task<Process>> Start,
        Func<Process, Task<(int Port, int RespPort)>> PortsOf);

    public static async Task<int> RunAsync(BenchOptions options)
    {
        if (options.Report is { } saved) return Show(Measurements.Load(saved), options);
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
        var run = new Measurements
        {
            Machine = Machine(pinning), Date = $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC",
            Command = $"dotnet bench.cs -- {string.Join(' ', Environment.GetCommandLineArgs().Skip(1))}",
            Shape = $"{options.ValueSize}-byte values, {options.Keys:N0} keys, {options.GetRatio:P0} gets, " +
                $"{options.Seconds:0.#} s a case",
            Rounds = options.Rounds, Contenders = [.. contenders.Select(c => c.Name)],
        };

        // --quick: the pinned cases where there are two cores to pin to, else 50 clients unpinned.
        var cases = Cases.Where(c => pinning || !c.Pinned)
            .Where(c => !options.Quick || QuickCases.Contains(c.Name) && (c.Pinned || !pinning)).ToList();
        for (var round = 1; round <= options.Rounds; round++)
            foreach (var contender in contenders)
            {
                var step = $"round {round}/{options.Rounds}, {contender.Name}";
                // The pinned cases meet a server started on core 0, as a server given one core is started: it sizes
                // its threads for the core it sees (started on two, then pinned, its two loops take turns on one
                // core, and each turn is a wait in the tail). The unpinned case meets a server started on every core.
                foreach (var pinned in pinning ? [true, false] : new[] { false })
                {
                    var theirs = cases.Where(c => c.Pinned == pinned).ToList();
                    if (theirs.Count == 0) continue;
                    // The round's first server also meets the idle connections and redis-benchmark.
                    var first = pinned || !pinning;
                    Progress($"{step}: starting{(pinned ? " on core 0" : "")}, filling {options.Keys:N0} keys");
                    using var server = await contender.Start(pinned ? "0" : null);
                    try
                    {
                        var (port, respPort) = await contender.PortsOf(server);
                        var at = options with { Port = port, Redis = contender.Dialect == WireDialect.Redis,
                            Quiet = true, Idle = 0 };
                        await Load.PrefillAsync(at, contender.Dialect);
                        // The idle connections before any load, so that the memory they add is theirs, not a heap
                        // the load has already grown.
                        if (first)
                        {
                            Progress($"{step}: {idle:N0} idle connections");
                            var (idleThreads, bytesEach) = await IdleAsync(at, server.Id, idle);
                            run.Add(contender.Name, $"{idle:N0} idle connections: KB each", bytesEach / 1024.0);
                            run.Add(contender.Name, $"{idle:N0} idle connections: server threads", idleThreads);
                            await SettleAsync(server.Id);
                        }
                        // Cases this short would measure the JIT at work: --quick warms each server up first.
                        if (options.Quick) await Load.RunAsync(at with { Clients = 50, Seconds = 1 },
                            contender.Dialect);
                        foreach (var @case in theirs)
                        {
                            Progress($"{step}: {@case.Name}");
                            await MeasureAsync(run, contender.Name, server.Id, at, @case, contender.Dialect);
                        }
                        if (RedisBenchmark.Installed && !options.Quick && first)
                        {
                            Progress($"{step}: redis-benchmark");
                            await SecondGeneratorAsync(run, contender.Name, respPort, at, pinning);
                        }
                    }
                    finally
                    {
                        server.Kill(entireProcessTree: true);
                        await server.WaitForExitAsync();
                    }
                }
                // Kept as it goes: a run stopped halfway keeps what it measured.
                if (options.Save is { } file) run.Save(file);
            }
        Progress(null);
        return Show(run, options);
    }

    /// <summary>Prints the table, and draws the charts with --svg.</summary>
    private static int Show(Measurements run, BenchOptions options)
    {
        Console.WriteLine(ModelsReport.Table(run));
        if (options.Svg is { } directory)
            foreach (var file in ModelsCharts.Write(run, directory)) Console.WriteLine($"wrote {file}");
        return 0;
    }

    private static string Machine(bool pinning) =>
        $"{Environment.ProcessorCount} cores ({CpuModel()}), {Environment.OSVersion}, .NET {Environment.Version}" +
        (pinning ? "; pinned: server on core 0, load on core 1" : "");

    private static string CpuModel()
    {
        try
        {
            var cpu = File.ReadAllText("/proc/cpuinfo");
            return Regex.Match(cpu, @"(?m)^model name\s*:\s*(.+)$").Groups[1].Value.Trim();
        }
        catch (IOException)
        {
            return "unknown processor";
        }
    }

    /// <summary>One case against one server: its ops/s and latencies, and what the server spent on it.</summary>
    private static async Task MeasureAsync(Measurements run, string name, int pid, BenchOptions at, Case @case,
        WireDialect dialect)
    {
        if (@case.Pinned) PinLoad(true);
        // The server's cost a request, counted over the middle half of the run (no start, no end).
        var profiled = @case is { Pinned: true, Clients: 50 };
        var sampled = @case is { Clients: 50, Pinned: false } ? SampleHalfwayAsync(pid, at.Seconds) : null;
        var switches = profiled ? SwitchesMidRunAsync(pid, at.Seconds) : null;
        var counted = profiled && PerfStat.Installed ? CountMidRunAsync(pid, at.Seconds) : null;
        var result = await Load.RunAsync(at with { Clients = @case.Clients, Pipeline = @case.Pipeline }, dialect);
        var opsPerSecond = result.Requests / result.Elapsed.TotalSeconds;
        if (@case.Pinned) PinLoad(false);
        if (result.Errors > 0) throw new IOException($"{name} answered {result.Errors} requests with an error");
        run.Add(name, $"{@case.Name}: ops/s", opsPerSecond);
        run.Add(name, $"{@case.Name}: p50 / p99 ms", result.Percentile(0.50));
        run.Add(name, $"{@case.Name}: p99", result.Percentile(0.99));
        var requestsMidRun = opsPerSecond * at.Seconds / 2;
        if (counted is not null && await counted is { } counts)
        {
            run.Add(name, $"{@case.Name}: CPU µs a request", counts.CpuMilliseconds * 1000 / requestsMidRun);
            run.Add(name, $"{@case.Name}: system calls a request", counts.SystemCalls / requestsMidRun);
            run.Add(name, $"{@case.Name}: epoll_wait a request", counts.EpollWaits / requestsMidRun);
        }
        if (switches is not null) run.Add(name, $"{@case.Name}: thread switches a request", await switches /
            requestsMidRun);
        if (sampled is not null)
        {
            var (threads, rss) = await sampled;
            run.Add(name, "50 clients: server threads", threads);
            run.Add(name, "50 clients: server RSS MB", rss / 1048576.0);
        }
    }

    /// <summary>redis-benchmark's SET and GET against the server's RESP port, on the load's core as the cases are.
    /// </summary>
    private static async Task SecondGeneratorAsync(Measurements run, string name, int respPort, BenchOptions at,
        bool pinning)
    {
        var requests = (int)Math.Max(10_000, at.Seconds * 60_000);
        var pinned = pinning ? ", pinned" : "";
        foreach (var (test, opsPerSecond, p50, p99) in await RedisBenchmark.RunAsync(respPort, at, requests,
            pinning ? "1" : null))
        {
            var row = $"redis-benchmark -c {RedisBenchmark.Clients} {test}{pinned}";
            run.Add(name, $"{row}: ops/s", opsPerSecond);
            run.Add(name, $"{row}: p50 / p99 ms", p50);
            run.Add(name, $"{row}: p99", p99);
        }
    }

    /// <summary>This load generator to core 1 (the server is on core 0 from its start), or back onto every core.
    /// </summary>
    private static void PinLoad(bool pinned) =>
        ServerFacts.Pin(Environment.ProcessId, pinned ? "1" : $"0-{Environment.ProcessorCount - 1}");

    /// <summary>The server's --threading models, from a thread a client to event loops (docs/threading.md).</summary>
    public static readonly string[] ThreadingModelNames = ["per-client", "pool", "loops"];

    internal static Contender KV(string dll, string model) => new($"KV {model}", WireDialect.KV,
        cpus => Task.FromResult(Launch(cpus, "dotnet", dll, "0", "--bind", "127.0.0.1", "--resp-port", "0",
            "--threading", model, "--max-clients", "100000")),
        async server =>
        {
            // The start line names the ports; every later line (a line a connection) is read and dropped.
            while (await server.StandardOutput.ReadLineAsync() is { } line)
                if (Regex.Match(line, @"^KV server listening on \S+:(\d+) and RESP on \S+:(\d+) ") is
                    { Success: true } match)
                {
                    _ = server.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
                    return (int.Parse(match.Groups[1].Value), int.Parse(match.Groups[2].Value));
                }
            throw new IOException($"KVServer ({model}) ended before it listened: " +
                $"{await server.StandardError.ReadToEndAsync()}");
        });

    internal static Contender Redis(string version)
    {
        var port = FreePort();
        return new($"Redis {version}", WireDialect.Redis,
            cpus => Task.FromResult(Launch(cpus, "redis-server", "--port", port.ToString(), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--maxclients", "100000", "--loglevel", "warning")),
            async server =>
            {
                _ = server.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
                for (var tries = 0; tries < 100; tries++)
                {
                    using var probe = new Socket(SocketType.Stream, ProtocolType.Tcp);
                    try
                    {
                        await probe.ConnectAsync(IPAddress.Loopback, port);
                        return (port, port);
                    }
                    catch (SocketException)
                    {
                        await Task.Delay(50);
                    }
                }
                throw new IOException($"redis-server did not listen on port {port}");
            });
    }

    /// <summary>Starts a server, on `cpus` when given (taskset, which becomes the server: one process).</summary>
    internal static Process Launch(string? cpus, string program, params string[] arguments) =>
        Process.Start(new ProcessStartInfo(cpus is null ? program : "taskset",
            cpus is null ? arguments : ["-c", cpus, program, .. arguments])
            { RedirectStandardOutput = true, RedirectStandardError = true })!;

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

    internal static string? RedisVersion() =>
        Ask("redis-server", "--version") is { } said && Regex.Match(said, @"v=(\S+)") is { Success: true } match
            ? match.Groups[1].Value : null;

    /// <summary>What `program argument` prints (its --version); null when it is not installed or fails.</summary>
    internal static string? Ask(string program, string argument)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(program, [argument])
                { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var output = process.StandardOutput.ReadToEnd();
            process.StandardError.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 ? output : null;
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

    /// <summary>
    /// Waits until the server's threads stop ending: a thread a client takes seconds to end ten thousand, and a first
    /// case pinned beside them would measure that.
    /// </summary>
    private static async Task SettleAsync(int pid)
    {
        for (int tries = 0, before = -1, now; tries < 120 && (now = ServerFacts.Threads(pid)) != before; tries++)
        {
            before = now;
            await Task.Delay(500);
        }
    }

    /// <summary>What perf counts of the server in the middle half of a run.</summary>
    private static async Task<PerfStat.Counts?> CountMidRunAsync(int pid, double seconds)
    {
        await Task.Delay(TimeSpan.FromSeconds(seconds / 4));
        return await PerfStat.CountAsync(pid, seconds / 2);
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
