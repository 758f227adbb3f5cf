#!/usr/bin/env dotnet
// bench.cs: a closed-loop load generator, like redis-benchmark, that measures KV and Redis with the same client.
//
//   dotnet bench.cs -- [--host H] [--port P] [--clients N] [--seconds S | --requests R] [--value-size B]
//                      [--keys K] [--pipeline D] [--get-ratio F] [--idle N] [--server-pid PID] [--redis]
//                      [--server-cpus LIST --load-cpus LIST]
//   dotnet bench.cs -- --models [--seconds S] [--rounds N] [--quick] [--svg DIR] [--save FILE]
//                                                  (KV in each model, and Redis: one table, and its charts)
//   dotnet bench.cs -- --report FILE [--svg DIR]   (the table and charts of a run saved with --save)
//   dotnet bench.cs -- --race [--clients N] [--increments I] [--svg FILE]
//                            (get-then-set against incr: the lost update, judged by the linearizability checker)
//   dotnet bench.cs -- --pubsub --port P [--seconds S]           (one publisher to 1, 10, 100 subscribers, over RESP)
//   dotnet bench.cs -- --queue --port P [--seconds S]   (producers RPUSH, consumers BLPOP: jobs a second, their wait)
//   dotnet bench.cs -- --memory [--elements N] [--unlike] [--rounds R]   (a list, hash, set, sorted set: bytes each)
//
// It fills K keys first, then runs N connections, each with D requests in flight: write D requests in one
// write, read D replies, repeat. Each request's latency runs from its batch's write to its reply. It shows a
// live progress line on a terminal, then prints ops/s, latency percentiles and errors. With --redis it speaks
// Redis's inline commands (`SET k v`, `GET k`) and reads RESP replies, so both servers meet the same client.

#:include Protocol.cs
#:include src/bench/*.cs
#:include src/checking/*.cs

using System.Net.Sockets;
using KV;

// The load generator runs its socket continuations inline on .NET's epoll threads, the cheapest client .NET
// has, so that on a small machine most of the CPU goes to the server being measured. Set before the first
// socket is made; run with DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=0 to measure with a ThreadPool client.
if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");

BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (FormatException e)
{
    Console.WriteLine($"ERROR: {e.Message}\n{BenchOptions.Usage}");
    return 2;
}
if (options.ShowHelp)
{
    Console.WriteLine(BenchOptions.Usage);
    return 0;
}

if (options.Models) return await ModelsTable.RunAsync(options);
if (options.Memory) return await MemoryBench.RunAsync(options);
if (options.Race || options.PubSub || options.Queue)
{
    try
    {
        return options.Race ? await Race.RunAsync(options)
            : options.Queue ? await QueueBench.RunAsync(options) : await PubSubBench.RunAsync(options);
    }
    catch (Exception e) when (e is SocketException or IOException)
    {
        Console.WriteLine($"ERROR: {options.Host}:{options.Port}: {e.Message}");
        return 1;
    }
}

var protocol = options.Redis ? WireDialect.Redis : WireDialect.KV;
try
{
    if (options.ServerCpus is { } serverCpus) ServerFacts.Pin(options.ServerPid!.Value, serverCpus);
    if (options.LoadCpus is { } loadCpus) ServerFacts.Pin(Environment.ProcessId, loadCpus);
}
catch (Exception e) when (e is IOException or System.ComponentModel.Win32Exception)
{
    Console.WriteLine($"ERROR: {e.Message}");
    return 2;
}
var idle = new List<Socket>();
try
{
    for (var i = 0; i < options.Idle; i++) idle.Add(await Load.ConnectAsync(options));
    await Load.PrefillAsync(options, protocol);
    var result = await Load.RunAsync(options, protocol);
    Console.WriteLine(result.Report(options));
    if (options.ServerPid is { } pid) Console.WriteLine(ServerFacts.Read(pid));
    return result.Errors == 0 ? 0 : 1;
}
catch (Exception e) when (e is SocketException or IOException)
{
    Console.WriteLine($"ERROR: {options.Host}:{options.Port}: {e.Message}");
    return 1;
}
finally
{
    foreach (var socket in idle) socket.Dispose();
}

sealed record BenchOptions(
    string Host, int Port, int Clients, double Seconds, long? Requests, int ValueSize, int Keys, int Pipeline,
    double GetRatio, int Idle, int? ServerPid, bool Redis, bool ShowHelp, string? ServerCpus = null,
        string? LoadCpus = null,
    bool Models = false, int Rounds = 1, bool Quiet = false, bool Race = false, int Increments = 1000,
    bool PubSub = false, string? Svg = null, bool Queue = false, bool Quick = false, bool Memory = false,
    int Elements = 1_000_000, bool Unlike = false, string? Save = null, string? Report = null)
{
    public const string Usage = """
        usage: dotnet bench.cs -- [options]
          --host H          server host (default 127.0.0.1)
          --port P          server port (default 9000, or 6379 with --redis)
          --clients N       connections sending at once (default 50)
          --seconds S       run for S seconds (default 10)
          --requests R      or stop after R requests
          --value-size B    bytes per value (default 100)
          --keys K          distinct keys, filled before the run (default 100000); keys are 16 bytes
          --pipeline D      requests in flight per connection (default 1)
          --get-ratio F     share of gets, the rest are sets (default 0.5)
          --idle N          open N idle connections first and hold them during the run (default 0)
          --server-pid PID  print the server's RSS and thread count at the end
          --server-cpus L   pin every thread of the server (--server-pid) to these cores (taskset list: 0 or 0-1)
          --load-cpus L     pin this load generator to these cores, so that both get a known share
          --redis           speak Redis (inline commands, RESP replies) instead of KV
          --models          start KV in each threading model in turn (and Redis, when redis-server is
                            installed), each on a free port, and print one table: 1, 10, 50, 200 and 1,000
                            clients and 50 at depth 16 pinned (server core 0, load core 1) with what perf counts
                            a request, 50 on both cores with the server's threads and memory, redis-benchmark
                            SET and GET (when installed) against each RESP port, and --idle connections
                            (default 10,000); run from the repository's root
          --rounds N        with --models: rounds, alternating the servers; the table gives medians and the
                            lowest and highest, ratios to Redis round by round (default 5; 1 with --quick)
          --quick           with --models: the run for a class slot, under a minute: 50 clients pinned, with and
                            without depth 16, 2 s each, 10,000 keys, 1,000 idle connections, one round
          --save FILE       with --models: keep every round's value of every cell in FILE (JSON)
          --report FILE     print the table of a run saved with --save, again (and --svg: its charts)
          --race            every client adds 1 to one counter with get then set, then with incr; prints the
                            expected total, what is stored, and the updates lost (--clients, default 50)
          --increments I    with --race: increments a client (default 1000)
          --svg FILE        with --race: draw the lost update found as a timeline (SVG), a row per client
          --svg DIR         with --models or --report: draw the charts into DIR (ops/s and p99 against the
                            clients, a line a server; the memory of an idle connection)
          --pubsub          one publisher (16 PUBLISH in flight, 100-byte messages) to 1, 10 and 100 subscribers of
                            one channel, over RESP (KV's --resp-port, or Redis): messages published and delivered
                            a second
          --queue           producers RPUSH 100-byte jobs onto one list, consumers BLPOP them one at a time, over
                            RESP: jobs pushed and taken a second, left queued, and each job's wait (p50, p99)
          --memory          a fresh KV and a fresh Redis for each of a list, hash, set and sorted set, filled with
                            --elements (default 1,000,000) element:N in one key: the resident size's growth an
                            element, as a table (--rounds: medians); run from the repository's root
          --elements N      with --memory: how many elements
          --unlike          with --memory: 14 random hex digits an element, no two sharing a prefix
        """;

    public static BenchOptions Parse(string[] args)
    {
        var roundsGiven = 0;
        var o = new BenchOptions("127.0.0.1", 0, 50, 10, null, 100, 100_000, 1, 0.5, 0, null, false, false);
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            string Next() => i + 1 < args.Length ? args[++i] : throw new FormatException($"{name} needs a value");
            int Int(int min) => int.TryParse(Next(),
                out var n) && n >= min ? n : throw new FormatException($"invalid value '{args[i]}' for {name}");
            double Real(double min, double max) =>
                double.TryParse(Next(), System.Globalization.CultureInfo.InvariantCulture,
                    out var d) && d >= min && d <= max
                    ? d : throw new FormatException($"invalid value '{args[i]}' for {name}");
            o = name switch
            {
                "--host" => o with { Host = Next() },
                "--port" => o with { Port = Int(1) },
                "--clients" => o with { Clients = Int(1) },
                "--seconds" => o with { Seconds = Real(0.1, 86_400), Requests = null },
                "--requests" => o with { Requests = Int(1) },
                "--value-size" => o with { ValueSize = Int(1) },
                "--keys" => o with { Keys = Int(1) },
                "--pipeline" => o with { Pipeline = Int(1) },
                "--get-ratio" => o with { GetRatio = Real(0, 1) },
                "--idle" => o with { Idle = Int(0) },
                "--server-pid" => o with { ServerPid = Int(1) },
                "--server-cpus" => o with { ServerCpus = Next() },
                "--load-cpus" => o with { LoadCpus = Next() },
                "--redis" => o with { Redis = true },
                "--models" => o with { Models = true },
                "--rounds" => o with { Rounds = roundsGiven = Int(1) },
                "--quick" => o with { Quick = true },
                "--race" => o with { Race = true },
                "--increments" => o with { Increments = Int(1) },
                "--svg" => o with { Svg = Next() },
                "--pubsub" => o with { PubSub = true },
                "--queue" => o with { Queue = true },
                "--memory" => o with { Memory = true },
                "--elements" => o with { Elements = Int(1) },
                "--unlike" => o with { Unlike = true },
                "--save" => o with { Save = Next() },
                "--report" => o with { Report = Next(), Models = true },
                "--help" or "-h" => o with { ShowHelp = true },
                _ => throw new FormatException($"unknown option '{name}'"),
            };
        }
        if (o.ServerCpus is not null
            && o.ServerPid is null) throw new FormatException("--server-cpus needs --server-pid");
        if (o.Quick && !o.Models) throw new FormatException("--quick goes with --models");
        if ((o.Unlike || o.Elements != 1_000_000) && !o.Memory)
            throw new FormatException("--elements and --unlike go with --memory");
        if (o.Save is not null && (!o.Models || o.Report is not null))
            throw new FormatException("--save goes with --models");
        if (o.Svg is not null && !o.Models && !o.Race) throw new FormatException("--svg goes with --models or --race");
        if (o.Models && roundsGiven == 0) o = o with { Rounds = 5 };
        if (o.Quick) o = o with { Seconds = 2, Rounds = 1, Keys = 10_000, Idle = o.Idle > 0 ? o.Idle : 1_000 };
        return o.Port == 0 ? o with { Port = o.Redis ? 6379 : 9000 } : o;
    }
}
