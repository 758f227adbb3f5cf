// src/client/StatView.cs: `dotnet KVClient.cs -- --stat [HOST PORT]`, a live view of a server, a line a second, as
// `redis-cli --stat` gives one of Redis: keys, stored memory, clients, requests a second, threads. It asks `stats`
// once a second and prints what changed; the header comes again every HeaderEvery lines, so it stays on screen.

using System.Text;

namespace KV;

public static class StatView
{
    public const int HeaderEvery = 20;

    public static readonly string Header =
        $"{"keys",-11} {"memory",-9} {"clients",-8} {"requests/s",-11} {"requests",-12} {"threads",-8} {"pool",-5} " +
            $"{"queued",-7} {"model",-10}";

    /// <summary>
    /// Until `stop` is cancelled: a line a second (or an `interval`). False when the server was lost (the reason
    /// already printed).
    /// </summary>
    public static async Task<bool> RunAsync(ClientConnection connection, TextWriter output, CancellationToken stop,
        TimeSpan? interval = null)
    {
        var ask = Encoding.ASCII.GetBytes(Commands.Of(CommandKind.Stats).Name);
        long? before = null;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var lastTime = TimeSpan.Zero;
        for (var line = 0; !stop.IsCancellationRequested; line++)
        {
            Reply reply;
            try
            {
                reply = await connection.SendAsync(ask);
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or InvalidDataException)
            {
                output.WriteLine($"ERROR: lost the connection to {connection.Address} " +
                    $"({ClientConnection.FailureReason(e)})");
                return false;
            }
            if (reply is not Reply.Stats(var figures))
            {
                output.WriteLine(reply is Reply.Error(var message)
                    ? $"ERROR: {message}" : $"ERROR: unexpected reply {reply}");
                return false;
            }
            var stats = figures.ToDictionary(f => f.Name, f => f.Value);
            long Number(string name) =>
                stats.TryGetValue(name, out var value) && long.TryParse(value, out var number) ? number : 0;
            var requests = Number("requests");
            var now = clock.Elapsed;
            var rate = before is { } earlier
                ? (long)Math.Round((requests - earlier) / Math.Max((now - lastTime).TotalSeconds,
                0.001)) : Number("requests_last_second");
            (before, lastTime) = (requests, now);
            if (line % HeaderEvery == 0) output.WriteLine(Header);
            output.WriteLine($"{Number("keys"),-11} {Size(Number("stored_bytes")),-9} {Number("clients"),-8} " +
                $"{rate,-11} {requests,-12} " +
                $"{Number("process_threads"),-8} {Number("pool_threads"),-5} {Number("pool_queued"),-7} " +
                    $"{stats.GetValueOrDefault("threading", "?"),-10}");
            try
            {
                await Task.Delay(interval ?? TimeSpan.FromSeconds(1), stop);
            }
            catch (OperationCanceledException) { }
        }
        return true;
    }

    /// <summary>Bytes as a person reads them: 512B, 1.5K, 12.0M, 3.2G.</summary>
    public static string Size(long bytes) => bytes switch
    {
        < 1024 => $"{bytes}B",
        < 1024 * 1024 => $"{bytes / 1024.0:0.0}K",
        < 1024L * 1024 * 1024 => $"{bytes / (1024.0 * 1024):0.0}M",
        _ => $"{bytes / (1024.0 * 1024 * 1024):0.0}G",
    };
}
