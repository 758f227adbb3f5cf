// src/bench/Load.cs: the load bench.cs generates: the requests of either dialect written straight into byte
// buffers, the replies read back, connections that each keep a batch in flight, and the result's percentiles.

using System.Buffers;
using System.Buffers.Text;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Text;

namespace KV;

enum WireDialect { KV, Redis }

/// <summary>Writes requests and reads replies of one dialect, straight from and into byte buffers.</summary>
static class Wire
{
    public const int KeyLength = 16;

    /// <summary>A RESP request of ASCII words (the queue's, the memory's), for either server's RESP port.</summary>
    public static byte[] Resp(params string[] words) => Encoding.ASCII.GetBytes(
        $"*{words.Length}\r\n" + string.Concat(words.Select(w => $"${w.Length}\r\n{w}\r\n")));

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

/// <summary>A run's outcome; LatencyTicks are sorted.</summary>
sealed record LoadResult(long Requests, long Errors, TimeSpan Elapsed, long[] LatencyTicks)
{
    /// <summary>The latency below which a share `p` of the requests were answered, in milliseconds.</summary>
    public double Percentile(double p)
    {
        if (LatencyTicks.Length == 0) return double.NaN;
        return LatencyTicks[Math.Min(LatencyTicks.Length - 1,
            (int)(p * LatencyTicks.Length))] * 1000.0 / Stopwatch.Frequency;
    }

    public string Report(BenchOptions o)
    {
        string Ms(double p) => LatencyTicks.Length == 0 ? "-" : Percentile(p).ToString("0.000");
        var server = o.Redis ? "Redis" : "KV";
        var clients = o.Clients == 1 ? "1 client" : $"{o.Clients} clients";
        var idle = o.Idle > 0 ? $", {o.Idle} idle connections" : "";
        var shape = $"pipeline {o.Pipeline}, {o.ValueSize}-byte values, {o.Keys} keys, {o.GetRatio:P0} gets";
        return $"""
            {server} {o.Host}:{o.Port}: {clients}, {shape}, {Elapsed.TotalSeconds:0.0} s{idle}
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
                for (int key; count < 512
                    && (key = Interlocked.Increment(ref next)) < o.Keys; count++) Wire.Set(connection.Batch, dialect,
                    key, value);
                if (count == 0) return;
                if (await connection.SendBatchAsync(count, null) > 0)
                    throw new IOException("the server refused a set while filling the keys");
            }
        }));
    }

    public static async Task<LoadResult> RunAsync(BenchOptions o, WireDialect dialect)
    {
        var started = Stopwatch.GetTimestamp();
        var deadline = o.Requests is null ? started + (long)(o.Seconds * Stopwatch.Frequency) : long.MaxValue;
        long budget = o.Requests ?? long.MaxValue, done = 0, errors = 0;
        // Declared in this order so that the timer stops before the line is wiped.
        var showProgress = o.Requests is null && !o.Quiet && !Console.IsErrorRedirected;
        using var eraser = showProgress ? new ProgressEraser() : null;
        using var progress = showProgress ? new Timer(_ => Progress(started, o.Seconds, Interlocked.Read(ref done)),
            null, 250, 250) : null;

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
                var refused = await connection.SendBatchAsync(o.Pipeline, read => ticks.Add(read - sent));
                Interlocked.Add(ref errors, refused);
                Interlocked.Add(ref done, o.Pipeline);
            }
            return ticks;
        }));
        var elapsed = Stopwatch.GetElapsedTime(started);
        var sorted = latencies.SelectMany(t => t).ToArray();
        Array.Sort(sorted);
        return new LoadResult(Interlocked.Read(ref done), errors, elapsed, sorted);
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
        Console.Error.Write($"\r[{new string('#', filled)}{new string('.', 30 - filled)}] " +
            $"{elapsed,5:0.0}/{seconds:0} s  {done / Math.Max(elapsed, 0.001),10:N0} ops/s ");
    }
}

/// <summary>
/// One load connection: requests are written into Batch, then sent in one write, then their replies read.
/// </summary>
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

    public static async Task<LoadConnection> OpenAsync(BenchOptions o,
        WireDialect dialect) => new(await Load.ConnectAsync(o), dialect);

    /// <summary>
    /// Sends the batch and reads `count` replies; calls `onReply` with the timestamp of each. Returns how many were
    /// errors.
    /// </summary>
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
