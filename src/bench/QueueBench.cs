// src/bench/QueueBench.cs: `dotnet bench.cs -- --queue --port P [--seconds S]`, the job-queue lesson measured:
// producers RPUSH 100-byte jobs (16 a write) onto one list while consumers take them with BLPOP, one at a time, as
// workers do. At most 64 jobs are queued or on their way at once (a producer waits for a consumer to free a
// place), so the queue stays short and a job's wait, from its push to its pop (each job carries the time it was
// made), is the hand-over's, not a backlog's. The table gives the jobs taken a second and the waits. It speaks
// RESP, so that KV's RESP port and Redis meet the same client.

using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace KV;

static class QueueBench
{
    private const int Depth = 16;
    private const int JobBytes = 100;
    private const int MostInFlight = 64;

    public static async Task<int> RunAsync(BenchOptions options)
    {
        Console.WriteLine($"queue: RPUSH {JobBytes}-byte jobs ({Depth} in flight a producer), BLPOP a job at a time, " +
            $"{options.Seconds} s a case, at {options.Host}:{options.Port} (RESP)");
        Console.WriteLine($"{"producers",9} {"consumers",9} {"taken/s",10} {"wait p50",9} {"wait p99",9}");
        foreach (var (producers, consumers) in new[] { (1, 1), (2, 4), (4, 16) })
        {
            var result = await MeasureAsync(options, producers, consumers);
            Console.WriteLine($"{producers,9} {consumers,9} {result.Taken / options.Seconds,10:N0} " +
                $"{result.P50,7:N2}ms {result.P99,7:N2}ms");
        }
        return 0;
    }

    private static async Task<(long Pushed, long Taken, long Left, double P50, double P99)> MeasureAsync(
        BenchOptions options, int producerCount, int consumerCount)
    {
        var key = $"bench:queue:{Guid.NewGuid():N}";
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(options.Seconds));
        var places = new SemaphoreSlim(MostInFlight);
        var waits = new List<double>[consumerCount];
        var taken = new long[consumerCount];
        var consumers = Enumerable.Range(0, consumerCount).Select(i => Task.Run(async () =>
        {
            waits[i] = [];
            using var socket = await Load.ConnectAsync(options);
            var reader = new RespLineReader(socket);
            var request = Wire.Resp("BLPOP", key, "1");
            while (!stop.IsCancellationRequested)
            {
                await socket.SendAsync(request);
                if (await reader.ReadJobAsync() is not { } job) continue;
                var made = long.Parse(Encoding.ASCII.GetString(job).TrimEnd('.'));
                waits[i].Add(Stopwatch.GetElapsedTime(made).TotalMilliseconds);
                taken[i]++;
                places.Release();
            }
        })).ToList();
        var pushed = new long[producerCount];
        var producers = Enumerable.Range(0, producerCount).Select(i => Task.Run(async () =>
        {
            using var socket = await Load.ConnectAsync(options);
            var replies = new byte[4096];
            while (!stop.IsCancellationRequested)
            {
                for (var place = 0; place < Depth; place++)
                    if (!await places.WaitAsync(TimeSpan.FromSeconds(1))) return;
                var batch = Enumerable.Range(0, Depth).SelectMany(_ =>
                    Wire.Resp("RPUSH", key, Stopwatch.GetTimestamp().ToString().PadRight(JobBytes, '.'))).ToArray();
                await socket.SendAsync(batch);
                for (var lines = 0; lines < Depth;)
                {
                    var read = await socket.ReceiveAsync(replies);
                    if (read == 0) throw new IOException("the server closed a producer's connection");
                    lines += replies.AsSpan(0, read).Count((byte)'\n');
                }
                pushed[i] += Depth;
            }
        })).ToList();
        await Task.WhenAll([.. producers, .. consumers]);
        using var counter = await Load.ConnectAsync(options);
        await counter.SendAsync(Wire.Resp("DEL", key));
        var left = pushed.Sum() - taken.Sum();
        var all = waits.SelectMany(w => w).Order().ToList();
        double At(double share) => all.Count == 0 ? 0 : all[Math.Min(all.Count - 1, (int)(share * all.Count))];
        return (pushed.Sum(), taken.Sum(), left, At(0.5), At(0.99));
    }

    /// <summary>Reads BLPOP's replies off a socket: a job's bytes, or null for the timeout's nil.</summary>
    private sealed class RespLineReader(Socket socket)
    {
        private readonly byte[] buffer = new byte[1 << 16];
        private int start, end;

        private async Task<string> LineAsync()
        {
            while (true)
            {
                var at = Array.IndexOf(buffer, (byte)'\n', start, end - start);
                if (at >= 0)
                {
                    var line = Encoding.ASCII.GetString(buffer, start, at - start).TrimEnd('\r');
                    start = at + 1;
                    return line;
                }
                Array.Copy(buffer, start, buffer, 0, end - start);
                (end, start) = (end - start, 0);
                var read = await socket.ReceiveAsync(buffer.AsMemory(end));
                if (read == 0) throw new IOException("the server closed a consumer's connection");
                end += read;
            }
        }

        public async Task<byte[]?> ReadJobAsync()
        {
            var head = await LineAsync();
            if (head is "*-1" or "_") return null;
            await LineAsync(); // the key's length
            await LineAsync(); // the key
            await LineAsync(); // the job's length
            return Encoding.ASCII.GetBytes(await LineAsync());
        }
    }
}
