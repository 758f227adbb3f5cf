#!/usr/bin/env dotnet
// bench.cs: a closed-loop load generator, like redis-benchmark, that measures KV and Redis with the same client.
//
//   dotnet bench.cs -- [--host H] [--port P] [--clients N] [--seconds S | --requests R] [--value-size B]
//                      [--keys K] [--pipeline D] [--get-ratio F] [--idle N] [--server-pid PID] [--redis]
//                      [--server-cpus LIST --load-cpus LIST]
//
// It fills K keys first, then runs N connections, each with D requests in flight: write D requests in one
// write, read D replies, repeat. Each request's latency runs from its batch's write to its reply. It shows a
// live progress line on a terminal, then prints ops/s, latency percentiles and errors. With --redis it speaks
// Redis's inline commands (`SET k v`, `GET k`) and reads RESP replies, so both servers meet the same client.

#:include Protocol.cs

using System.Buffers;
using System.Buffers.Text;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using KV;

// The load generator runs its socket continuations inline on .NET's epoll threads, the cheapest client .NET
// has, so that on a small machine most of the CPU goes to the server being measured. Only the benchmark does
// this: the server keeps every client's work on the ThreadPool. Set before the first socket is made; run with
// DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=0 to measure with a ThreadPool client instead.
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
    double GetRatio, int Idle, int? ServerPid, bool Redis, bool ShowHelp, string? ServerCpus = null, string? LoadCpus = null)
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
        """;

    public static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions("127.0.0.1", 0, 50, 10, null, 100, 100_000, 1, 0.5, 0, null, false, false);
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            string Next() => i + 1 < args.Length ? args[++i] : throw new FormatException($"{name} needs a value");
            int Int(int min) => int.TryParse(Next(), out var n) && n >= min ? n : throw new FormatException($"invalid value '{args[i]}' for {name}");
            double Real(double min, double max) =>
                double.TryParse(Next(), System.Globalization.CultureInfo.InvariantCulture, out var d) && d >= min && d <= max ? d : throw new FormatException($"invalid value '{args[i]}' for {name}");
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
                "--help" or "-h" => o with { ShowHelp = true },
                _ => throw new FormatException($"unknown option '{name}'"),
            };
        }
        if (o.ServerCpus is not null && o.ServerPid is null) throw new FormatException("--server-cpus needs --server-pid");
        return o.Port == 0 ? o with { Port = o.Redis ? 6379 : 9000 } : o;
    }
}

enum WireDialect { KV, Redis }

/// <summary>Writes requests and reads replies of one dialect, straight from and into byte buffers.</summary>
static class Wire
{
    public const int KeyLength = 16;

    public static void Key(Span<byte> destination, int index)
    {
        "key:"u8.CopyTo(destination);
        Utf8Formatter.TryFormat(index, destination[4..KeyLength], out _, new StandardFormat('D', 12));
    }

    /// <summary>`set KEY VALUE` (Redis takes the same line as an inline command).</summary>
    public static void Set(IBufferWriter<byte> output, WireDialect dialect, int key, ReadOnlySpan<byte> value)
    {
        Span<byte> keyAndSpace = stackalloc byte[KeyLength + 1];
        Key(keyAndSpace, key);
        keyAndSpace[KeyLength] = (byte)' ';
        LineFraming.WriteLine(output, dialect == WireDialect.Redis ? "SET "u8 : SetName, keyAndSpace, value);
    }

    /// <summary>`get KEY`.</summary>
    public static void Get(IBufferWriter<byte> output, WireDialect dialect, int key)
    {
        Span<byte> name = stackalloc byte[KeyLength];
        Key(name, key);
        LineFraming.WriteLine(output, dialect == WireDialect.Redis ? "GET "u8 : GetName, name);
    }

    private static readonly byte[] SetName = Encoding.ASCII.GetBytes(Commands.Of(CommandKind.Set).Name + " ");
    private static readonly byte[] GetName = Encoding.ASCII.GetBytes(Commands.Of(CommandKind.Get).Name + " ");

    /// <summary>Cuts one whole reply off the buffer. False when it is not all there yet.</summary>
    public static bool TryReadReply(ref ReadOnlySequence<byte> buffer, WireDialect dialect, out bool isError)
    {
        isError = false;
        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryReadTo(out ReadOnlySequence<byte> line, (byte)'\n')) return false;
        var first = line.FirstSpan[0];
        if (dialect == WireDialect.KV)
        {
            isError = first == (byte)'E';
        }
        else if (first == (byte)'-')
        {
            isError = true;
        }
        else if (first == (byte)'$')
        {
            Span<byte> digits = stackalloc byte[16];
            var header = line.Slice(1, Math.Min(line.Length - 1, digits.Length));
            header.CopyTo(digits);
            Utf8Parser.TryParse(digits[..(int)header.Length], out int length, out _);
            if (length < 0) isError = true;
            else if (reader.Remaining < length + 2) return false;
            else reader.Advance(length + 2);
        }
        buffer = buffer.Slice(reader.Position);
        return true;
    }
}

sealed record LoadResult(long Requests, long Errors, TimeSpan Elapsed, long[] LatencyTicks)
{
    public string Report(BenchOptions o)
    {
        Array.Sort(LatencyTicks);
        string Ms(double p) => LatencyTicks.Length == 0 ? "-" :
            (LatencyTicks[Math.Min(LatencyTicks.Length - 1, (int)(p * LatencyTicks.Length))] * 1000.0 / Stopwatch.Frequency).ToString("0.000");
        var server = o.Redis ? "Redis" : "KV";
        return $"""
            {server} {o.Host}:{o.Port}: {(o.Clients == 1 ? "1 client" : $"{o.Clients} clients")}, pipeline {o.Pipeline}, {o.ValueSize}-byte values, {o.Keys} keys, {o.GetRatio:P0} gets, {Elapsed.TotalSeconds:0.0} s{(o.Idle > 0 ? $", {o.Idle} idle connections" : "")}
            requests: {Requests}  ops/s: {Requests / Elapsed.TotalSeconds:0}  errors: {Errors}
            latency ms: p50 {Ms(0.50)}  p90 {Ms(0.90)}  p99 {Ms(0.99)}  p99.9 {Ms(0.999)}  max {Ms(1.0)}
            """;
    }
}

static class Load
{
    public static async Task<Socket> ConnectAsync(BenchOptions o)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(o.Host, o.Port);
        return socket;
    }

    /// <summary>Sets every key once, 8 connections deep-pipelined, so every get of the run finds its key.</summary>
    public static async Task PrefillAsync(BenchOptions o, WireDialect dialect)
    {
        var value = Enumerable.Repeat((byte)'v', o.ValueSize).ToArray();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, Math.Min(8, o.Keys)).Select(async _ =>
        {
            await using var connection = await LoadConnection.OpenAsync(o, dialect);
            while (true)
            {
                var count = 0;
                for (int key; count < 512 && (key = Interlocked.Increment(ref next)) < o.Keys; count++) Wire.Set(connection.Batch, dialect, key, value);
                if (count == 0) return;
                if (await connection.SendBatchAsync(count, null) > 0) throw new IOException("the server refused a set while filling the keys");
            }
        }));
    }

    public static async Task<LoadResult> RunAsync(BenchOptions o, WireDialect dialect)
    {
        var started = Stopwatch.GetTimestamp();
        var deadline = o.Requests is null ? started + (long)(o.Seconds * Stopwatch.Frequency) : long.MaxValue;
        long budget = o.Requests ?? long.MaxValue, done = 0, errors = 0;
        // Declared in this order so that the timer stops before the line is wiped.
        var showProgress = o.Requests is null && !Console.IsErrorRedirected;
        using var eraser = showProgress ? new ProgressEraser() : null;
        using var progress = showProgress ? new Timer(_ => Progress(started, o.Seconds, Interlocked.Read(ref done)), null, 250, 250) : null;

        var latencies = await Task.WhenAll(Enumerable.Range(0, o.Clients).Select(async id =>
        {
            var random = new Random(id);
            var value = Enumerable.Repeat((byte)'v', o.ValueSize).ToArray();
            var ticks = new List<long>(1 << 16);
            await using var connection = await LoadConnection.OpenAsync(o, dialect);
            while (Stopwatch.GetTimestamp() < deadline && Interlocked.Add(ref budget, -o.Pipeline) > -o.Pipeline)
            {
                for (var i = 0; i < o.Pipeline; i++)
                {
                    var key = random.Next(o.Keys);
                    if (random.NextDouble() < o.GetRatio) Wire.Get(connection.Batch, dialect, key);
                    else Wire.Set(connection.Batch, dialect, key, value);
                }
                var sent = Stopwatch.GetTimestamp();
                Interlocked.Add(ref errors, await connection.SendBatchAsync(o.Pipeline, read => ticks.Add(read - sent)));
                Interlocked.Add(ref done, o.Pipeline);
            }
            return ticks;
        }));
        var elapsed = Stopwatch.GetElapsedTime(started);
        return new LoadResult(Interlocked.Read(ref done), errors, elapsed, latencies.SelectMany(t => t).ToArray());
    }

    /// <summary>Wipes the progress line when the run ends, whether it ends well or with an error.</summary>
    private sealed class ProgressEraser : IDisposable
    {
        public void Dispose() => Console.Error.Write("\r" + new string(' ', 72) + "\r");
    }

    private static void Progress(long started, double seconds, long done)
    {
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var filled = (int)Math.Clamp(elapsed / seconds * 30, 0, 30);
        Console.Error.Write($"\r[{new string('#', filled)}{new string('.', 30 - filled)}] {elapsed,5:0.0}/{seconds:0} s  {done / Math.Max(elapsed, 0.001),10:N0} ops/s ");
    }
}

/// <summary>One load connection: requests are written into Batch, then sent in one write, then their replies read.</summary>
sealed class LoadConnection : IAsyncDisposable
{
    private readonly WireDialect dialect;
    private readonly NetworkStream stream;
    private readonly PipeReader input;

    private LoadConnection(Socket socket, WireDialect dialect)
    {
        this.dialect = dialect;
        stream = new NetworkStream(socket, ownsSocket: true);
        input = PipeReader.Create(stream);
    }

    public ArrayBufferWriter<byte> Batch { get; } = new();

    public static async Task<LoadConnection> OpenAsync(BenchOptions o, WireDialect dialect) => new(await Load.ConnectAsync(o), dialect);

    /// <summary>Sends the batch and reads `count` replies; calls `onReply` with the timestamp of each. Returns how many were errors.</summary>
    public async Task<long> SendBatchAsync(int count, Action<long>? onReply)
    {
        await stream.WriteAsync(Batch.WrittenMemory);
        Batch.ResetWrittenCount();
        long errors = 0;
        while (count > 0)
        {
            var result = await input.ReadAsync();
            var buffer = result.Buffer;
            var now = Stopwatch.GetTimestamp();
            while (count > 0 && Wire.TryReadReply(ref buffer, dialect, out var isError))
            {
                count--;
                if (isError) errors++;
                onReply?.Invoke(now);
            }
            input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted && count > 0) throw new IOException("the server closed the connection");
        }
        return errors;
    }

    public ValueTask DisposeAsync() => stream.DisposeAsync();
}

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

    public static string Read(int pid)
    {
        var status = File.ReadAllText($"/proc/{pid}/status");
        string Field(string name) => Regex.Match(status, $@"{name}:\s+(\d+)").Groups[1].Value;
        return $"server pid {pid}: RSS {long.Parse(Field("VmRSS")) / 1024.0:0.0} MB, threads {Field("Threads")}";
    }
}
